/**
 * The API calls of the certificate rotator, on
 * @kubernetes/client-node. Every call names one object, so RBAC can grant
 * each by resourceName (deploy/webhook/rbac-certificates.yaml).
 */
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import type { CertificateApi, WebhookConfigurationBundles } from './rotator.ts';

const notFound = (err: unknown): boolean => (err as { code?: number }).code === 404;

async function orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (notFound(err)) return undefined;
    throw err;
  }
}

/** The rotator's calls for Secret `name` in `namespace` and the named webhook configurations. */
export function clusterCertificateApi(kubeConfig: KubeConfig, namespace: string, name: string, configurations: string[]): CertificateApi {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const bundlesOf = (
    kind: WebhookConfigurationBundles['kind'],
    config: V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration | undefined,
  ): WebhookConfigurationBundles[] =>
    config
      ? [{
          kind,
          name: config.metadata?.name ?? '',
          resourceVersion: config.metadata?.resourceVersion ?? '',
          bundles: (config.webhooks ?? []).map((w) => w.clientConfig.caBundle),
        }]
      : [];
  return {
    readSecret: () => orUndefined(core.readNamespacedSecret({ name, namespace })),
    createSecret: (secret) => core.createNamespacedSecret({ namespace, body: secret }),
    replaceSecret: (secret) => core.replaceNamespacedSecret({ name, namespace, body: secret }),
    async readConfigurations() {
      const found = await Promise.all(
        configurations.map(async (n) => [
          ...bundlesOf('MutatingWebhookConfiguration', await orUndefined(admission.readMutatingWebhookConfiguration({ name: n }))),
          ...bundlesOf('ValidatingWebhookConfiguration', await orUndefined(admission.readValidatingWebhookConfiguration({ name: n }))),
        ]),
      );
      return found.flat();
    },
    async injectBundle(config, indexes, caBundle) {
      // The test operation makes the patch fail when the configuration
      // changed since it was read (entries may have moved or been added).
      const body = [
        { op: 'test', path: '/metadata/resourceVersion', value: config.resourceVersion },
        ...indexes.map((i) => ({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle })),
      ];
      try {
        if (config.kind === 'MutatingWebhookConfiguration') {
          await admission.patchMutatingWebhookConfiguration({ name: config.name, body }, jsonPatch);
        } else {
          await admission.patchValidatingWebhookConfiguration({ name: config.name, body }, jsonPatch);
        }
      } catch (err) {
        // A failed test operation is the API server's 422: to the rotator it
        // is a conflict like any other, read again and replan.
        if ((err as { code?: number }).code === 422) throw Object.assign(new Error(`${config.kind} ${config.name} changed meanwhile`), { code: 409 });
        throw err;
      }
    },
  };
}

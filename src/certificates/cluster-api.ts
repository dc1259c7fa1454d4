/**
 * The API calls of the certificate rotator, on our Kubernetes client
 * (src/kubernetes/kube-client.ts). Every call names one object, so RBAC can
 * grant each by resourceName (deploy/webhook/rbac-certificates.yaml).
 */
import type { V1MutatingWebhookConfiguration, V1Secret, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { statusCode } from '../kubernetes/api-error.ts';
import { apiPath, PATCH, type KubeClient } from '../kubernetes/kube-client.ts';
import type { CertificateApi, WebhookConfigurationBundles } from './rotator.ts';

const notFound = (err: unknown): boolean => statusCode(err) === 404;

async function orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (notFound(err)) return undefined;
    throw err;
  }
}

/** The rotator's calls for Secret `name` in `namespace` and the named webhook configurations. */
export function clusterCertificateApi(client: KubeClient, namespace: string, name: string, configurations: string[]): CertificateApi {
  const secrets = apiPath('/api/v1', 'namespaces', namespace, 'secrets');
  const secret = `${secrets}${apiPath(name)}`;
  const configurationPath = (kind: WebhookConfigurationBundles['kind'], n: string): string =>
    apiPath('/apis/admissionregistration.k8s.io/v1', kind === 'MutatingWebhookConfiguration' ? 'mutatingwebhookconfigurations' : 'validatingwebhookconfigurations', n);
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
    readSecret: () => orUndefined(client.get<V1Secret>(secret)),
    createSecret: (body) => client.create<V1Secret>(secrets, body),
    replaceSecret: (body) => client.replace<V1Secret>(secret, body),
    async readConfigurations() {
      const found = await Promise.all(
        configurations.map(async (n) => [
          ...bundlesOf('MutatingWebhookConfiguration', await orUndefined(client.get<V1MutatingWebhookConfiguration>(configurationPath('MutatingWebhookConfiguration', n)))),
          ...bundlesOf('ValidatingWebhookConfiguration', await orUndefined(client.get<V1ValidatingWebhookConfiguration>(configurationPath('ValidatingWebhookConfiguration', n)))),
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
        await client.patch(configurationPath(config.kind, config.name), body, PATCH.json);
      } catch (err) {
        // A failed test operation is the API server's 422: to the rotator it
        // is a conflict like any other, read again and replan.
        if (statusCode(err) === 422) throw Object.assign(new Error(`${config.kind} ${config.name} changed meanwhile`), { code: 409 });
        throw err;
      }
    },
  };
}

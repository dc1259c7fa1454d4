/**
 * Settings from the cluster's MCPTransportPolicy objects, kept current by two
 * informers (policies, and namespaces for their labels). A change applies to
 * the next review without restart. Until both have listed once the source is
 * not ready; when the API server cannot be reached, the last good set stays
 * in force and the `mcp_admission_policy_stale` gauge says so.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1Namespace,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { POLICY_GROUP, POLICY_PLURAL, POLICY_VERSION } from '../contract.ts';
import type { SettingsSource } from '../admission/admission.ts';
import { describeFinding } from '../policy/finding.ts';
import type { TransportSettings } from '../policy/transport-settings.ts';
import { resolveSettings, validateTransportPolicy, type TransportPolicy } from '../policy/transport-policy.ts';
import { restartOnWatchError } from '../kubernetes/informer.ts';

export interface ClusterSettingsOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Called with the number of accepted and invalid policies each time the set is rebuilt. */
  onPolicies?: (counts: { accepted: number; invalid: number }) => void;
  /** Called on every failed list or watch. */
  onSyncError?: () => void;
  /** Called with true when the last good policies are served while the API server is away, false when a watch connects. */
  onStale?: (stale: boolean) => void;
  /** Delay before a failed watch is restarted. */
  restartDelayMs?: number;
}

type Watched<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export class ClusterSettingsSource implements SettingsSource {
  private policies: TransportPolicy[] = [];
  private readonly resolved = new Map<string, TransportSettings>();
  private readonly policyInformer: Watched<KubernetesObject>;
  private readonly namespaceInformer: Watched<V1Namespace>;
  private synced = false;
  private stopped = false;
  private readonly options: ClusterSettingsOptions;

  constructor(options: ClusterSettingsOptions) {
    this.options = options;
    const custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    const core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.policyInformer = makeInformer<KubernetesObject>(
      options.kubeConfig,
      `/apis/${POLICY_GROUP}/${POLICY_VERSION}/${POLICY_PLURAL}`,
      async () => {
        try {
          return (await custom.listClusterCustomObject({ group: POLICY_GROUP, version: POLICY_VERSION, plural: POLICY_PLURAL })) as KubernetesListObject<KubernetesObject>;
        } catch (err) {
          // No CRD installed means no policies: built-in defaults serve, and
          // the watch retries until the CRD appears.
          if ((err as { code?: number }).code === 404) return { apiVersion: 'v1', kind: 'List', metadata: {}, items: [] };
          throw err;
        }
      },
    );
    this.namespaceInformer = makeInformer<V1Namespace>(options.kubeConfig, '/api/v1/namespaces', () => core.listNamespace());
    // A policy change rebuilds the policy set; a namespace change (labels)
    // only invalidates the settings resolved for namespaces.
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.policyInformer.on(verb, () => this.refresh());
      this.namespaceInformer.on(verb, () => this.resolved.clear());
    }
    for (const informer of [this.policyInformer, this.namespaceInformer] as Array<Watched<KubernetesObject>>) {
      informer.on('connect', () => this.options.onStale?.(false));
      restartOnWatchError(informer, {
        delayMs: this.options.restartDelayMs ?? 1000,
        stopped: () => this.stopped,
        onError: (err) => this.onWatchError(err),
      });
    }
  }

  /** Lists policies and namespaces once, then watches; resolves when both have synced. */
  async start(): Promise<void> {
    await Promise.all([this.policyInformer.start(), this.namespaceInformer.start()]);
    this.synced = true;
    this.refresh();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.policyInformer.stop(), this.namespaceInformer.stop()]);
  }

  ready(): boolean {
    return this.synced;
  }

  settingsFor(namespace: string): TransportSettings {
    let settings = this.resolved.get(namespace);
    if (!settings) {
      const labels = this.namespaceInformer.get(namespace)?.metadata?.labels ?? {};
      settings = resolveSettings(this.policies, namespace, { 'kubernetes.io/metadata.name': namespace, ...labels });
      this.resolved.set(namespace, settings);
    }
    return settings;
  }

  /** Rebuilds the policy set from the informer cache; invalid objects are left out and logged. */
  private refresh(): void {
    const policies: TransportPolicy[] = [];
    let invalid = 0;
    for (const object of this.policyInformer.list()) {
      const { policy, problems } = validateTransportPolicy(object);
      if (policy) {
        policies.push(policy);
        continue;
      }
      invalid += 1;
      this.options.logger.warn(
        { policy: object.metadata?.name, problems: problems.map(describeFinding) },
        'ignoring invalid MCPTransportPolicy (created while the validating webhook was not in the path?)',
      );
    }
    this.policies = policies;
    this.resolved.clear();
    this.options.onPolicies?.({ accepted: policies.length, invalid });
  }

  private onWatchError(err: unknown): void {
    this.options.onSyncError?.();
    const code = (err as { code?: number; statusCode?: number }).code ?? (err as { statusCode?: number }).statusCode;
    if (code !== 404) {
      this.options.onStale?.(true);
      this.options.logger.warn({ err }, 'lost the watch on policies or namespaces; keeping the last good policies and retrying');
    }
  }
}

/**
 * Settings from the cluster's MCPTransportPolicy objects, kept current by two
 * informers (policies, and namespaces for their labels). A change applies to
 * the next review without restart. Until both have listed successfully once
 * the source is not ready and answers no review (an unreachable API server,
 * or RBAC refusing the list, must not leave built-in defaults in force);
 * once they have, and the API server goes away, the last good set stays in
 * force and the `mcp_admission_policy_stale` gauge says so.
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
import { ResolvedSettings } from './resolved-settings.ts';
import { SettingsUnavailableError } from './settings-unavailable.ts';

export interface ClusterSettingsOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Called with the number of accepted and invalid policies each time the set is rebuilt. */
  onPolicies?: (counts: { accepted: number; invalid: number }) => void;
  /** Called on every failed list or watch. */
  onSyncError?: () => void;
  /** Called with true when the last good policies are served while the API server is away, false when a watch connects. */
  onStale?: (stale: boolean) => void;
  /** Called after any policy or namespace change (and the first sync), e.g. to plan policy status. */
  onChange?: () => void;
  /** Delay before a failed watch is restarted. */
  restartDelayMs?: number;
}

type Listed = 'policies' | 'namespaces';
type Watched<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

type Checked = ReturnType<typeof validateTransportPolicy>;

export class ClusterSettingsSource implements SettingsSource {
  private policies: TransportPolicy[] = [];
  /**
   * The check of each stored object, by object: the informer replaces an
   * object on every change, so an entry is current for as long as its key
   * is in the cache. A rebuild then checks only what changed; without it,
   * the status writer's one write per policy made each of N events check
   * all N policies again.
   */
  private readonly checked = new WeakMap<KubernetesObject, Checked>();
  private readonly resolved: ResolvedSettings;
  private readonly policyInformer: Watched<KubernetesObject>;
  private readonly namespaceInformer: Watched<V1Namespace>;
  /** Which informers have had a list succeed; ready when both have. */
  private readonly listed: Record<Listed, boolean> = { policies: false, namespaces: false };
  private synced = false;
  private readonly firstSync: Promise<void>;
  private settleFirstSync!: (err?: Error) => void;
  private stopped = false;
  private readonly options: ClusterSettingsOptions;

  constructor(options: ClusterSettingsOptions) {
    this.options = options;
    this.firstSync = new Promise<void>((resolve, reject) => {
      this.settleFirstSync = (err) => (err ? reject(err) : resolve());
    });
    // Nobody may be waiting when stop() rejects it.
    this.firstSync.catch(() => undefined);
    const custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    const core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.policyInformer = makeInformer<KubernetesObject>(
      options.kubeConfig,
      `/apis/${POLICY_GROUP}/${POLICY_VERSION}/${POLICY_PLURAL}`,
      this.listing('policies', async () => {
        try {
          return (await custom.listClusterCustomObject({ group: POLICY_GROUP, version: POLICY_VERSION, plural: POLICY_PLURAL })) as KubernetesListObject<KubernetesObject>;
        } catch (err) {
          // No CRD installed means no policies: built-in defaults serve, and
          // the watch retries until the CRD appears. That is an answer from
          // the API server, so it counts as a successful list.
          if ((err as { code?: number }).code === 404) return { apiVersion: 'v1', kind: 'List', metadata: {}, items: [] };
          throw err;
        }
      }),
    );
    this.namespaceInformer = makeInformer<V1Namespace>(
      options.kubeConfig,
      '/api/v1/namespaces',
      this.listing('namespaces', () => core.listNamespace()),
    );
    // Only namespaces the informer has seen are cached for good: a review
    // can name any namespace, and made-up ones must not grow the cache.
    this.resolved = new ResolvedSettings({
      resolve: (namespace) => {
        const labels = this.namespaceInformer.get(namespace)?.metadata?.labels ?? {};
        return resolveSettings(this.policies, namespace, { 'kubernetes.io/metadata.name': namespace, ...labels });
      },
      exists: (namespace) => this.namespaceInformer.get(namespace) !== undefined,
    });
    // A policy change rebuilds the policy set; a namespace change (labels)
    // only invalidates the settings resolved for namespaces.
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.policyInformer.on(verb, () => {
        // The first list calls 'add' once per policy; nothing is served
        // before it has synced, and markListed rebuilds then, once.
        if (this.synced) this.refresh();
        this.options.onChange?.();
      });
      this.namespaceInformer.on(verb, () => {
        this.resolved.clear();
        this.options.onChange?.();
      });
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

  /**
   * Lists policies and namespaces, then watches; resolves once both lists
   * have succeeded, retrying failed ones meanwhile. Rejects if stopped first.
   *
   * An informer's own start() is no sign of a sync: client-node's
   * `ListWatch.doneHandler` catches a failed list, calls the error callbacks
   * and returns, so start() resolves with nothing listed
   * (@kubernetes/client-node 2.0.1, dist/cache.js).
   */
  async start(): Promise<void> {
    await Promise.all([this.policyInformer.start(), this.namespaceInformer.start()]);
    await this.firstSync;
  }

  /** The policy objects as stored (valid or not) and the namespaces with their labels, as last seen. */
  snapshot(): { policies: readonly KubernetesObject[]; namespaces: Array<{ name: string; labels: Record<string, string> }> } {
    return {
      policies: this.policyInformer.list(),
      namespaces: this.namespaceInformer.list().map((n) => ({ name: n.metadata?.name ?? '', labels: n.metadata?.labels ?? {} })),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.settleFirstSync(new Error('stopped before policies and namespaces were listed'));
    await Promise.all([this.policyInformer.stop(), this.namespaceInformer.stop()]);
  }

  ready(): boolean {
    return this.synced;
  }

  settingsFor(namespace: string): TransportSettings {
    if (!this.synced) throw new SettingsUnavailableError('policies are not loaded from the API server yet');
    return this.resolved.get(namespace);
  }

  /**
   * Wraps an informer's list call to record its first success. The informer
   * fills its cache from the list after the call returns, in the same turn
   * of the event loop (`ListWatch.doneHandler`: await the list, then
   * addOrUpdateItems synchronously), so the mark waits for the next turn.
   */
  private listing<T>(which: Listed, list: () => Promise<T>): () => Promise<T> {
    return async () => {
      const result = await list();
      setImmediate(() => this.markListed(which));
      return result;
    };
  }

  private markListed(which: Listed): void {
    if (this.stopped || this.listed[which]) return;
    this.listed[which] = true;
    if (this.synced || !this.listed.policies || !this.listed.namespaces) return;
    this.synced = true;
    this.refresh();
    this.options.onStale?.(false);
    this.settleFirstSync();
    this.options.onChange?.();
  }

  /** Rebuilds the policy set from the informer cache; invalid objects are left out and logged. */
  private refresh(): void {
    const policies: TransportPolicy[] = [];
    let invalid = 0;
    for (const object of this.policyInformer.list()) {
      let check = this.checked.get(object);
      if (!check) {
        check = validateTransportPolicy(object);
        this.checked.set(object, check);
      }
      const { policy, problems } = check;
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
    if (!this.synced) {
      // Nothing is served yet, so nothing is stale: readiness says so instead.
      this.options.logger.warn({ err }, 'cannot list policies or namespaces yet; not ready until a list succeeds, retrying');
      return;
    }
    const code = (err as { code?: number; statusCode?: number }).code ?? (err as { statusCode?: number }).statusCode;
    if (code !== 404) {
      this.options.onStale?.(true);
      this.options.logger.warn({ err }, 'lost the watch on policies or namespaces; keeping the last good policies and retrying');
    }
  }
}

/**
 * Settings from the cluster's MCPTransportPolicy objects, kept current by two
 * informers (policies, and namespaces for their labels). A change applies to
 * the next review without restart. Until both have listed successfully once
 * the source is not ready and answers no review (an unreachable API server,
 * or RBAC refusing the list, must not leave built-in defaults in force);
 * once they have, and the API server goes away, the last good set stays in
 * force and the `mcp_admission_policy_stale` gauge says so.
 */
import type { Logger } from 'pino';
import { POLICY_GROUP, POLICY_PLURAL, POLICY_VERSION } from '../contract.ts';
import type { SettingsSource } from '../admission/admission.ts';
import { describeFinding } from '../policy/finding.ts';
import type { TransportSettings } from '../policy/transport-settings.ts';
import { resolveSettings, validateTransportPolicy, type TransportPolicy } from '../policy/transport-policy.ts';
import { statusCode } from '../kubernetes/api-error.ts';
import type { KubeClient } from '../kubernetes/kube-client.ts';
import { ListWatchInformer, type CachedObject } from '../kubernetes/list-watch.ts';
import { namespaceKept, policyKept } from './cached-objects.ts';
import { ResolvedSettings } from './resolved-settings.ts';
import { SettingsUnavailableError } from './settings-unavailable.ts';

export interface ClusterSettingsOptions {
  client: KubeClient;
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
/** A stored object as the API server sends it. */
type KubernetesObject = CachedObject & { metadata?: { labels?: Record<string, string> } };

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
  private readonly policyInformer: ListWatchInformer<KubernetesObject>;
  private readonly namespaceInformer: ListWatchInformer<KubernetesObject>;
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
    const restartDelayMs = this.options.restartDelayMs ?? 1000;
    this.policyInformer = new ListWatchInformer<KubernetesObject>({
      client: options.client,
      path: `/apis/${POLICY_GROUP}/${POLICY_VERSION}/${POLICY_PLURAL}`,
      // No CRD installed means no policies: built-in defaults serve, and
      // the watch retries until the CRD appears. That is an answer from
      // the API server, so it counts as a successful list.
      absentIsEmpty: true,
      restartDelayMs,
      // Not managedFields or annotations: half a stored policy's size, never read.
      transform: policyKept,
    });
    this.namespaceInformer = new ListWatchInformer<KubernetesObject>({ client: options.client, path: '/api/v1/namespaces', restartDelayMs, transform: namespaceKept });
    this.policyInformer.on('list', () => this.markListed('policies'));
    this.namespaceInformer.on('list', () => this.markListed('namespaces'));
    // Only namespaces the informer has seen are cached for good: a review
    // can name any namespace, and made-up ones must not grow the cache.
    this.resolved = new ResolvedSettings({
      resolve: (namespace) => {
        const labels = this.namespaceInformer.get(namespace)?.metadata?.labels ?? {};
        return resolveSettings(this.policies, namespace, { 'kubernetes.io/metadata.name': namespace, ...labels });
      },
      exists: (namespace) => this.namespaceInformer.get(namespace) !== undefined,
    });
    // A policy change rebuilds the policy set; a namespace added, removed or
    // relabelled forgets that namespace's settings alone (they depend on
    // its name and labels, and the policies). An update that leaves its
    // labels (annotations, finalizers, status) changes no settings: with
    // 1,000 policies, forgetting every namespace's made each namespace's
    // next review resolve again through all of them.
    this.namespaceInformer.on('update', (object, previous) => {
      if (previous && sameLabels(object.metadata?.labels, previous.metadata?.labels)) return;
      this.resolved.forget(object.metadata?.name ?? '');
      this.options.onChange?.();
    });
    for (const verb of ['add', 'delete'] as const) {
      this.namespaceInformer.on(verb, (object) => {
        this.resolved.forget(object.metadata?.name ?? '');
        this.options.onChange?.();
      });
    }
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.policyInformer.on(verb, (object?: KubernetesObject, previous?: KubernetesObject) => {
        // The first list calls 'add' once per policy; nothing is served
        // before it has synced, and markListed rebuilds then, once.
        if (this.synced && !(object && previous && sameSpec(object, previous))) this.refresh();
        this.options.onChange?.();
      });
    }
    for (const informer of [this.policyInformer, this.namespaceInformer]) {
      informer.on('connect', () => this.options.onStale?.(false));
      // The informer starts again by itself after a failure, keeping its objects.
      informer.on('error', (err) => {
        if (!this.stopped) this.onWatchError(err);
      });
    }
  }

  /**
   * Lists policies and namespaces, then watches; resolves once both lists
   * have succeeded, retrying failed ones meanwhile. Rejects if stopped first.
   * An informer's own start() is no sign of a sync (it resolves after a
   * failed first list too); its `list` event is.
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
    if (statusCode(err) !== 404) {
      this.options.onStale?.(true);
      this.options.logger.warn({ err }, 'lost the watch on policies or namespaces; keeping the last good policies and retrying');
    }
  }
}

/**
 * Whether an update left a policy's spec as it was: a write of its status
 * (the status subresource, which every pass of the status writer uses) or
 * of metadata the policy does not read. The API server moves `generation`
 * on every change of a custom resource's spec once the CRD has a status
 * subresource (ours has), and a policy is its name and spec
 * (transport-policy.ts). Rebuilding on such writes cleared the settings
 * resolved for every namespace: with 1,000 policies, the status writes
 * after a start made each review resolve its namespace's settings again.
 */
function sameSpec(object: KubernetesObject, previous: KubernetesObject): boolean {
  const now = object.metadata as { generation?: number; uid?: string } | undefined;
  const before = previous.metadata as { generation?: number; uid?: string } | undefined;
  return now?.generation !== undefined && now.generation === before?.generation && now.uid === before.uid;
}

/** Whether two label sets are the same, whatever their key order. */
function sameLabels(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const keys = Object.keys(a ?? {});
  if (keys.length !== Object.keys(b ?? {}).length) return false;
  return keys.every((key) => Object.hasOwn(b ?? {}, key) && a?.[key] === b?.[key]);
}

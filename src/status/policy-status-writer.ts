/**
 * Writes the status planned by {@link planPolicyStatus} to each
 * MCPTransportPolicy's status subresource, and a Warning Event when a
 * policy turns invalid. Only the replica holding the Lease plans and
 * writes, so two replicas never race on the same status or double the
 * Events; the others count each policy's state for their metrics from
 * their own checks and the conditions the holder wrote (policy-states.ts),
 * which needs no namespace resolved.
 *
 * Writes follow changes (a policy or namespace added, changed, removed),
 * debounced. A periodic check catches becoming the leader and retries a
 * write that failed; with neither, and no change, it plans nothing:
 * planning a quiet cluster every few seconds cost 3-4% of a core for the
 * same plan. A plan after a change resolves again only the namespaces the
 * change can affect (status-planner.ts); gaining the Lease, a failed write
 * and a failed plan resolve every namespace again (a full plan of 1,000
 * policies over 500 namespaces is some 150 ms of CPU). A plan runs in
 * slices of `planSliceMs` with the event loop free between them, so
 * admission reviews are answered while it runs.
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { POLICY_GROUP, POLICY_KIND, POLICY_VERSION } from '../contract.ts';
import type { NamespaceInfo, PolicyStatus, PolicyStatusPlan, StoredPolicy } from './policy-status.ts';
import { publishedStates } from './policy-states.ts';
import { PolicyStatusPlanner } from './status-planner.ts';

/** The API calls the writer makes (RBAC: patch mcptransportpolicies/status, create events). */
export interface PolicyStatusApi {
  patchStatus(name: string, status: PolicyStatus): Promise<void>;
  createEvent(event: CoreV1Event): Promise<void>;
}

export interface PolicyStatusWriterOptions {
  api: PolicyStatusApi;
  /** Policies and namespaces as last seen (the settings source's informer caches). */
  snapshot: () => { policies: readonly StoredPolicy[]; namespaces: readonly NamespaceInfo[] };
  /** True while this replica holds the Lease. */
  isLeader: () => boolean;
  ownNamespace: string;
  logger: Logger;
  /** This replica's name, for Events' reportingInstance. */
  instance: string;
  /**
   * Called after every pass with each policy's state, in stored order, for
   * `mcp_admission_policies{state}`: from the plan on the holder, from
   * {@link publishedStates} on the others.
   */
  onStates?: (states: ReadonlyArray<PolicyStatusPlan['state']>) => void;
  /**
   * Called after every plan with the process's CPU time it took, in
   * seconds, and whether it resolved every namespace (`whole`) or only what
   * changed, e.g. for `mcp_admission_policy_status_plan_cpu_seconds`: the
   * holder plans after every change, so what a plan costs is what a busy
   * cluster's changes cost it.
   */
  onPlanCpu?: (seconds: number, plan: { whole: boolean; resolved: number }) => void;
  clock?: () => Date;
  /** Wait after a change before planning, so a burst of changes is one pass. */
  debounceMs?: number;
  /** Period of the pass that runs without changes (and after gaining the Lease). */
  resyncMs?: number;
  /**
   * Longest run of a plan without letting the event loop go (ms, 5 by
   * default): what a review that arrives during a plan waits for, at most
   * about once per turn of the event loop it needs. A full plan of 1,000
   * policies over 500 namespaces held the loop for 150 ms.
   */
  planSliceMs?: number;
}

/** Between slices of a plan: after the I/O that is waiting (setImmediate runs after the poll phase). */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** `reportingComponent` of the webhook's Events. */
export const WEBHOOK_COMPONENT = 'mcp-admission-webhook';

export class PolicyStatusWriter {
  private readonly options: PolicyStatusWriterOptions;
  private debounce: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private again = false;
  private busy = false;
  private stopped = false;
  /** Whether the last pass ran as leader: a replica that just gained the Lease writes everything once. */
  private wasLeader = false;
  /** Whether something changed, or a write failed, since the last pass began. */
  private dirty = true;
  /** Keeps each namespace's conflict and each policy's check between plans. */
  private readonly planner = new PolicyStatusPlanner();

  constructor(options: PolicyStatusWriterOptions) {
    this.options = options;
  }

  start(): void {
    this.resync = setInterval(() => {
      if (this.dirty || this.options.isLeader() !== this.wasLeader) this.changed();
    }, this.options.resyncMs ?? 5000);
    this.resync.unref();
    this.changed();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.debounce);
    clearInterval(this.resync);
    await this.running;
  }

  /** Call on every policy or namespace change. */
  changed(): void {
    this.dirty = true;
    if (this.stopped || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.schedule();
    }, this.options.debounceMs ?? 100);
    this.debounce.unref();
  }

  /** One pass now; resolves when written. Exposed for tests. */
  async sync(): Promise<void> {
    this.dirty = false;
    const leader = this.options.isLeader();
    if (!leader) {
      this.wasLeader = false;
      this.options.onStates?.(publishedStates(this.options.snapshot().policies, (object) => this.planner.check(object)));
      return;
    }
    // The plan's own CPU: what the process spends between its slices (reviews) is not the plan's.
    let cpu = process.cpuUsage();
    let planCpuUs = 0;
    const pause = async (): Promise<void> => {
      const spent = process.cpuUsage(cpu);
      planCpuUs += spent.user + spent.system;
      await yieldToEventLoop();
      cpu = process.cpuUsage();
    };
    const justGained = !this.wasLeader;
    // A new leader writes everything once, from a plan that keeps nothing.
    if (justGained) this.planner.reset();
    const { policies, namespaces } = this.options.snapshot();
    const { plans, whole, resolved } = await this.planner.planInSlices(
      policies,
      namespaces,
      { now: (this.options.clock ?? (() => new Date()))(), ownNamespace: this.options.ownNamespace },
      { sliceMs: this.options.planSliceMs ?? 5, pause },
    );
    const spent = process.cpuUsage(cpu);
    this.options.onPlanCpu?.((planCpuUs + spent.user + spent.system) / 1e6, { whole, resolved });
    this.options.onStates?.(plans.map((plan) => plan.state));
    this.wasLeader = true;
    const byName = new Map(policies.map((p) => [p.metadata?.name ?? '', p]));
    for (const plan of plans) {
      if (this.stopped) return;
      if (!plan.changed && !justGained) continue;
      try {
        await this.options.api.patchStatus(plan.name, plan.status);
        if (plan.invalidEvent) await this.options.api.createEvent(this.event(byName.get(plan.name), plan));
        if (plan.changed) this.options.logger.info({ policy: plan.name, state: plan.state }, 'MCPTransportPolicy status written');
      } catch (err) {
        // 404: deleted meanwhile; the next pass sees the informer without it.
        if ((err as { code?: number }).code !== 404) {
          this.dirty = true;
          this.planner.reset();
          this.options.logger.warn({ policy: plan.name, err }, 'writing MCPTransportPolicy status failed; retrying on the next pass');
        }
      }
    }
  }

  private schedule(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.running = this.sync()
      .catch((err: unknown) => {
        // Planned again, in full, at the next resync, as a failed write is.
        this.dirty = true;
        this.planner.reset();
        this.options.logger.warn({ err }, 'planning MCPTransportPolicy status failed; retrying on the next pass');
      })
      .finally(() => {
        this.busy = false;
        if (this.again && !this.stopped) {
          this.again = false;
          this.schedule();
        }
      });
  }

  /** A v1 Event on the cluster-scoped policy; such Events live in `default`, as client-go's recorder puts them. */
  private event(object: StoredPolicy | undefined, plan: PolicyStatusPlan): CoreV1Event {
    const now = (this.options.clock ?? (() => new Date()))();
    const metadata = object?.metadata ?? {};
    return {
      metadata: { generateName: `${plan.name}.`, namespace: 'default' },
      involvedObject: {
        apiVersion: `${POLICY_GROUP}/${POLICY_VERSION}`,
        kind: POLICY_KIND,
        name: plan.name,
        ...(metadata.uid ? { uid: metadata.uid } : {}),
        ...(metadata.resourceVersion ? { resourceVersion: metadata.resourceVersion } : {}),
      },
      reason: plan.invalidEvent?.reason ?? 'InvalidPolicy',
      type: 'Warning',
      // The API server caps Event messages at 1 KiB.
      message: truncate(plan.invalidEvent?.message ?? '', 1024),
      source: { component: WEBHOOK_COMPONENT },
      reportingComponent: WEBHOOK_COMPONENT,
      reportingInstance: this.options.instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

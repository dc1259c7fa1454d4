/**
 * Leader election on a `coordination.k8s.io/v1` Lease, the way client-go's
 * leaderelection package does it (@kubernetes/client-node has none):
 * - a candidate takes the Lease when it is absent, released (no holder), or
 *   its record has not changed for `leaseDurationMs` as seen by this
 *   process's own clock (no trust in other replicas' clocks);
 * - every write is a create or a resourceVersion-checked replace, so of two
 *   candidates racing only one wins;
 * - the holder renews every `retryPeriodMs` and counts itself leader only
 *   while its last renewal is younger than `renewDeadlineMs`, which is
 *   shorter than the lease duration: it stops acting before anyone else may
 *   start;
 * - the holder renews with one replace of the Lease it last wrote (its
 *   resourceVersion, so any other write in between makes it a 409) and reads
 *   only when that fails or when it does not hold the Lease: client-go's
 *   "fast path for the leader to update optimistically assuming that the
 *   record observed last time is the current version" (tryAcquireOrRenew in
 *   k8s.io/client-go/tools/leaderelection/leaderelection.go). A holder sent
 *   a read and a replace every 2 s; now half the requests (BENCHMARKS.md,
 *   "The status Lease and large status plans");
 * - on stop the holder releases the Lease, so a successor need not wait.
 */
import type { V1Lease } from '@kubernetes/client-node';

/** The Lease calls the elector makes; a 404 or 409 is thrown with `code`. */
export interface LeaseApi {
  read(): Promise<V1Lease | undefined>;
  create(lease: V1Lease): Promise<V1Lease>;
  replace(lease: V1Lease): Promise<V1Lease>;
}

/** Options for {@link LeaderElector}. */
export interface LeaderElectorOptions {
  api: LeaseApi;
  name: string;
  namespace: string;
  /** This candidate's name in `holderIdentity`; unique per replica. */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Builds a MicroTime for the Lease (micro-time.ts). */
  microTime: (date: Date) => Date;
  now?: () => number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  onNewLeader?: (identity: string) => void;
  onError?: (err: unknown) => void;
}

/** Default timings: client-go's (15 s lease, 10 s renew deadline, 2 s retry). */
export const DEFAULT_LEASE_TIMINGS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** Timings for a lease of `leaseDurationMs`, in client-go's proportions. */
export function leaseTimings(leaseDurationMs: number): { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number } {
  return {
    leaseDurationMs,
    renewDeadlineMs: Math.round((leaseDurationMs * 2) / 3),
    retryPeriodMs: Math.max(100, Math.round(leaseDurationMs / 7.5)),
  };
}

const recordKey = (lease: V1Lease): string =>
  JSON.stringify([lease.spec?.holderIdentity ?? '', lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0, lease.spec?.leaseTransitions ?? 0]);

/** One candidate; see the module comment. */
export class LeaderElector {
  private readonly options: LeaderElectorOptions;
  private readonly now: () => number;
  private leading = false;
  private lastRenewal = 0;
  private observedKey = '';
  private observedAt = 0;
  private observedHolder = '';
  /** The Lease as this candidate last wrote it (the API server's answer), for the next renewal. */
  private held: V1Lease | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** True while this candidate holds the Lease and renewed it within the renew deadline. */
  isLeader(): boolean {
    return this.leading && this.now() - this.lastRenewal < this.options.renewDeadlineMs;
  }

  /** Starts trying to acquire, then renewing, every retry period. */
  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.tryAcquireOrRenew().then(() => undefined).finally(() => {
        this.running = undefined;
        if (!this.stopped) {
          this.timer = setTimeout(tick, this.options.retryPeriodMs);
          this.timer.unref();
        }
      });
    };
    tick();
  }

  /** Stops; a leader releases the Lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.options.api.read();
      if (lease?.spec?.holderIdentity !== this.options.identity) return;
      const now = this.options.microTime(new Date(this.now()));
      await this.options.api.replace({
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
      });
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  /** One round; exposed for tests. Resolves to whether this candidate leads afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { api, identity } = this.options;
    const now = this.now();
    const micro = this.options.microTime(new Date(now));
    const durationSeconds = Math.max(1, Math.ceil(this.options.leaseDurationMs / 1000));
    // The holder's renewal: no read. A 409 (another write since ours: a new
    // holder, or anyone's change), a 404 (deleted) or any other failure
    // falls through to the read below, which judges the Lease as it is, as
    // every round did before; client-go falls back the same way.
    const held = this.isLeader() ? this.held : undefined;
    if (held) {
      try {
        this.held = await api.replace({ ...held, spec: { ...held.spec, holderIdentity: identity, leaseDurationSeconds: durationSeconds, renewTime: micro } });
        return this.renewed(now, identity);
      } catch {
        this.held = undefined;
      }
    }
    try {
      const lease = await api.read();
      if (!lease) {
        this.held = await api.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.options.name, namespace: this.options.namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: micro, renewTime: micro, leaseTransitions: 0 },
        });
        return this.renewed(now, identity);
      }
      const key = recordKey(lease);
      if (key !== this.observedKey) {
        this.observedKey = key;
        this.observedAt = now;
      }
      const holder = lease.spec?.holderIdentity ?? '';
      this.noteHolder(holder);
      // The lease's own duration counts, not ours: a holder may run with another setting.
      const heldFor = (lease.spec?.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (holder !== '' && holder !== identity && now - this.observedAt < heldFor) {
        this.setLeading(false);
        return false;
      }
      const ours = holder === identity;
      this.held = await api.replace({
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: identity,
          leaseDurationSeconds: durationSeconds,
          renewTime: micro,
          acquireTime: ours && lease.spec?.acquireTime ? lease.spec.acquireTime : micro,
          leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (ours ? 0 : 1),
        },
      });
      return this.renewed(now, identity);
    } catch (err) {
      const code = (err as { code?: number }).code;
      // A conflict is another candidate's win, not an error.
      if (code !== 409) this.options.onError?.(err);
      if (this.leading && now - this.lastRenewal >= this.options.renewDeadlineMs) this.setLeading(false);
      return this.isLeader();
    }
  }

  private renewed(now: number, identity: string): boolean {
    this.lastRenewal = now;
    this.noteHolder(identity);
    this.setLeading(true);
    return true;
  }

  private noteHolder(holder: string): void {
    if (holder !== '' && holder !== this.observedHolder) {
      this.observedHolder = holder;
      this.options.onNewLeader?.(holder);
    }
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    if (leading) this.options.onStartedLeading?.();
    else this.options.onStoppedLeading?.();
  }
}

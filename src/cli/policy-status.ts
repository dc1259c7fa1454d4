/**
 * Wires the MCPTransportPolicy status writer into `serve`: while this
 * replica holds the Lease it plans from the cluster settings source's
 * caches on every change and writes; every replica counts
 * `mcp_admission_policies{state}` (the holder from its plan, the others
 * from their checks and the conditions the holder wrote).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Histogram } from 'prom-client';
import { LeaderElector, leaseTimings } from '../kubernetes/leader-election.ts';
import type { KubeClient } from '../kubernetes/kube-client.ts';
import { clusterLeaseApi } from '../kubernetes/lease-api.ts';
import { microTime } from '../kubernetes/micro-time.ts';
import { setPolicyCounts, type AdmissionMetrics, type PolicyState } from '../server/metrics.ts';
import type { ClusterSettingsSource } from '../settings/cluster-source.ts';
import { clusterPolicyStatusApi } from '../status/cluster-api.ts';
import type { StoredPolicy } from '../status/policy-status.ts';
import { PolicyStatusWriter } from '../status/policy-status-writer.ts';

/** The Lease whose holder writes policy status, in the webhook's namespace. */
export const STATUS_LEASE = 'mcp-admission-webhook-status';

/** Plan CPU buckets, in seconds: under a millisecond for a change in a small cluster, up to a second for a full plan of thousands of policies over many namespaces. */
export const PLAN_CPU_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export interface PolicyStatusOptions {
  client: KubeClient;
  cluster: ClusterSettingsSource;
  /** The webhook's namespace: the Lease lives there, and it is never judged. */
  namespace: string;
  logger: Logger;
  metrics: AdmissionMetrics;
}

export interface RunningPolicyStatus {
  /** Call on every policy or namespace change. */
  changed(): void;
  stop(): Promise<void>;
}

export function startPolicyStatus(options: PolicyStatusOptions): RunningPolicyStatus {
  const { client, logger, namespace } = options;
  const identity = `${process.env.HOSTNAME || hostname()}_${randomBytes(4).toString('hex')}`;
  const elector = new LeaderElector({
    api: clusterLeaseApi(client, namespace, STATUS_LEASE),
    name: STATUS_LEASE,
    namespace,
    identity,
    ...leaseTimings(15_000),
    microTime,
    onStartedLeading: () => {
      logger.info({ lease: STATUS_LEASE, identity }, 'holding the status Lease: writing MCPTransportPolicy status');
      writer.changed();
    },
    onStoppedLeading: () => logger.info({ lease: STATUS_LEASE, identity }, 'no longer holding the status Lease'),
    onError: (err) => logger.warn({ lease: STATUS_LEASE, err: (err as Error).message }, 'status Lease election failed; retrying'),
  });
  const planCpu = new Histogram({
    name: 'mcp_admission_policy_status_plan_cpu_seconds',
    help: 'CPU time of the process while planning MCPTransportPolicy status, per plan (the replica holding the status Lease plans after each policy or namespace change), by scope: all (every namespace resolved: a new leader, after a failure) or changes (only what changed).',
    labelNames: ['scope'],
    buckets: PLAN_CPU_BUCKETS,
    registers: [options.metrics.registry],
  });
  const writer = new PolicyStatusWriter({
    api: clusterPolicyStatusApi(client),
    // Informer objects are the API server's JSON: StoredPolicy reads them as such.
    snapshot: () => options.cluster.snapshot() as { policies: readonly StoredPolicy[]; namespaces: Array<{ name: string; labels: Record<string, string> }> },
    isLeader: () => elector.isLeader(),
    ownNamespace: namespace,
    logger,
    instance: identity,
    onPlanCpu: (seconds, { whole }) => planCpu.observe({ scope: whole ? 'all' : 'changes' }, seconds),
    onStates: (states) => {
      const counts: Partial<Record<PolicyState, number>> = {};
      for (const state of states) counts[state] = (counts[state] ?? 0) + 1;
      setPolicyCounts(options.metrics, counts);
    },
  });
  elector.start();
  writer.start();
  return {
    changed: () => writer.changed(),
    async stop() {
      await writer.stop();
      await elector.stop();
    },
  };
}

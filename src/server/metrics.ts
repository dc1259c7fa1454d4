/**
 * Prometheus metrics, in a registry of their own (no global default
 * registry, so tests and several apps in one process never collide).
 *
 * Product metrics are `mcp_admission_*`; the process and Node.js metrics
 * keep their standard names (`process_cpu_seconds_total`,
 * `nodejs_heap_size_used_bytes`), so the dashboards and alerts teams already
 * run for Node.js services work unchanged (DESIGN.md "Status and metrics").
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Severity } from '../admission/admission.ts';
import type { RuleId } from '../policy/finding.ts';
import type { Mode } from '../policy/transport-settings.ts';
import { VERSION } from '../version.ts';

/**
 * Request duration buckets, in seconds. Fine below 10 ms, where admission
 * normally answers; then up to the webhook's `timeoutSeconds` (5, in
 * deploy/admission) and the API server's maximum of 10, so "p99 near the
 * timeout" can be computed from the histogram instead of falling in +Inf.
 */
export const REQUEST_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 4, 5, 10];

/** How often the event-loop delay is sampled for `nodejs_eventloop_lag_*`, ms. */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** States a policy is counted in by `mcp_admission_policies{state}`. */
export type PolicyState = 'accepted' | 'invalid' | 'conflicting';
export const POLICY_STATES: readonly PolicyState[] = ['accepted', 'invalid', 'conflicting'];

export interface AdmissionMetrics {
  registry: Registry;
  /** Admission requests by webhook, operation, kind, decision and whether they were dry runs. */
  requests: Histogram<'webhook' | 'operation' | 'kind' | 'decision' | 'dry_run'>;
  /** Findings of the validating webhook, by rule, severity and the mode that weighed them. */
  findings: Counter<'rule' | 'severity' | 'mode'>;
  /** MCPTransportPolicy objects by state; use {@link setPolicyCounts}. */
  policies: Gauge<'state'>;
  /** Constant 1, labelled with the version. */
  buildInfo: Gauge<'version'>;
  policySyncErrors: Counter;
  policyStale: Gauge;
  certificateReloads: Counter<'result'>;
  /** notAfter of the serving certificate in use, Unix seconds. */
  certificateExpiry: Gauge;
  /** Steps the certificate Lease holder wrote, by action. */
  certificateRotations: Counter<'action'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): AdmissionMetrics {
  const registry = new Registry();
  // prom-client samples event-loop delay (nodejs_eventloop_lag_*) with a
  // timer that fires every eventLoopMonitoringPrecision ms, 10 by default:
  // 100 wake-ups a second kept an idle serve at some 4 ms of CPU a second,
  // more than a review costs when the API server sends one every few
  // seconds. Each sample still measures the delay to the nanosecond; every
  // 100 ms gives 600 samples a minute for the percentiles.
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const buildInfo = new Gauge({
    name: 'mcp_admission_build_info',
    help: 'Always 1; the version label says which mcp-admission is running.',
    labelNames: ['version'],
    registers: [registry],
  });
  buildInfo.set({ version: VERSION }, 1);
  const policies = new Gauge({
    name: 'mcp_admission_policies',
    help: 'MCPTransportPolicy objects by state: accepted (in force), invalid (ignored), conflicting (in force, bounds leave no valid value somewhere).',
    labelNames: ['state'],
    registers: [registry],
  });
  // Every state from the start, so an alert on invalid > 0 has a series to read.
  for (const state of POLICY_STATES) policies.set({ state }, 0);
  return {
    registry,
    requests: new Histogram({
      name: 'mcp_admission_request_duration_seconds',
      help: 'Time to decide one AdmissionReview, by webhook, operation, kind, decision and dry run.',
      labelNames: ['webhook', 'operation', 'kind', 'decision', 'dry_run'],
      buckets: REQUEST_DURATION_BUCKETS,
      registers: [registry],
    }),
    findings: new Counter({
      name: 'mcp_admission_findings_total',
      help: 'Findings of the validating webhook by rule, severity (deny, would-deny in mode warn, warning) and mode; dry runs are not counted.',
      labelNames: ['rule', 'severity', 'mode'],
      registers: [registry],
    }),
    policies,
    buildInfo,
    policySyncErrors: new Counter({
      name: 'mcp_admission_policy_sync_errors_total',
      help: 'Failed list/watch calls for MCPTransportPolicy objects and namespaces.',
      registers: [registry],
    }),
    policyStale: new Gauge({
      name: 'mcp_admission_policy_stale',
      help: '1 while the API server cannot be reached and the last good policies are in use.',
      registers: [registry],
    }),
    certificateReloads: new Counter({
      name: 'mcp_admission_certificate_reloads_total',
      help: 'Serving certificate reloads, by result.',
      labelNames: ['result'],
      registers: [registry],
    }),
    certificateExpiry: new Gauge({
      name: 'mcp_admission_certificate_expiry_timestamp_seconds',
      help: 'When the serving certificate in use expires (notAfter), in seconds since the Unix epoch.',
      registers: [registry],
    }),
    certificateRotations: new Counter({
      name: 'mcp_admission_certificate_rotation_steps_total',
      help: 'Self-managed certificate steps written by the Lease holder, by action (create, add-authority, inject-bundle, issue-serving, retire-authorities, record-injection).',
      labelNames: ['action'],
      registers: [registry],
    }),
  };
}

/** Sets `mcp_admission_policies` for every state at once (absent states are 0). */
export function setPolicyCounts(metrics: AdmissionMetrics, counts: Partial<Record<PolicyState, number>>): void {
  for (const state of POLICY_STATES) metrics.policies.set({ state }, counts[state] ?? 0);
}

/** Counts one review's findings, judged under `mode`. */
export type FindingsCounter = (findings: ReadonlyArray<{ rule: RuleId; severity: Severity }>, mode: Mode | 'none') => void;

/**
 * Counts findings in `mcp_admission_findings_total` through a child counter
 * cached per label set (`counter.labels(...)`, as request-recorder.ts does
 * for the request histogram), instead of `inc({ rule, severity, mode })`,
 * which checks and hashes a new labels object on every call. The series,
 * labels and values are the same either way (test/unit/server/metrics.test.ts).
 * Bounded as the series are: rules, severities and modes are closed sets.
 */
export function findingsCounter(counter: AdmissionMetrics['findings']): FindingsCounter {
  type Child = ReturnType<AdmissionMetrics['findings']['labels']>;
  const byMode = new Map<string, Map<string, Map<string, Child>>>();
  return (findings, mode) => {
    let byRule = byMode.get(mode);
    if (!byRule) byMode.set(mode, (byRule = new Map()));
    for (let i = 0; i < findings.length; i++) {
      const { rule, severity } = findings[i]!;
      let bySeverity = byRule.get(rule);
      if (!bySeverity) byRule.set(rule, (bySeverity = new Map()));
      let child = bySeverity.get(severity);
      // The labels object in the order serve always wrote it: the series' labels print in that order.
      if (!child) bySeverity.set(severity, (child = counter.labels({ rule, severity, mode })));
      child.inc();
    }
  };
}

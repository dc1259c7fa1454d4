/**
 * The prober's Prometheus metrics, in a registry of their own, with the
 * conventions of the webhook's (src/server/metrics.ts): product metrics are
 * `mcp_admission_*`, process and Node.js metrics keep their standard names.
 * deploy/monitoring's alerts read these names:
 * - `mcp_admission_noncompliant_objects{namespace,kind,reason}`: the last
 *   pass's count; the whole set is replaced each pass, so a fixed object
 *   drops out.
 * - `mcp_admission_prober_passes_total{result="success"|"failure"}`.
 * - `mcp_admission_prober_last_success_timestamp_seconds`: when the last
 *   pass that finished finished.
 *
 * `probe --watch --metrics-port` serves the whole registry. `probe --once`
 * ends before any scrape, so it writes a textfile for node_exporter's
 * textfile collector: the two gauges only, since a counter that starts
 * again in every Job would read as resets.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { NoncompliantCount } from './compliance.ts';

/** The gauge's name, as deploy/monitoring's `MCPAdmissionNoncompliantObjects` alert reads it. */
export const NONCOMPLIANT_METRIC = 'mcp_admission_noncompliant_objects';

/** The prober's metrics. */
export interface ProberMetrics {
  registry: Registry;
  noncompliant: Gauge<'namespace' | 'kind' | 'reason'>;
  lastSuccess: Gauge;
  /** Absent in a textfile (see the module comment). */
  passes?: Counter<'result'>;
}

/**
 * `served`: the registry `--metrics-port` serves (with the pass counter and
 * the process metrics); otherwise the textfile's.
 */
export function createProberMetrics(options: { served: boolean }): ProberMetrics {
  const registry = new Registry();
  if (options.served) collectDefaultMetrics({ register: registry });
  const noncompliant = new Gauge({
    name: NONCOMPLIANT_METRIC,
    help: 'Labelled objects the webhook would refuse, warn about or mutate now, by the last prober pass.',
    labelNames: ['namespace', 'kind', 'reason'],
    registers: [registry],
  });
  const lastSuccess = new Gauge({
    name: 'mcp_admission_prober_last_success_timestamp_seconds',
    help: 'When the last prober pass that finished finished, in seconds since the Unix epoch.',
    registers: [registry],
  });
  if (!options.served) return { registry, noncompliant, lastSuccess };
  const passes = new Counter({
    name: 'mcp_admission_prober_passes_total',
    help: 'Prober passes (judging every labelled object and route), by result.',
    labelNames: ['result'],
    registers: [registry],
  });
  // Both results from the start, so a rate over failures has a series to read.
  for (const result of ['success', 'failure']) passes.inc({ result }, 0);
  return { registry, noncompliant, lastSuccess, passes };
}

/** A pass that finished: its counts replace the last pass's, and the time is recorded. */
export function recordPassSuccess(metrics: ProberMetrics, counts: readonly NoncompliantCount[], finishedAt: Date): void {
  metrics.noncompliant.reset();
  for (const { namespace, kind, reason, count } of counts) metrics.noncompliant.set({ namespace, kind, reason }, count);
  metrics.lastSuccess.set(finishedAt.getTime() / 1000);
  metrics.passes?.inc({ result: 'success' });
}

/** A pass that did not finish: the last counts stay (they are still the best known), the time does not move. */
export function recordPassFailure(metrics: ProberMetrics): void {
  metrics.passes?.inc({ result: 'failure' });
}

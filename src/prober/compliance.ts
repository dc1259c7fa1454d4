/**
 * What the prober pass records about objects the webhook would judge
 * differently now (issue 12, "Audit of what already exists"): a Warning
 * Event on each non-compliant object and the counts behind
 * `mcp_admission_noncompliant_objects{namespace,kind,reason}`.
 *
 * The prober stands apart from admission (README "Contributing"): the
 * verdicts come from an injected {@link Judge}, which the composition root
 * builds from the webhook's own `auditObjects`; nothing here decides.
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import { DEFAULT_NAMESPACE } from '../kubernetes/api-server.ts';
import { proberEvent } from './events.ts';

/** The webhook's verdict on one existing object, as `audit` gives it. */
export interface Judgement {
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  /** `compliant`, `would-mutate`, `would-refuse`, `would-warn` or `not-judged`. */
  verdict: string;
  /** One line for a person: the fixes or the changes. */
  detail: string;
}

/** Judges existing objects as the webhook would on their next write. */
export type Judge = (objects: readonly unknown[]) => Promise<Judgement[]>;

/**
 * Verdicts that make an object non-compliant. `would-refuse` and
 * `would-warn` contradict the policy (mode validate refuses them on the next
 * write); `would-mutate` runs today without the settings mode mutate gives
 * every new object (it predates the install or the policy). `compliant` and
 * `not-judged` (exempt, mode off, system namespace) are never reported.
 */
export const NONCOMPLIANT_VERDICTS: ReadonlySet<string> = new Set(['would-refuse', 'would-warn', 'would-mutate']);

/** Event reason on a non-compliant object. */
export const NONCOMPLIANT_EVENT_REASON = 'NonCompliant';

/** True when the judgement is reported. */
export function isNoncompliant(judgement: Judgement): boolean {
  return NONCOMPLIANT_VERDICTS.has(judgement.verdict);
}

/** The Warning Event for a non-compliant object. */
export function noncompliantEvent(judgement: Judgement, now: Date, instance: string): CoreV1Event {
  const namespace = judgement.namespace || DEFAULT_NAMESPACE;
  const message = `mcp-admission ${judgement.verdict.replace('-', ' ')} this ${judgement.kind} on its next write: ${judgement.detail}`;
  return proberEvent(
    {
      apiVersion: judgement.kind === 'Deployment' ? 'apps/v1' : 'v1',
      kind: judgement.kind,
      name: judgement.name,
      namespace,
      ...(judgement.uid ? { uid: judgement.uid } : {}),
    },
    { type: 'Warning', reason: NONCOMPLIANT_EVENT_REASON, message },
    now,
    instance,
  );
}

/** One sample of `mcp_admission_noncompliant_objects`. */
export interface NoncompliantCount {
  namespace: string;
  kind: string;
  reason: string;
  count: number;
}

/** The gauge's samples: non-compliant objects per namespace, kind and verdict. */
export function noncompliantCounts(judgements: readonly Judgement[]): NoncompliantCount[] {
  const counts = new Map<string, NoncompliantCount>();
  for (const j of judgements.filter(isNoncompliant)) {
    const key = `${j.namespace}\u0000${j.kind}\u0000${j.verdict}`;
    const entry = counts.get(key) ?? { namespace: j.namespace, kind: j.kind, reason: j.verdict, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  return [...counts.values()];
}

/** The gauge's name, as deploy/monitoring's `MCPAdmissionNoncompliantObjects` alert reads it. */
export const NONCOMPLIANT_METRIC = 'mcp_admission_noncompliant_objects';

/** A label value in the text format: backslash, quote and newline escaped (Prometheus exposition format). */
const labelValue = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * The gauge in Prometheus text format, for a textfile collector: the Job
 * ends before any scrape, so a pass leaves its figures in a file.
 */
export function noncompliantMetricText(counts: readonly NoncompliantCount[]): string {
  const lines = [
    `# HELP ${NONCOMPLIANT_METRIC} Labelled objects the webhook would refuse, warn about or mutate now, by the last prober pass.`,
    `# TYPE ${NONCOMPLIANT_METRIC} gauge`,
    ...counts.map((c) => `${NONCOMPLIANT_METRIC}{namespace="${labelValue(c.namespace)}",kind="${labelValue(c.kind)}",reason="${labelValue(c.reason)}"} ${c.count}`),
  ];
  return `${lines.join('\n')}\n`;
}

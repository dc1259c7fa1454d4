/**
 * Records one answered review in `mcp_admission_request_duration_seconds`
 * through a child histogram cached per label set, prom-client's way of
 * observing a series again and again (`histogram.labels(...)`), instead of
 * `observe({ webhook, operation, kind, decision, dry_run }, seconds)`, which
 * takes a new labels object on every call and checks it against the label
 * names before it finds the series. The series, labels and values are the
 * same either way (test/unit/server/request-recorder.test.ts).
 *
 * The cache is as bounded as the series are: every label is from a closed
 * set (app.ts labels kinds it does not know as `other`).
 */
import type { Histogram } from 'prom-client';

type RequestLabels = 'webhook' | 'operation' | 'kind' | 'decision' | 'dry_run';
type Child = ReturnType<Histogram<RequestLabels>['labels']>;

/** Records `seconds` under the labels given, in the order of the metric's label names. */
export type RequestRecorder = (webhook: string, operation: string, kind: string, decision: string, dryRun: boolean, seconds: number) => void;

export function requestRecorder(histogram: Histogram<RequestLabels>): RequestRecorder {
  // One level per label, looked up without building a key: no allocation once a series has been seen.
  const byWebhook = new Map<string, Map<string, Map<string, Map<string, [Child | undefined, Child | undefined]>>>>();
  return (webhook, operation, kind, decision, dryRun, seconds) => {
    let byOperation = byWebhook.get(webhook);
    if (!byOperation) byWebhook.set(webhook, (byOperation = new Map()));
    let byKind = byOperation.get(operation);
    if (!byKind) byOperation.set(operation, (byKind = new Map()));
    let byDecision = byKind.get(kind);
    if (!byDecision) byKind.set(kind, (byDecision = new Map()));
    let children = byDecision.get(decision);
    if (!children) byDecision.set(decision, (children = [undefined, undefined]));
    const index = dryRun ? 1 : 0;
    // The labels object in the order serve always wrote it: the series' labels print in that order.
    const child = (children[index] ??= histogram.labels({ webhook, operation, kind, decision, dry_run: dryRun ? 'true' : 'false' }));
    child.observe(seconds);
  };
}

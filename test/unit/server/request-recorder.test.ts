import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../../src/server/metrics.ts';
import { requestRecorder } from '../../../src/server/request-recorder.ts';

/** The label sets serve records, in an order that repeats them and mixes them. */
const calls: Array<[webhook: string, operation: string, kind: string, decision: string, dryRun: boolean, seconds: number]> = [];
for (let i = 0; i < 300; i++) {
  calls.push([
    i % 2 ? 'mutate' : 'validate',
    ['CREATE', 'UPDATE', 'DELETE', 'CONNECT', 'unknown'][i % 5]!,
    ['Deployment', 'Service', 'other', 'unknown'][i % 4]!,
    ['allow', 'deny', 'warn', 'invalid', 'errored'][i % 7 % 5]!,
    i % 3 === 0,
    [0.0001, 0.0004, 0.002, 0.03, 0.7, 12][i % 6]!,
  ]);
}

describe('requestRecorder', () => {
  it('leaves the histogram exactly as observe with a labels object does: series, labels, buckets, sums', async () => {
    const plain = createMetrics({ defaultMetrics: false });
    const cached = createMetrics({ defaultMetrics: false });
    const record = requestRecorder(cached.requests);
    for (const [webhook, operation, kind, decision, dryRun, seconds] of calls) {
      plain.requests.observe({ webhook, operation, kind, decision, dry_run: String(dryRun) }, seconds);
      record(webhook, operation, kind, decision, dryRun, seconds);
    }
    const text = await cached.registry.getSingleMetricAsString('mcp_admission_request_duration_seconds');
    assert.equal(text, await plain.registry.getSingleMetricAsString('mcp_admission_request_duration_seconds'));
    assert.match(text, /mcp_admission_request_duration_seconds_count\{webhook="mutate",operation="UPDATE",kind="Service",decision="deny",dry_run="true"\} \d+/);
  });

  it('keeps counting after the histogram is reset', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const record = requestRecorder(metrics.requests);
    record('mutate', 'CREATE', 'Deployment', 'allow', false, 0.001);
    metrics.requests.reset();
    record('mutate', 'CREATE', 'Deployment', 'allow', false, 0.001);
    record('mutate', 'CREATE', 'Deployment', 'allow', false, 0.001);
    const { values } = await metrics.requests.get();
    const count = values.find((v) => v.metricName === 'mcp_admission_request_duration_seconds_count');
    assert.equal(count?.value, 2);
  });
});

/**
 * What teams scrape: standard process and Node.js names, product metrics
 * under mcp_admission_, buckets up to the webhook timeout, a dry_run label,
 * findings by rule/severity/mode, build info and policies by state.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import inject from 'light-my-request';
import { pino } from 'pino';
import { createApp } from '../../../src/server/app.ts';
import { createMetrics, findingsCounter, setPolicyCounts } from '../../../src/server/metrics.ts';
import { staticSettings } from '../../../src/settings/static-source.ts';
import type { TransportPolicy } from '../../../src/policy/transport-policy.ts';
import { fixture } from '../../support/fixtures.ts';

function appWith(policies: TransportPolicy[] = []) {
  const metrics = createMetrics({ defaultMetrics: false });
  const app = createApp({
    admission: { settings: staticSettings(policies), ownNamespace: 'mcp-admission' },
    logger: pino({ level: 'silent' }),
    metrics,
    ready: () => true,
  });
  const validate = (review: object) =>
    inject(app, { method: 'POST', url: '/validate', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(review) });
  return { metrics, validate };
}

/** The fixture's SSE Deployment, switched to Recreate and one replica: one denial and one warning. */
function recreateReview(dryRun = false) {
  const review = fixture('deployment-sse');
  review.request.object.metadata.annotations['mcp-admission.dev/protocol'] = 'sse';
  review.request.object.spec.strategy = { type: 'Recreate' };
  review.request.object.spec.replicas = 1;
  review.request.dryRun = dryRun;
  return review;
}

describe('metrics', () => {
  it('process and Node.js metrics keep their standard names', async () => {
    const text = await createMetrics().registry.metrics();
    assert.match(text, /^process_cpu_seconds_total /m);
    assert.match(text, /^nodejs_heap_size_used_bytes /m);
    assert.doesNotMatch(text, /^mcp_admission_(process|nodejs)_/m);
  });

  it('duration buckets reach the webhook timeout (5 s) and the API server maximum (10 s)', async () => {
    const { metrics, validate } = appWith();
    await validate(fixture('deployment-sse'));
    const text = await metrics.registry.metrics();
    for (const le of ['2.5', '5', '10', '+Inf']) {
      assert.match(text, new RegExp(`mcp_admission_request_duration_seconds_bucket\\{le="${le.replace('+', '\\+')}",[^}]*dry_run="false"\\} 1`));
    }
  });

  it('a dry run is labelled as one and its findings are not counted', async () => {
    const { metrics, validate } = appWith();
    await validate(recreateReview(true));
    const text = await metrics.registry.metrics();
    assert.match(text, /mcp_admission_request_duration_seconds_count\{webhook="validate",operation="CREATE",kind="Deployment",decision="denied",dry_run="true"\} 1/);
    assert.doesNotMatch(text, /^mcp_admission_findings_total\{/m);
  });

  it('counts findings by rule, severity and mode', async () => {
    const { metrics, validate } = appWith();
    await validate(recreateReview());
    const text = await metrics.registry.metrics();
    assert.match(text, /^mcp_admission_findings_total\{rule="deployment-recreate",severity="deny",mode="mutate"\} 1$/m);
    assert.match(text, /^mcp_admission_findings_total\{rule="deployment-single-replica",severity="warning",mode="mutate"\} 1$/m);
  });

  it('in mode warn a would-be denial is told apart from a plain warning', async () => {
    const { metrics, validate } = appWith([{ name: 'rollout', spec: { mode: 'warn' } }]);
    const res = await validate(recreateReview());
    const response = res.json().response;
    assert.equal(response.allowed, true);
    const warnings: string[] = response.warnings;
    assert.ok(warnings.some((w) => /^mcp-admission: would deny: spec\.strategy\.type: Recreate/.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w) => /^mcp-admission: spec\.replicas: one replica/.test(w)), warnings.join('\n'));
    const text = await metrics.registry.metrics();
    assert.match(text, /^mcp_admission_findings_total\{rule="deployment-recreate",severity="would-deny",mode="warn"\} 1$/m);
    assert.match(text, /^mcp_admission_findings_total\{rule="deployment-single-replica",severity="warning",mode="warn"\} 1$/m);
  });

  it('an invalid policy counts under mode none', async () => {
    const { metrics, validate } = appWith();
    const review = fixture('policy');
    review.request.object.spec = { defaults: { maxSurge: 0 } };
    await validate(review);
    assert.match(await metrics.registry.metrics(), /^mcp_admission_findings_total\{rule="policy-max-surge-zero",severity="deny",mode="none"\} 1$/m);
  });

  it('build info carries package.json version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    const text = await createMetrics({ defaultMetrics: false }).registry.metrics();
    assert.match(text, new RegExp(`^mcp_admission_build_info\\{version="${version.replaceAll('.', '\\.')}"\\} 1$`, 'm'));
  });

  it('policies are counted by state, every state present', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const before = await metrics.registry.metrics();
    assert.match(before, /^mcp_admission_policies\{state="invalid"\} 0$/m);
    setPolicyCounts(metrics, { accepted: 3, invalid: 1 });
    const text = await metrics.registry.metrics();
    assert.match(text, /^mcp_admission_policies\{state="accepted"\} 3$/m);
    assert.match(text, /^mcp_admission_policies\{state="invalid"\} 1$/m);
    assert.match(text, /^mcp_admission_policies\{state="conflicting"\} 0$/m);
  });
});

describe('findingsCounter', () => {
  it('writes the series, labels and values that inc with a labels object writes', async () => {
    const cached = createMetrics({ defaultMetrics: false });
    const direct = createMetrics({ defaultMetrics: false });
    const count = findingsCounter(cached.findings);
    const reviews = [
      { findings: [{ rule: 'deployment-recreate', severity: 'deny' }, { rule: 'deployment-single-replica', severity: 'warning' }], mode: 'mutate' },
      { findings: [{ rule: 'deployment-recreate', severity: 'would-deny' }], mode: 'warn' },
      { findings: [{ rule: 'deployment-recreate', severity: 'deny' }], mode: 'mutate' },
      { findings: [{ rule: 'policy-max-surge-zero', severity: 'deny' }], mode: 'none' },
      { findings: [], mode: 'validate' },
    ] as const;
    for (const { findings, mode } of reviews) {
      count(findings, mode);
      for (const { rule, severity } of findings) direct.findings.inc({ rule, severity, mode });
    }
    const text = await cached.registry.getSingleMetricAsString('mcp_admission_findings_total');
    assert.equal(text, await direct.registry.getSingleMetricAsString('mcp_admission_findings_total'));
    assert.match(text, /^mcp_admission_findings_total\{rule="deployment-recreate",severity="deny",mode="mutate"\} 2$/m);
  });
});

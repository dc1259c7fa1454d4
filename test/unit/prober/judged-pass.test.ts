/**
 * The judged pass `probe --once` and `probe --watch` share
 * (ClusterProber.judgePass): every labelled Deployment judged, a Service
 * or not; Events counted on the one they repeat, across passes, as the
 * kubelet's recorder does; unlabelled routes to SSE servers reported on the
 * route; the metrics of each pass. The API is the in-memory fake
 * (test/support/fake-cluster.ts), the verdicts the webhook's own (auditJudge).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CoreV1Event, V1Ingress } from '@kubernetes/client-node';
import { pino } from 'pino';
import { auditJudge, readAtMostEvery } from '../../../src/cli/probe-judge.ts';
import { ClusterProber } from '../../../src/prober/cluster-prober.ts';
import { NONCOMPLIANT_EVENT_REASON, UNLABELLED_ROUTE_EVENT_REASON } from '../../../src/prober/compliance.ts';
import type { DetectionResult } from '../../../src/prober/detect.ts';
import { eventName, recordEvent } from '../../../src/prober/event-recorder.ts';
import { createProberMetrics, recordPassSuccess, type ProberMetrics } from '../../../src/prober/metrics.ts';
import { DEFAULT_RETRY_POLICY } from '../../../src/prober/retry.ts';
import type { TransportPolicy } from '../../../src/policy/transport-policy.ts';
import { staticSettings } from '../../../src/settings/static-source.ts';
import { ApiError, deployment, FakeCluster, service } from '../../support/fake-cluster.ts';
import { mcpHTTPRoute, mcpIngress } from '../../support/objects.ts';

const DOWN: DetectionResult = { protocol: 'unknown', authRequired: false, reason: 'connection failed: ECONNREFUSED', latencyMs: 1 };
const WARN: TransportPolicy[] = [{ name: 'rollout', spec: { mode: 'warn', exemptNamespaces: ['free'] } }];

function prober(api: FakeCluster, options: { policies?: TransportPolicy[]; clock?: () => Date; metrics?: ProberMetrics; detect?: () => DetectionResult } = {}) {
  return new ClusterProber({
    api,
    detect: async () => (options.detect ?? (() => DOWN))(),
    clock: options.clock ?? (() => new Date(Date.UTC(2026, 0, 1))),
    logger: pino({ level: 'silent' }),
    sleep: async () => {},
    judge: auditJudge(async () => ({ settings: staticSettings(options.policies ?? WARN), ownNamespace: 'mcp-admission' })),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
}

const noncompliant = (api: FakeCluster) => api.events.filter((e) => e.reason === NONCOMPLIANT_EVENT_REASON);

describe('the judged pass', () => {
  it('judges a labelled Deployment in a namespace with no labelled Service', async () => {
    const api = new FakeCluster().add(deployment('lonely', 'legacy', 'legacy'));
    const summary = await prober(api).probeAll();
    assert.deepEqual(
      summary.judgements.map((j) => [j.kind, j.namespace, j.name, j.verdict]),
      [['Deployment', 'lonely', 'legacy', 'would-warn']],
    );
    const [event] = noncompliant(api);
    assert.equal(event?.involvedObject.name, 'legacy');
    assert.equal(event?.involvedObject.namespace, 'lonely');
    assert.deepEqual(summary.noncompliant, [{ namespace: 'lonely', kind: 'Deployment', reason: 'would-warn', count: 1 }]);
  });

  it('still judges and probes when Deployments cannot be listed in all namespaces, namespace by namespace', async () => {
    const api = new FakeCluster().add(service('team', 'legacy'), deployment('team', 'legacy', 'legacy'));
    api.failures.set('listDeployments *', [new ApiError(403, 'forbidden')]);
    const summary = await prober(api).probeAll();
    assert.ok(summary.judgements.some((j) => j.kind === 'Deployment' && j.name === 'legacy'));
    assert.equal(summary.errors, 0);
  });

  it('two passes over the same non-compliant object leave one Event with count 2', async () => {
    const api = new FakeCluster().add(service('team', 'legacy'), deployment('team', 'legacy', 'legacy'));
    // The Deployment stays as it is (no mutating webhook on the prober's writes), so it stays non-compliant.
    api.webhook = false;
    let now = Date.UTC(2026, 0, 1);
    await prober(api, { clock: () => new Date(now) }).probeAll();
    const first = noncompliant(api).find((e) => e.involvedObject.kind === 'Deployment')!;
    now += 10 * 60_000;
    // A new process, as the next CronJob run is: nothing remembered but what the API server holds.
    await prober(api, { clock: () => new Date(now) }).probeAll();
    const onDeployment = noncompliant(api).filter((e) => e.involvedObject.kind === 'Deployment');
    assert.equal(onDeployment.length, 1, JSON.stringify(onDeployment));
    assert.equal(onDeployment[0]!.metadata?.name, first.metadata?.name);
    assert.equal(onDeployment[0]!.count, 2);
    assert.equal(String(onDeployment[0]!.lastTimestamp), '2026-01-01T00:10:00Z');
    assert.equal(new Date(String(onDeployment[0]!.firstTimestamp)).getTime(), Date.UTC(2026, 0, 1));
  });

  it('a server that stays down is counted on one ProbeFailed Event too', async () => {
    const api = new FakeCluster().add(service('team', 'down'));
    const up = (): DetectionResult => ({ protocol: 'streamable-http', authRequired: false, reason: 'Streamable HTTP', latencyMs: 1 });
    await prober(api, { detect: up }).probeAll();
    // Each pass from now on keeps the known protocol and reports the failure.
    for (let pass = 0; pass < 3; pass++) await prober(api).probeAll();
    const failed = api.events.filter((e) => e.reason === 'ProbeFailed' && e.involvedObject.kind === 'Service');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.count, 3);
    assert.match(failed[0]!.message!, /keeping detected streamable-http/);
  });
});

describe('recordEvent', () => {
  const deps = (api: FakeCluster) => ({ api, retry: DEFAULT_RETRY_POLICY, sleep: async () => {} });
  const event = (message = 'the fix'): CoreV1Event => ({
    metadata: { name: eventName({ kind: 'Deployment', namespace: 'team', name: 'legacy', uid: 'u1' }, 'NonCompliant'), namespace: 'team' },
    involvedObject: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'team', name: 'legacy', uid: 'u1' },
    reason: 'NonCompliant',
    type: 'Warning',
    message,
    reportingComponent: 'mcp-admission-prober',
    source: { component: 'mcp-admission-prober' },
    firstTimestamp: new Date(0),
    lastTimestamp: new Date(0),
    count: 1,
  });

  it('creates, then counts with the newest message', async () => {
    const api = new FakeCluster();
    assert.equal(await recordEvent(deps(api), event()), 'created');
    assert.equal(await recordEvent(deps(api), event('a newer fix')), 'counted');
    assert.equal(api.events.length, 1);
    assert.equal(api.events[0]!.count, 2);
    assert.equal(api.events[0]!.message, 'a newer fix');
  });

  it('never bumps an Event that is not ours under our name: a tenant cannot silence or borrow it', async () => {
    const api = new FakeCluster();
    const squatter = { ...event('call this number'), reportingComponent: 'tenant', source: { component: 'tenant' } };
    await api.createEvent('team', squatter);
    assert.equal(await recordEvent(deps(api), event()), 'created-unnamed');
    assert.equal(api.events.length, 2);
    assert.equal(api.events[0]!.message, 'call this number');
    assert.equal(api.events[0]!.count, 1);
    assert.equal(api.events[1]!.message, 'the fix');
    assert.match(api.events[1]!.metadata!.name!, /^legacy\./);
  });

  it('loses no count to another writer: a moved resourceVersion makes it read again', async () => {
    const api = new FakeCluster();
    await recordEvent(deps(api), event());
    // The read succeeds; the bump finds the resourceVersion moved (another writer counted meanwhile).
    api.failures.set('patchEvent', [undefined, new ApiError(422, 'testing value /metadata/resourceVersion failed')]);
    assert.equal(await recordEvent(deps(api), event()), 'counted');
    assert.equal(api.events[0]!.count, 2);
  });

  it('names an Event by object uid and reason, always a valid name', () => {
    const subject = { kind: 'Service', namespace: 'team', name: 'legacy', uid: 'u1' };
    assert.equal(eventName(subject, 'NonCompliant'), eventName(subject, 'NonCompliant'));
    assert.notEqual(eventName(subject, 'NonCompliant'), eventName(subject, 'ProbeFailed'));
    assert.notEqual(eventName(subject, 'NonCompliant'), eventName({ ...subject, uid: 'u2' }, 'NonCompliant'));
    const long = eventName({ ...subject, name: `${'a'.repeat(235)}-b` }, 'NonCompliant');
    assert.ok(long.length <= 253, `${long.length}`);
    assert.match(long, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
  });
});

describe('unlabelled routes to SSE servers', () => {
  const sse = (ns: string) => service(ns, 'legacy', {}, { protocol: 'sse' });
  const ingress = (ns: string, name: string, options: { unlabelled?: boolean; services?: string[] } = {}): V1Ingress => {
    const manifest = mcpIngress(name, 'nginx', { namespace: ns, services: options.services ?? ['legacy'], unlabelled: options.unlabelled ?? true });
    return { ...manifest, metadata: { ...manifest.metadata, uid: `uid-${ns}-${name}` } } as V1Ingress;
  };

  it('a Warning Event on the unlabelled Ingress and HTTPRoute, naming the label to add; none on a labelled one or in an exempt namespace', async () => {
    const api = new FakeCluster().add(sse('tools'), sse('free'));
    api.ingresses = [ingress('tools', 'front'), ingress('tools', 'labelled', { unlabelled: false }), ingress('free', 'front')];
    api.httpRoutes = [{ ...mcpHTTPRoute('gw-front', 'gw', { namespace: 'tools', services: ['legacy'], unlabelled: true }), metadata: { name: 'gw-front', namespace: 'tools', uid: 'uid-route', labels: {} } } as never];
    const summary = await prober(api, { policies: [{ name: 'exempting', spec: { exemptNamespaces: ['free'] } }] }).probeAll();
    assert.deepEqual(summary.routes.map((r) => [r.kind, r.namespace, r.name]).sort(), [['HTTPRoute', 'tools', 'gw-front'], ['Ingress', 'tools', 'front']]);
    const events = api.events.filter((e) => e.reason === UNLABELLED_ROUTE_EVENT_REASON);
    assert.deepEqual(events.map((e) => [e.involvedObject.apiVersion, e.involvedObject.kind, e.involvedObject.name, e.involvedObject.uid, e.type]).sort(), [
      ['gateway.networking.k8s.io/v1', 'HTTPRoute', 'gw-front', 'uid-route', 'Warning'],
      ['networking.k8s.io/v1', 'Ingress', 'front', 'uid-tools-front', 'Warning'],
    ]);
    const onIngress = events.find((e) => e.involvedObject.kind === 'Ingress')!;
    assert.match(onIngress.message!, /^This Ingress routes to SSE MCP Service "legacy" without the label app\.kubernetes\.io\/component: mcp-server/);
    assert.match(onIngress.message!, /Fix: kubectl label ingress\/front -n tools app\.kubernetes\.io\/component=mcp-server$/);
    // A second pass counts on the same Events.
    await prober(api, { policies: [{ name: 'exempting', spec: { exemptNamespaces: ['free'] } }] }).probeAll();
    assert.deepEqual(api.events.filter((e) => e.reason === UNLABELLED_ROUTE_EVENT_REASON).map((e) => e.count), [2, 2]);
  });

  it("the Event text stays ours and bounded: a route to many SSE Services names three, and the fix survives", async () => {
    const names = Array.from({ length: 40 }, (_, i) => `sse-${'x'.repeat(50)}-${i}`);
    const api = new FakeCluster().add(...names.map((n) => service('tools', n, {}, { protocol: 'sse' })));
    api.ingresses = [ingress('tools', 'front', { services: names })];
    await prober(api, { policies: [] }).probeAll();
    const [event] = api.events.filter((e) => e.reason === UNLABELLED_ROUTE_EVENT_REASON);
    assert.ok(event!.message!.length <= 1024, `${event!.message!.length}`);
    assert.match(event!.message!, /and 37 more without the label/);
    assert.match(event!.message!, /Fix: kubectl label ingress\/front -n tools app\.kubernetes\.io\/component=mcp-server$/);
  });

  it('a failed route list fails the pass, counted as such; the last good figures stay', async () => {
    const api = new FakeCluster().add(deployment('team', 'legacy', 'legacy'));
    const metrics = createProberMetrics({ served: true });
    await prober(api, { metrics }).probeAll();
    api.failures.set('listIngresses', [new ApiError(403, 'forbidden')]);
    await assert.rejects(prober(api, { metrics }).probeAll(), /forbidden/);
    const text = await metrics.registry.metrics();
    assert.match(text, /^mcp_admission_prober_passes_total\{result="success"\} 1$/m);
    assert.match(text, /^mcp_admission_prober_passes_total\{result="failure"\} 1$/m);
    assert.match(text, /^mcp_admission_noncompliant_objects\{namespace="team",kind="Deployment",reason="would-warn"\} 1$/m);
    assert.match(text, /^mcp_admission_prober_last_success_timestamp_seconds 1767225600$/m);
  });
});

describe('prober metrics', () => {
  it('serve the contract names, process metrics under their standard names, both pass results from the start', async () => {
    const text = await createProberMetrics({ served: true }).registry.metrics();
    assert.match(text, /^mcp_admission_prober_passes_total\{result="success"\} 0$/m);
    assert.match(text, /^mcp_admission_prober_passes_total\{result="failure"\} 0$/m);
    assert.match(text, /^# TYPE mcp_admission_prober_last_success_timestamp_seconds gauge$/m);
    assert.match(text, /^# TYPE mcp_admission_noncompliant_objects gauge$/m);
    assert.match(text, /^process_cpu_seconds_total /m);
    assert.match(text, /^nodejs_heap_size_used_bytes /m);
    assert.doesNotMatch(text, /mcp_admission_process|mcp_admission_nodejs/);
  });

  it('replace the whole set each pass, so a fixed object drops out', async () => {
    const metrics = createProberMetrics({ served: false });
    recordPassSuccess(metrics, [{ namespace: 'a', kind: 'Service', reason: 'would-refuse', count: 2 }, { namespace: 'b', kind: 'Deployment', reason: 'would-warn', count: 1 }], new Date(1000));
    recordPassSuccess(metrics, [{ namespace: 'b', kind: 'Deployment', reason: 'would-warn', count: 1 }], new Date(2000));
    const text = await metrics.registry.metrics();
    assert.doesNotMatch(text, /namespace="a"/);
    assert.match(text, /^mcp_admission_noncompliant_objects\{namespace="b",kind="Deployment",reason="would-warn"\} 1$/m);
    assert.match(text, /^mcp_admission_prober_last_success_timestamp_seconds 2$/m);
    // A textfile holds no counter (a Job's would start again each run) and no process metrics.
    assert.doesNotMatch(text, /passes_total|process_cpu/);
  });

  it('escape label values in the text format', async () => {
    const metrics = createProberMetrics({ served: false });
    recordPassSuccess(metrics, [{ namespace: 'a"b\\c', kind: 'Service', reason: 'would-refuse', count: 1 }], new Date(0));
    assert.match(await metrics.registry.metrics(), /^mcp_admission_noncompliant_objects\{namespace="a\\"b\\\\c",kind="Service",reason="would-refuse"\} 1$/m);
  });
});

describe('readAtMostEvery', () => {
  it('reads once per interval, and again at once after a failed read', async () => {
    let now = 0;
    let reads = 0;
    let fail = false;
    const read = readAtMostEvery(1000, async () => {
      reads += 1;
      if (fail) throw new Error('no');
      return reads;
    }, () => now);
    assert.equal(await read(), 1);
    assert.equal(await read(), 1);
    now = 1000;
    fail = true;
    await assert.rejects(read());
    fail = false;
    assert.equal(await read(), 3);
  });
});

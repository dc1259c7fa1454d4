/**
 * The prober pass reports what `audit` finds: a Warning Event on each
 * non-compliant object and the counts of `mcp_admission_noncompliant_objects`,
 * judged by the webhook's own `auditObjects`, skipping exempt namespaces and
 * mode off. The API is the in-memory fake (test/support/fake-cluster.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Annotations } from '../../../src/contract.ts';
import { auditJudge } from '../../../src/cli/probe-judge.ts';
import { ClusterProber } from '../../../src/prober/cluster-prober.ts';
import { NONCOMPLIANT_EVENT_REASON, noncompliantCounts } from '../../../src/prober/compliance.ts';
import type { DetectionResult } from '../../../src/prober/detect.ts';
import type { TransportPolicy } from '../../../src/policy/transport-policy.ts';
import { staticSettings } from '../../../src/settings/static-source.ts';
import { deployment, FakeCluster, service, serviceAtAddress } from '../../support/fake-cluster.ts';

const DOWN: DetectionResult = { protocol: 'unknown', authRequired: false, reason: 'connection failed: ECONNREFUSED', latencyMs: 1 };

function run(api: FakeCluster, policies: TransportPolicy[]) {
  const asked: string[] = [];
  const prober = new ClusterProber({
    api,
    detect: async (url) => {
      asked.push(serviceAtAddress(new URL(url).hostname) ?? url);
      return DOWN;
    },
    clock: () => new Date(Date.UTC(2026, 0, 1)),
    logger: pino({ level: 'silent' }),
    sleep: async () => {},
    judge: auditJudge(async () => ({ settings: staticSettings(policies), ownNamespace: 'mcp-admission' })),
  });
  return { summary: prober.probeAll(), asked };
}

describe('the prober pass reports non-compliant objects', () => {
  const policies: TransportPolicy[] = [
    { name: 'rollout', spec: { mode: 'warn' } },
    { name: 'exempting', spec: { exemptNamespaces: ['free'] } },
  ];

  it('records a Warning Event on a would-warn Deployment under mode warn, and counts it', async () => {
    const api = new FakeCluster().add(service('team', 'legacy'), deployment('team', 'legacy', 'legacy'));
    const { summary } = run(api, policies);
    const { judgements, noncompliant } = await summary;
    const dep = judgements.find((j) => j.kind === 'Deployment')!;
    assert.equal(dep.verdict, 'would-warn');
    const events = api.events.filter((e) => e.reason === NONCOMPLIANT_EVENT_REASON);
    const onDeployment = events.find((e) => e.involvedObject.kind === 'Deployment')!;
    assert.equal(onDeployment.type, 'Warning');
    assert.equal(onDeployment.involvedObject.name, 'legacy');
    assert.equal(onDeployment.involvedObject.uid, 'uid-legacy');
    assert.match(onDeployment.message!, /would warn this Deployment/);
    assert.match(onDeployment.message!, /mode warn/);
    assert.ok(noncompliant.some((c) => c.namespace === 'team' && c.kind === 'Deployment' && c.reason === 'would-warn' && c.count === 1));
    assert.equal(events.length, judgements.filter((j) => j.verdict !== 'compliant' && j.verdict !== 'not-judged').length);
  });

  it('skips exempt namespaces and mode off: no probe, no annotation, no Event', async () => {
    const api = new FakeCluster().add(service('free', 'svc'), deployment('free', 'svc', 'svc'));
    const { summary, asked } = run(api, [...policies, { name: 'off', spec: { mode: 'off', exemptNamespaces: [] } }]);
    const result = await summary;
    assert.deepEqual(asked, []);
    assert.deepEqual(result.services, []);
    assert.equal(api.events.length, 0);
    assert.deepEqual(result.noncompliant, []);
    assert.equal(api.deployments.get('free/svc')!.metadata!.annotations?.[Annotations.detectedProtocol], undefined);

    const offApi = new FakeCluster().add(service('team', 'legacy'), deployment('team', 'legacy', 'legacy'));
    const off = run(offApi, [{ name: 'off', spec: { mode: 'off' } }]);
    assert.deepEqual((await off.summary).services, []);
    assert.deepEqual(off.asked, []);
    assert.equal(offApi.events.length, 0);
  });

  it('counts per namespace, kind and verdict', () => {
    const j = (namespace: string, kind: string, verdict: string) => ({ namespace, kind, name: 'x', verdict, detail: '' });
    assert.deepEqual(noncompliantCounts([j('a', 'Service', 'would-refuse'), j('a', 'Service', 'would-refuse'), j('a', 'Service', 'compliant'), j('b', 'Deployment', 'not-judged')]), [
      { namespace: 'a', kind: 'Service', reason: 'would-refuse', count: 2 },
    ]);
  });
});

/**
 * The cluster prober against an in-memory API (FakeCluster) and a scripted
 * detect function: what it writes, when, and how it survives failures.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Annotations } from '../../../src/contract.ts';
import { ClusterProber } from '../../../src/prober/cluster-prober.ts';
import type { DetectionResult } from '../../../src/prober/detect.ts';
import { ApiError, deployment, FakeCluster, service, serviceAtAddress } from '../../support/fake-cluster.ts';

const silent = pino({ level: 'silent' });
const SSE: DetectionResult = { protocol: 'sse', protocolVersion: '2024-11-05', endpoint: '', authRequired: false, reason: 'HTTP+SSE (legacy)', latencyMs: 1 };
const HTTP: DetectionResult = { protocol: 'streamable-http', protocolVersion: '2025-11-25', endpoint: '', authRequired: false, reason: 'Streamable HTTP', latencyMs: 1 };
const DOWN: DetectionResult = { protocol: 'unknown', authRequired: false, reason: 'connection failed: ECONNREFUSED', latencyMs: 1 };

/**
 * A detect function answering by the Service whose pod is asked and the
 * path (`name/path`), recording what was asked in the same form.
 */
function scripted(answers: Record<string, DetectionResult>) {
  const asked: string[] = [];
  const detect = async (url: string): Promise<DetectionResult> => {
    const { hostname, pathname } = new URL(url);
    const key = `${serviceAtAddress(hostname) ?? hostname}${pathname}`;
    asked.push(key);
    const answer = answers[key] ?? DOWN;
    return { ...answer, endpoint: answer.protocol === 'unknown' ? undefined! : url };
  };
  return { detect, asked };
}

function prober(api: FakeCluster, detect: (url: string) => Promise<DetectionResult>, extra: Partial<ConstructorParameters<typeof ClusterProber>[0]> = {}) {
  let tick = 0;
  return new ClusterProber({
    api,
    detect,
    clock: () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)),
    logger: silent,
    sleep: async () => {},
    ...extra,
  });
}

describe('ClusterProber.probeAll', () => {
  it('marks an SSE Service and its Deployment, and records sseConfigApplied once the webhook acted', async () => {
    const api = new FakeCluster().add(service('team', 'legacy'), deployment('team', 'legacy', 'legacy'));
    const { detect, asked } = scripted({ 'legacy/sse': SSE });
    const summary = await prober(api, detect).probeAll();

    // The pod the Service selects, at each default path; the Service URL is what is recorded.
    assert.deepEqual(asked, ['legacy/mcp', 'legacy/sse']);
    assert.equal(summary.errors, 0);
    const dep = api.deployments.get('team/legacy')!;
    assert.equal(dep.metadata!.annotations![Annotations.detectedProtocol], 'sse');
    assert.deepEqual(api.status('Deployment', 'team', 'legacy'), {
      protocol: 'sse',
      protocolVersion: '2024-11-05',
      endpoint: 'http://legacy.team.svc.cluster.local:8080/sse',
      detectedAt: '2026-01-01T00:00:00.000Z',
      observedGeneration: 2,
      sseConfigApplied: true,
      reason: 'HTTP+SSE (legacy)',
    });
    assert.equal(api.status('Service', 'team', 'legacy')?.sseConfigApplied, true);
    // Written twice each: the status, then sseConfigApplied after the webhook's UPDATE.
    assert.equal(api.patches.filter((p) => p.key === 'team/legacy' && p.kind === 'Deployment').length, 2);
    assert.deepEqual(
      api.events.filter((e) => e.involvedObject.kind === 'Deployment').map((e) => e.reason),
      ['TransportDetected', 'SSEConfigApplied'],
    );
  });

  it('a second pass over unchanged servers writes nothing', async () => {
    const api = new FakeCluster().add(service('team', 'modern'), deployment('team', 'modern', 'modern'));
    const { detect } = scripted({ 'modern/mcp': HTTP });
    await prober(api, detect).probeAll();
    const writes = api.patches.length;
    const events = api.events.length;
    await prober(api, detect).probeAll();
    assert.equal(api.patches.length, writes);
    assert.equal(api.events.length, events);
    assert.equal(api.status('Service', 'team', 'modern')?.sseConfigApplied, undefined);
  });

  it('one bad server never stops the rest', async () => {
    const api = new FakeCluster().add(
      service('a', 'broken'),
      deployment('a', 'broken', 'broken'),
      service('a', 'good'),
      deployment('a', 'good', 'good'),
      service('b', 'unlistable'),
      service('b', 'forbidden'),
    );
    api.failures.set('patchService a/broken', [new ApiError(403, 'forbidden')]);
    // No list in all namespaces, and namespace b not readable either.
    api.failures.set('listDeployments *', [new ApiError(403, 'forbidden')]);
    api.failures.set('listDeployments b', [new ApiError(403, 'forbidden')]);
    const { detect } = scripted({ 'broken/mcp': HTTP, 'good/mcp': HTTP, 'unlistable/mcp': HTTP, 'forbidden/mcp': HTTP });
    const summary = await prober(api, async (url) => {
      if (serviceAtAddress(new URL(url).hostname) === 'forbidden') throw new Error('detect blew up');
      return detect(url);
    }).probeAll();

    assert.equal(api.deployments.get('a/good')!.metadata!.annotations![Annotations.detectedProtocol], 'streamable-http');
    assert.equal(api.deployments.get('a/broken')!.metadata!.annotations![Annotations.detectedProtocol], 'streamable-http');
    assert.equal(api.services.get('b/unlistable')!.metadata!.annotations![Annotations.detectedProtocol], 'streamable-http');
    assert.equal(api.services.get('b/forbidden')!.metadata!.annotations![Annotations.detectedProtocol], 'unknown');
    assert.ok(summary.errors >= 2, `errors: ${summary.errors}`);
  });

  it('retries a conflict by re-reading, and transient API errors by backing off', async () => {
    const api = new FakeCluster().add(service('t', 's'), deployment('t', 's', 's'));
    api.failures.set('patchService t/s', [new ApiError(503), new ApiError(429)]);
    const { detect } = scripted({ 's/mcp': HTTP });
    // Someone else changes the Deployment after we listed it: our first write is stale.
    const slowDetect = async (url: string) => {
      api.touch('Deployment', 't', 's', (d) => (d.metadata!.annotations!['team'] = 'blue'));
      return detect(url);
    };
    const summary = await prober(api, slowDetect).probeAll();
    assert.equal(summary.errors, 0);
    const dep = api.deployments.get('t/s')!;
    assert.equal(dep.metadata!.annotations![Annotations.detectedProtocol], 'streamable-http');
    assert.equal(dep.metadata!.annotations!['team'], 'blue');
  });

  it('a failed probe keeps the known protocol and emits a Warning', async () => {
    const api = new FakeCluster().add(service('t', 's'), deployment('t', 's', 's'));
    await prober(api, scripted({ 's/mcp': HTTP }).detect).probeAll();
    api.events = [];
    await prober(api, scripted({}).detect).probeAll();
    assert.equal(api.services.get('t/s')!.metadata!.annotations![Annotations.detectedProtocol], 'streamable-http');
    assert.deepEqual(
      api.events.map((e) => [e.type, e.reason]),
      [
        ['Warning', 'ProbeFailed'],
        ['Warning', 'ProbeFailed'],
      ],
    );
    assert.match(api.events[0]!.message!, /keeping detected streamable-http: \/mcp: connection failed.*\/sse: connection failed/);
  });

  it('a changed transport is announced', async () => {
    const api = new FakeCluster().add(service('t', 's'));
    await prober(api, scripted({ 's/sse': SSE }).detect).probeAll();
    await prober(api, scripted({ 's/mcp': HTTP }).detect).probeAll();
    assert.equal(api.events.at(-1)?.reason, 'TransportChanged');
    assert.match(api.events.at(-1)!.message!, /from sse to streamable-http/);
  });

  it('auth-required stops at the first path and is recorded as unknown', async () => {
    const api = new FakeCluster().add(service('t', 's'));
    const { detect, asked } = scripted({ 's/mcp': { protocol: 'unknown', authRequired: true, reason: 'POST answered HTTP 401', latencyMs: 1 } });
    await prober(api, detect).probeAll();
    assert.equal(asked.length, 1);
    assert.equal(api.status('Service', 't', 's')?.reason, 'POST answered HTTP 401');
  });

  it('skips system namespaces and the excluded ones', async () => {
    const api = new FakeCluster().add(service('kube-system', 'x'), service('mcp-admission', 'y'), service('team', 'z'));
    const { detect, asked } = scripted({ 'z/mcp': HTTP });
    const summary = await prober(api, detect, { excludedNamespaces: ['mcp-admission'] }).probeAll();
    assert.deepEqual(summary.services.map((s) => s.name), ['z']);
    assert.ok(asked.every((key) => key.startsWith('z/')), asked.join());
  });

  it('keeps at most `concurrency` probes in flight', async () => {
    const api = new FakeCluster();
    for (let i = 0; i < 12; i++) api.add(service('t', `s${i}`));
    let inFlight = 0;
    let peak = 0;
    await prober(
      api,
      async (url) => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return { ...HTTP, endpoint: url };
      },
      { concurrency: 3 },
    ).probeAll();
    assert.equal(peak, 3);
  });
});

describe('ClusterProber.syncDeployment', () => {
  it('copies the Service result onto a new Deployment without probing', async () => {
    const api = new FakeCluster().add(service('t', 's'));
    const p = prober(api, scripted({ 's/mcp': HTTP }).detect);
    await p.probeAll();
    api.add(deployment('t', 'late', 's'));
    const outcome = await p.syncDeployment(api.deployments.get('t/late')!, [...api.services.values()]);
    assert.equal(outcome?.transition, 'detected');
    assert.equal(api.status('Deployment', 't', 'late')?.protocol, 'streamable-http');
    assert.equal(api.status('Deployment', 't', 'late')?.detectedAt, api.status('Service', 't', 's')?.detectedAt);
  });
});

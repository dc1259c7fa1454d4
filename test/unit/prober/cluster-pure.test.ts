/** The pure parts of the cluster prober: URLs, selection, status plans, events, retries. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import { Annotations } from '../../../src/contract.ts';
import { mapConcurrent } from '../../../src/prober/concurrency.ts';
import { transitionEvent } from '../../../src/prober/events.ts';
import { withRetry } from '../../../src/prober/retry.ts';
import { selectedDeployments, selectsDeployment } from '../../../src/prober/selection.ts';
import { probeTargets } from '../../../src/prober/service-endpoint.ts';
import { planStatus, readTransportStatus, sseSettingsVisible, type DetectionSummary } from '../../../src/prober/transport-status.ts';
import { ApiError, deployment, service } from '../../support/fake-cluster.ts';

const domain = { clusterDomain: 'cluster.local' };

describe('probeTargets', () => {
  const cases: Array<{ name: string; svc: Parameters<typeof service>; fallback?: Record<string, string>; want: string[] | RegExp }> = [
    { name: 'port named http, default paths', svc: ['team', 'weather'], want: ['http://weather.team.svc.cluster.local:8080/mcp', 'http://weather.team.svc.cluster.local:8080/sse'] },
    {
      name: 'port named mcp preferred over the first port',
      svc: ['team', 'w', { ports: [{ name: 'metrics', port: 9090 }, { name: 'mcp', port: 3000 }] }],
      want: ['http://w.team.svc.cluster.local:3000/mcp', 'http://w.team.svc.cluster.local:3000/sse'],
    },
    { name: 'mcp before http', svc: ['t', 'w', { ports: [{ name: 'http', port: 80 }, { name: 'mcp', port: 3000 }] }], want: /:3000\/mcp$/ },
    { name: 'first port when none is named mcp or http', svc: ['t', 'w', { ports: [{ name: 'web', port: 81 }, { name: 'x', port: 82 }] }], want: /:81\/mcp$/ },
    { name: 'port annotation by name', svc: ['t', 'w', { ports: [{ name: 'http', port: 80 }, { name: 'alt', port: 8000 }] }, { [Annotations.port]: 'alt' }], want: /:8000\/mcp$/ },
    { name: 'port annotation by number', svc: ['t', 'w', { ports: [{ name: 'http', port: 80 }, { name: 'alt', port: 8000 }] }, { [Annotations.port]: '8000' }], want: /:8000\/mcp$/ },
    { name: 'port annotation naming no port', svc: ['t', 'w', {}, { [Annotations.port]: 'nope' }], want: /names no port of the Service/ },
    { name: 'path annotation is the only path', svc: ['t', 'w', {}, { [Annotations.path]: '/v1/mcp' }], want: ['http://w.t.svc.cluster.local:8080/v1/mcp'] },
    { name: 'path annotation must start with /', svc: ['t', 'w', {}, { [Annotations.path]: 'mcp' }], want: /must start with \// },
    { name: 'path from the Deployment when the Service has none', svc: ['t', 'w'], fallback: { [Annotations.path]: '/sse' }, want: ['http://w.t.svc.cluster.local:8080/sse'] },
    { name: 'https by appProtocol', svc: ['t', 'w', { ports: [{ name: 'mcp', port: 443, appProtocol: 'https' }] }], want: /^https:\/\/w\.t\.svc\.cluster\.local:443\/mcp$/ },
    { name: 'no ports', svc: ['t', 'w', { ports: [] }], want: /no ports/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = probeTargets(service(...c.svc), { ...domain, ...(c.fallback ? { fallbackAnnotations: c.fallback } : {}) });
      if (Array.isArray(c.want)) assert.deepEqual('urls' in got && got.urls, c.want);
      else if ('urls' in got) assert.match(got.urls[0]!, c.want);
      else assert.match(got.error, c.want);
    });
  }

  it('uses the cluster domain given', () => {
    const got = probeTargets(service('t', 'w', {}, { [Annotations.path]: '/mcp' }), { clusterDomain: 'corp.internal' });
    assert.deepEqual('urls' in got && got.urls, ['http://w.t.svc.corp.internal:8080/mcp']);
  });
});

describe('selectsDeployment with keys Object.prototype has', () => {
  it('matches own labels only', () => {
    for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      const svc = service('t', 's', { selector: JSON.parse(`{${JSON.stringify(key)}: "x"}`) });
      const without = deployment('t', 'd', 'x');
      assert.equal(selectsDeployment(svc, without), false, `${key} absent`);
      const withIt = deployment('t', 'd', 'x');
      withIt.spec!.template.metadata!.labels = JSON.parse(`{${JSON.stringify(key)}: "x"}`);
      assert.equal(selectsDeployment(svc, withIt), true, `${key} present`);
    }
  });
});

describe('selectsDeployment', () => {
  const dep = (ns: string, labels: Record<string, string>): V1Deployment => {
    const d = deployment(ns, 'd', 'x');
    d.spec!.template.metadata!.labels = labels;
    return d;
  };
  const cases: Array<{ name: string; selector: Record<string, string>; labels: Record<string, string>; ns: string; want: boolean }> = [
    { name: 'all selector labels present', selector: { app: 'a' }, labels: { app: 'a', tier: 'web' }, ns: 't', want: true },
    { name: 'a label differs', selector: { app: 'a', tier: 'db' }, labels: { app: 'a', tier: 'web' }, ns: 't', want: false },
    { name: 'a label missing', selector: { app: 'a', v: '1' }, labels: { app: 'a' }, ns: 't', want: false },
    { name: 'empty selector selects nothing', selector: {}, labels: { app: 'a' }, ns: 't', want: false },
    { name: 'another namespace', selector: { app: 'a' }, labels: { app: 'a' }, ns: 'other', want: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(selectsDeployment(service('t', 's', { selector: c.selector }), dep(c.ns, c.labels)), c.want);
    });
  }
  it('filters a list', () => {
    const list = [deployment('t', 'a', 'a'), deployment('t', 'b', 'b')];
    assert.deepEqual(selectedDeployments(service('t', 'b'), list).map((d) => d.metadata?.name), ['b']);
  });
});

describe('sseSettingsVisible', () => {
  const safe = () => {
    const d = deployment('t', 'd', 'd');
    d.spec!.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } };
    d.spec!.template.spec!.terminationGracePeriodSeconds = 120;
    return d;
  };
  const cases: Array<{ name: string; change: (d: V1Deployment) => void; want: boolean }> = [
    { name: 'RollingUpdate, maxUnavailable 0, grace 120', change: () => {}, want: true },
    { name: 'maxUnavailable "0%"', change: (d) => (d.spec!.strategy!.rollingUpdate!.maxUnavailable = '0%'), want: true },
    { name: 'maxUnavailable 25%', change: (d) => (d.spec!.strategy!.rollingUpdate!.maxUnavailable = '25%'), want: false },
    { name: 'Recreate', change: (d) => (d.spec!.strategy = { type: 'Recreate' }), want: false },
    { name: 'grace below 30', change: (d) => (d.spec!.template.spec!.terminationGracePeriodSeconds = 10), want: false },
    { name: 'grace exactly 30', change: (d) => (d.spec!.template.spec!.terminationGracePeriodSeconds = 30), want: true },
    {
      name: 'grace below the annotation',
      change: (d) => (d.metadata!.annotations![Annotations.terminationGracePeriodSeconds] = '300'),
      want: false,
    },
    {
      name: 'grace meets the annotation',
      change: (d) => {
        d.metadata!.annotations![Annotations.terminationGracePeriodSeconds] = '300';
        d.spec!.template.spec!.terminationGracePeriodSeconds = 300;
      },
      want: true,
    },
  ];
  for (const c of cases) {
    it(`Deployment: ${c.name}`, () => {
      const d = safe();
      c.change(d);
      assert.equal(sseSettingsVisible({ kind: 'Deployment', object: d }), c.want);
    });
  }
  it('Service: ClientIP affinity, or opted out', () => {
    assert.equal(sseSettingsVisible({ kind: 'Service', object: service('t', 's', { sessionAffinity: 'ClientIP' }) }), true);
    assert.equal(sseSettingsVisible({ kind: 'Service', object: service('t', 's', { sessionAffinity: 'None' }) }), false);
    assert.equal(
      sseSettingsVisible({ kind: 'Service', object: service('t', 's', { sessionAffinity: 'None' }, { [Annotations.sessionAffinity]: 'false' }) }),
      true,
    );
  });
});

describe('planStatus', () => {
  const sse: DetectionSummary = { protocol: 'sse', protocolVersion: '2024-11-05', endpoint: 'http://s/sse', reason: 'HTTP+SSE' };
  const http: DetectionSummary = { protocol: 'streamable-http', protocolVersion: '2025-11-25', endpoint: 'http://s/mcp', reason: 'Streamable HTTP' };
  const failed: DetectionSummary = { protocol: 'unknown', reason: 'connection failed: ECONNREFUSED' };
  const t0 = '2026-01-01T00:00:00.000Z';
  const t1 = '2026-01-01T01:00:00.000Z';
  const withStatus = (detection: DetectionSummary, extra: Record<string, unknown> = {}) => {
    const d = deployment('t', 'd', 'd');
    const first = planStatus({ kind: 'Deployment', object: d }, detection, { detectedAt: t0, refresh: false });
    d.metadata!.annotations = { ...first.annotations, ...(extra as Record<string, string>) };
    return d;
  };

  it('first detection writes both annotations', () => {
    const plan = planStatus({ kind: 'Deployment', object: deployment('t', 'd', 'd') }, http, { detectedAt: t0, refresh: false });
    assert.equal(plan.transition, 'detected');
    assert.equal(plan.annotations?.[Annotations.detectedProtocol], 'streamable-http');
    assert.deepEqual(JSON.parse(plan.annotations![Annotations.transportStatus]!), {
      protocol: 'streamable-http',
      protocolVersion: '2025-11-25',
      endpoint: 'http://s/mcp',
      detectedAt: t0,
      observedGeneration: 1,
      reason: 'Streamable HTTP',
    });
  });

  it('SSE on an object without the settings records sseConfigApplied: false', () => {
    const plan = planStatus({ kind: 'Deployment', object: deployment('t', 'd', 'd') }, sse, { detectedAt: t0, refresh: false });
    assert.equal(plan.status.sseConfigApplied, false);
  });

  it('an identical result is not rewritten', () => {
    const plan = planStatus({ kind: 'Deployment', object: withStatus(http) }, http, { detectedAt: t1, refresh: false });
    assert.equal(plan.transition, 'unchanged');
    assert.equal(plan.annotations, undefined);
  });

  it('revalidate (refresh) rewrites detectedAt and announces the result', () => {
    const plan = planStatus({ kind: 'Deployment', object: withStatus(http) }, http, { detectedAt: t1, refresh: true });
    assert.equal(plan.transition, 'detected');
    assert.equal(plan.status.detectedAt, t1);
  });

  it('a different protocol is a change', () => {
    const plan = planStatus({ kind: 'Deployment', object: withStatus(sse) }, http, { detectedAt: t1, refresh: false });
    assert.equal(plan.transition, 'changed');
    assert.equal(plan.previous?.protocol, 'sse');
  });

  it('a failed probe keeps a known protocol', () => {
    const plan = planStatus({ kind: 'Deployment', object: withStatus(sse) }, failed, { detectedAt: t1, refresh: false });
    assert.equal(plan.transition, 'failed');
    assert.equal(plan.kept, true);
    assert.equal(plan.annotations, undefined);
  });

  it('a failed first probe records unknown with the reason', () => {
    const plan = planStatus({ kind: 'Deployment', object: deployment('t', 'd', 'd') }, failed, { detectedAt: t0, refresh: false });
    assert.equal(plan.transition, 'failed');
    assert.equal(plan.annotations?.[Annotations.detectedProtocol], 'unknown');
    assert.equal(plan.status.reason, 'connection failed: ECONNREFUSED');
  });

  it('the SSE settings appearing flips sseConfigApplied, keeping detectedAt', () => {
    const d = withStatus(sse);
    d.spec!.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } };
    d.spec!.template.spec!.terminationGracePeriodSeconds = 120;
    d.metadata!.generation = 2;
    const plan = planStatus({ kind: 'Deployment', object: d }, sse, { detectedAt: t1, refresh: false });
    assert.equal(plan.transition, 'sse-config-applied');
    assert.equal(plan.status.sseConfigApplied, true);
    assert.equal(plan.status.observedGeneration, 2);
    assert.equal(plan.status.detectedAt, t0);
  });

  it('readTransportStatus ignores malformed values', () => {
    assert.equal(readTransportStatus({ [Annotations.transportStatus]: 'not json' }), undefined);
    assert.equal(readTransportStatus({ [Annotations.transportStatus]: '{"protocol":"carrier-pigeon","detectedAt":"x","reason":""}' }), undefined);
    assert.equal(readTransportStatus(undefined), undefined);
  });
});

describe('transitionEvent', () => {
  it('is a Warning for a failure and nothing for an unchanged status', () => {
    const target = { kind: 'Service' as const, object: service('t', 's') };
    const failed = planStatus(target, { protocol: 'unknown', reason: 'timed out' }, { detectedAt: 'x', refresh: false });
    const event = transitionEvent(target, failed, 'timed out', new Date(0), 'pod-1');
    assert.equal(event?.type, 'Warning');
    assert.equal(event?.reason, 'ProbeFailed');
    assert.deepEqual(event?.involvedObject, { apiVersion: 'v1', kind: 'Service', name: 's', namespace: 't', uid: 'uid-s', resourceVersion: '1' });
    assert.equal(transitionEvent(target, { ...failed, transition: 'unchanged' }, '', new Date(0), 'pod-1'), undefined);
  });
});

describe('mapConcurrent and withRetry', () => {
  it('never runs more than the limit at once and keeps order', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapConcurrent([...Array(20).keys()], 4, async (n) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      return n * 2;
    });
    assert.equal(peak, 4);
    assert.deepEqual(out, [...Array(20).keys()].map((n) => n * 2));
  });

  it('retries transient errors with growing delays, not permanent ones', async () => {
    const delays: number[] = [];
    const sleep = async (ms: number) => void delays.push(ms);
    let calls = 0;
    const value = await withRetry(
      async () => {
        if (++calls < 3) throw new ApiError(503);
        return 'ok';
      },
      { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 },
      sleep,
      () => 1,
    );
    assert.equal(value, 'ok');
    assert.deepEqual(delays, [100, 200]);
    calls = 0;
    await assert.rejects(withRetry(async () => { calls++; throw new ApiError(403); }, { attempts: 5, baseDelayMs: 1, maxDelayMs: 1 }, sleep));
    assert.equal(calls, 1);
  });
});

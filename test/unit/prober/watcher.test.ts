/** `probe --watch` logic with hand-driven object sources in place of informers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject, V1Deployment, V1Service } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Annotations } from '../../../src/contract.ts';
import type { ObjectSource } from '../../../src/prober/cluster-api.ts';
import { ClusterProber } from '../../../src/prober/cluster-prober.ts';
import type { DetectionResult } from '../../../src/prober/detect.ts';
import { ProbeWatcher } from '../../../src/prober/watcher.ts';
import { auditJudge } from '../../../src/cli/probe-judge.ts';
import { createProberMetrics } from '../../../src/prober/metrics.ts';
import { staticSettings } from '../../../src/settings/static-source.ts';
import { deployment, FakeCluster, service } from '../../support/fake-cluster.ts';

/** An informer stand-in whose cache reads through to the fake cluster. */
class FakeSource<T extends KubernetesObject> implements ObjectSource<T> {
  handlers: Record<string, Array<(o: never) => void>> = {};
  read: () => Map<string, T>;
  constructor(read: () => Map<string, T>) {
    this.read = read;
  }
  on(verb: string, callback: (o: never) => void): void {
    (this.handlers[verb] ??= []).push(callback);
  }
  emit(verb: 'add' | 'update' | 'delete', object: T): void {
    for (const handler of this.handlers[verb] ?? []) handler(structuredClone(object) as never);
  }
  async start(): Promise<void> {
    for (const object of this.read().values()) this.emit('add', object);
  }
  async stop(): Promise<void> {}
  get(name: string, namespace?: string): T | undefined {
    const found = this.read().get(`${namespace}/${name}`);
    return found && structuredClone(found);
  }
  list(namespace?: string): T[] {
    return [...this.read().values()].filter((o) => namespace === undefined || o.metadata?.namespace === namespace).map((o) => structuredClone(o));
  }
}

function setup(answer: (url: string) => DetectionResult) {
  const api = new FakeCluster().add(service('t', 's'), deployment('t', 's', 's'));
  const probes: string[] = [];
  const prober = new ClusterProber({
    api,
    detect: async (url) => {
      probes.push(url);
      return answer(url);
    },
    clock: () => new Date(),
    logger: pino({ level: 'silent' }),
    sleep: async () => {},
  });
  const services = new FakeSource<V1Service>(() => api.services);
  const deployments = new FakeSource<V1Deployment>(() => api.deployments);
  const watcher = new ProbeWatcher({ prober, sources: { services, deployments }, logger: pino({ level: 'silent' }), retryBaseMs: 20, retryMaxMs: 40 });
  return { api, probes, services, deployments, watcher };
}

const http = (url: string): DetectionResult => ({ protocol: 'streamable-http', protocolVersion: '2025-11-25', endpoint: url, authRequired: false, reason: 'Streamable HTTP', latencyMs: 1 });

describe('ProbeWatcher', () => {
  it('probes new servers, ignores its own writes, and re-probes on a revalidate change', async () => {
    const { api, probes, services, watcher } = setup(http);
    await watcher.start();
    await watcher.idle();
    assert.equal(probes.length, 1);
    assert.equal(api.status('Deployment', 't', 's')?.protocol, 'streamable-http');

    // Our own annotation write comes back as an update: no new probe.
    services.emit('update', api.services.get('t/s')!);
    await watcher.idle();
    assert.equal(probes.length, 1);

    const before = api.status('Service', 't', 's')?.detectedAt;
    await new Promise((r) => setTimeout(r, 5));
    api.touch('Service', 't', 's', (s) => (s.metadata!.annotations![Annotations.revalidate] = '1'));
    services.emit('update', api.services.get('t/s')!);
    await watcher.idle();
    assert.equal(probes.length, 2);
    assert.notEqual(api.status('Service', 't', 's')?.detectedAt, before);
    // Detected twice on the Service and on the Deployment: one Event each, counted twice.
    const detected = api.events.filter((e) => e.reason === 'TransportDetected');
    assert.deepEqual(detected.map((e) => [e.involvedObject.kind, e.count]).sort(), [['Deployment', 2], ['Service', 2]]);
    await watcher.stop();
  });

  it('a revalidate on the Deployment re-probes the Service that selects it', async () => {
    const { api, probes, deployments, watcher } = setup(http);
    await watcher.start();
    await watcher.idle();
    api.touch('Deployment', 't', 's', (d) => (d.metadata!.annotations![Annotations.revalidate] = 'please'));
    deployments.emit('update', api.deployments.get('t/s')!);
    await watcher.idle();
    assert.equal(probes.length, 2);
    await watcher.stop();
  });

  it('retries a failed probe with backoff', async () => {
    let calls = 0;
    const { api, watcher } = setup((url) =>
      ++calls <= 2 ? { protocol: 'unknown', authRequired: false, reason: 'connection failed: ECONNREFUSED', latencyMs: 1 } : http(url),
    );
    await watcher.start();
    const until = Date.now() + 2000;
    while (api.status('Service', 't', 's')?.protocol !== 'streamable-http' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(api.status('Service', 't', 's')?.protocol, 'streamable-http');
    await watcher.stop();
  });

  it('a new Deployment behind a probed Service gets the Service result without a probe', async () => {
    const { api, probes, deployments, watcher } = setup(http);
    await watcher.start();
    await watcher.idle();
    api.add(deployment('t', 'canary', 's'));
    deployments.emit('add', api.deployments.get('t/canary')!);
    await watcher.idle();
    assert.equal(probes.length, 1);
    assert.equal(api.status('Deployment', 't', 'canary')?.protocol, 'streamable-http');
    await watcher.stop();
  });

  it('runs the judged pass of --once at start and on demand, and probes nothing in an exempt namespace', async () => {
    const api = new FakeCluster().add(service('team', 'legacy'), deployment('team', 'legacy', 'legacy'), service('free', 'svc'), deployment('lonely', 'alone', 'alone'));
    // The Deployments stay as they are between passes (no mutating webhook on the prober's writes).
    api.webhook = false;
    const probes: string[] = [];
    const metrics = createProberMetrics({ served: true });
    const prober = new ClusterProber({
      api,
      detect: async (url) => {
        probes.push(url);
        return http(url);
      },
      clock: () => new Date(Date.UTC(2026, 0, 1)),
      logger: pino({ level: 'silent' }),
      sleep: async () => {},
      judge: auditJudge(async () => ({ settings: staticSettings([{ name: 'rollout', spec: { mode: 'warn', exemptNamespaces: ['free'] } }]), ownNamespace: 'mcp-admission' })),
      metrics,
    });
    const services = new FakeSource<V1Service>(() => api.services);
    const deployments = new FakeSource<V1Deployment>(() => api.deployments);
    // No timer fires in this test: the pass at start, then one asked for by hand.
    const watcher = new ProbeWatcher({ prober, sources: { services, deployments }, logger: pino({ level: 'silent' }), auditIntervalMs: 3_600_000 });
    await watcher.start();
    await watcher.idle();
    assert.equal(probes.length, 1, `probed: ${probes.join(', ')}`);
    assert.equal(api.status('Service', 'free', 'svc'), undefined, 'an exempt namespace is not probed');
    const noncompliant = () => api.events.filter((e) => e.reason === 'NonCompliant').map((e) => [e.involvedObject.namespace, e.involvedObject.kind, e.involvedObject.name, e.count]).sort();
    assert.deepEqual(noncompliant().filter(([, kind]) => kind === 'Deployment'), [['lonely', 'Deployment', 'alone', 1], ['team', 'Deployment', 'legacy', 1]]);
    watcher.runPass();
    await watcher.idle();
    // team/legacy is now known to speak Streamable HTTP, so the SSE rules no
    // longer apply: compliant, its Event not counted again, out of the gauge.
    assert.deepEqual(noncompliant().filter(([, kind]) => kind === 'Deployment'), [['lonely', 'Deployment', 'alone', 2], ['team', 'Deployment', 'legacy', 1]]);
    const text = await metrics.registry.metrics();
    assert.match(text, /^mcp_admission_prober_passes_total\{result="success"\} 2$/m);
    assert.match(text, /^mcp_admission_noncompliant_objects\{namespace="lonely",kind="Deployment",reason="would-warn"\} 1$/m);
    assert.doesNotMatch(text, /namespace="free"|namespace="team",kind="Deployment"/);
    await watcher.stop();
  });
});

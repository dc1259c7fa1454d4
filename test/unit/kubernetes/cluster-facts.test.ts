import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { DEPLOYMENT_FACTS_MEMBERS, deploymentFacts, InformerClusterFacts, withoutBookkeeping } from '../../../src/kubernetes/cluster-facts.ts';
import type { KubeClient, WatchEvent } from '../../../src/kubernetes/kube-client.ts';

describe('withoutBookkeeping (what the front-door caches keep)', () => {
  it('drops managed fields, kubectl\'s last-applied copy and the status, and keeps everything a lookup reads', () => {
    const stored = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'weather',
        namespace: 'tools',
        resourceVersion: '42',
        labels: { 'app.kubernetes.io/component': 'mcp-server' },
        annotations: {
          'mcp.example/transport': 'sse',
          'traefik.ingress.kubernetes.io/service.nativelb': 'true',
          'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"v1","kind":"Service"}',
        },
        managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
      },
      spec: { selector: { app: 'weather' }, sessionAffinity: 'ClientIP', ports: [{ port: 80 }] },
      status: { loadBalancer: {} },
    };
    const kept = withoutBookkeeping(structuredClone(stored));
    const { managedFields: _managedFields, ...metadata } = stored.metadata;
    const { 'kubectl.kubernetes.io/last-applied-configuration': _lastApplied, ...annotations } = stored.metadata.annotations;
    assert.deepEqual(kept, { apiVersion: 'v1', kind: 'Service', metadata: { ...metadata, annotations }, spec: stored.spec });
  });

  it('takes an object with no metadata or annotations as it is', () => {
    assert.deepEqual(withoutBookkeeping({}), {});
    assert.deepEqual(withoutBookkeeping({ metadata: { name: 'a' } }), { metadata: { name: 'a' } });
  });
});

describe('deploymentFacts (what the Deployment cache keeps)', () => {
  it('keeps the informer\'s keys, the mcp-admission annotations and the pod template\'s labels, and nothing else', () => {
    const stored = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'weather',
        namespace: 'tools',
        uid: '5d2c',
        resourceVersion: '42',
        generation: 3,
        labels: { 'app.kubernetes.io/component': 'mcp-server' },
        annotations: {
          'mcp-admission.dev/protocol': 'auto',
          'mcp-admission.dev/detected-protocol': 'sse',
          'deployment.kubernetes.io/revision': '2',
          'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"apps/v1","kind":"Deployment"}',
        },
        managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
      },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'weather' } },
        template: {
          metadata: { labels: { app: 'weather' }, annotations: { 'example.com/checksum': 'abc' } },
          spec: { containers: [{ name: 'server', image: 'ghcr.io/example/weather:1', env: [{ name: 'TOKEN', value: 'x' }] }] },
        },
      },
      status: { replicas: 2 },
    };
    assert.deepEqual(deploymentFacts(stored), {
      metadata: {
        name: 'weather',
        namespace: 'tools',
        resourceVersion: '42',
        annotations: { 'mcp-admission.dev/protocol': 'auto', 'mcp-admission.dev/detected-protocol': 'sse' },
      },
      spec: { template: { metadata: { labels: { app: 'weather' } } } },
    });
  });

  it('keeps no annotations where there are none of ours, and what is not a map as it is, for the shape check to refuse', () => {
    const kept = deploymentFacts({ metadata: { name: 'a', annotations: { 'example.com/x': 'y' } }, spec: {} });
    assert.equal(kept.metadata.annotations, undefined);
    assert.equal(kept.spec.template.metadata.labels, undefined);
    assert.equal(deploymentFacts({ metadata: { name: 'a', annotations: 'sse' } }).metadata.annotations, 'sse');
    assert.deepEqual(deploymentFacts({ spec: { template: { metadata: { labels: ['app'] } } } }).spec.template.metadata.labels, ['app']);
  });
});

/**
 * A client that answers each collection's list from `stored` and keeps each
 * watch open until stopped, handing the test its event callback: the caches'
 * lookups, without an API server (the informer's protocol is
 * list-watch.test.ts's, against a stand-in; serve's facts against a real one
 * are test/e2e's).
 */
function scriptedClient(stored: Record<string, object[]>) {
  const watchers = new Map<string, (event: WatchEvent) => void>();
  const watchOptions = new Map<string, { members?: unknown }>();
  const client = {
    get: async (path: string) => ({ metadata: { resourceVersion: '1' }, items: structuredClone(stored[path] ?? []) }),
    watch: (path: string, _query: unknown, onEvent: (event: WatchEvent) => void, options: { signal?: AbortSignal; members?: unknown } = {}) => {
      watchers.set(path, onEvent);
      watchOptions.set(path, options);
      return new Promise<void>((resolve) => options.signal?.addEventListener('abort', () => resolve(), { once: true }));
    },
  };
  return { client: client as unknown as KubeClient, watchers, watchOptions };
}

const DEPLOYMENTS = '/apis/apps/v1/deployments';
const SERVICES = '/api/v1/services';
const deployment = (name: string, resourceVersion: string, protocol: string) => ({
  metadata: { name, namespace: 'tools', resourceVersion, labels: { app: name }, annotations: { 'mcp-admission.dev/protocol': protocol } },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'server', image: 'ghcr.io/example/weather:1' }] } } },
});
const service = { metadata: { name: 'weather', namespace: 'tools', resourceVersion: '3' }, spec: { selector: { app: 'weather' }, ports: [{ port: 80 }] } };

describe('InformerClusterFacts lookups', () => {
  const started = async (stored: Record<string, object[]>) => {
    const { client, watchers, watchOptions } = scriptedClient(stored);
    const facts = new InformerClusterFacts({ client, logger: pino({ level: 'silent' }) });
    await facts.start();
    return { facts, watchers, watchOptions };
  };

  it('watch the Deployments for the members deploymentFacts reads only, and every other kind whole', async () => {
    const { facts, watchOptions } = await started({});
    try {
      assert.equal(watchOptions.get(DEPLOYMENTS)?.members, DEPLOYMENT_FACTS_MEMBERS);
      assert.equal(watchOptions.get(SERVICES)?.members, undefined);
    } finally {
      await facts.stop();
    }
  });

  it('answer the cached objects, checked once while they stay cached, not a new copy per lookup', async () => {
    const { facts } = await started({ [DEPLOYMENTS]: [deployment('weather', '1', 'sse'), deployment('clock', '2', 'streamable-http')], [SERVICES]: [service] });
    try {
      const first = facts.deployments('tools');
      assert.deepEqual(first.map((d) => d.metadata.name).sort(), ['clock', 'weather']);
      const again = facts.deployments('tools');
      for (const [i, d] of first.entries()) assert.equal(again[i], d, 'the same object on every lookup');
      assert.equal(facts.service('tools', 'weather'), facts.service('tools', 'weather'));
      assert.deepEqual(facts.service('tools', 'weather'), service);
    } finally {
      await facts.stop();
    }
  });

  it('answer a changed object as changed, and leave out one that does not match its shape, until it does', async () => {
    const { facts, watchers } = await started({ [DEPLOYMENTS]: [deployment('weather', '1', 'sse')] });
    try {
      assert.equal(facts.deployments('tools')[0]?.metadata.annotations?.['mcp-admission.dev/protocol'], 'sse');
      watchers.get(DEPLOYMENTS)!({ type: 'MODIFIED', object: deployment('weather', '2', 'streamable-http') });
      assert.equal(facts.deployments('tools')[0]?.metadata.annotations?.['mcp-admission.dev/protocol'], 'streamable-http');
      const broken = deployment('weather', '3', 'sse') as { spec: { template: { metadata: { labels: unknown } } } };
      broken.spec.template.metadata.labels = { app: 7 };
      watchers.get(DEPLOYMENTS)!({ type: 'MODIFIED', object: broken as unknown as Record<string, unknown> });
      assert.deepEqual(facts.deployments('tools'), []);
      assert.deepEqual(facts.deployments('tools'), []);
      watchers.get(DEPLOYMENTS)!({ type: 'MODIFIED', object: deployment('weather', '4', 'sse') });
      assert.deepEqual(facts.deployments('tools'), [deploymentFacts(deployment('weather', '4', 'sse'))]);
      assert.equal(facts.service('tools', 'weather'), undefined);
      watchers.get(SERVICES)!({ type: 'ADDED', object: { ...service, spec: { ports: 'eighty' } } });
      assert.equal(facts.service('tools', 'weather'), undefined);
    } finally {
      await facts.stop();
    }
  });
});

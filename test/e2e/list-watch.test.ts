/**
 * The informer (src/kubernetes/list-watch.ts) on a real kube-apiserver: a
 * list in pages (limit/continue, here 2 a page so the API server must hand
 * out continue tokens), a label selector the API server applies, and a watch
 * from the list's resourceVersion that delivers adds, updates and deletes
 * of the selected objects only. The expired-version (410) and broken-stream
 * cases are scripted in test/unit/kubernetes/list-watch.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mustSucceed, startE2E, type E2E } from '../support/harness.ts';
import { loadKubeAccess } from '../../src/kubernetes/kube-access.ts';
import { KubeClient } from '../../src/kubernetes/kube-client.ts';
import { ListWatchInformer, type CachedObject } from '../../src/kubernetes/list-watch.ts';

type Namespace = CachedObject & { metadata: { name: string; labels?: Record<string, string> } };

const waitFor = async (what: string, check: () => boolean): Promise<void> => {
  for (const started = performance.now(); !check(); await new Promise((resolve) => setTimeout(resolve, 50))) {
    assert.ok(performance.now() - started < 30_000, `${what}: not within 30 s`);
  }
};

describe('the informer on a real API server', () => {
  let env: E2E;
  let client: KubeClient | undefined;
  let informer: ListWatchInformer<Namespace> | undefined;
  before(async () => {
    env = await startE2E({ webhook: false, clusterPolicies: false });
    const namespaces = Array.from({ length: 5 }, (_, i) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `lw-${i}`, labels: { 'lw-test': 'yes' } } }));
    const applied = await env.apply([...namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lw-other' } }]);
    assert.equal(applied.code, 0, applied.stderr);
    client = new KubeClient(await loadKubeAccess({ kubeconfig: env.controlPlane.kubeconfig }));
  });
  after(async () => {
    await informer?.stop();
    await client?.access.close();
    await env?.stop();
  });

  it('lists the selected objects in pages, then watches them from the list\'s version', async () => {
    informer = new ListWatchInformer<Namespace>({ client: client as KubeClient, path: '/api/v1/namespaces', labelSelector: 'lw-test=yes', pageSize: 2 });
    const events: string[] = [];
    let connected = false;
    informer.on('add', (n) => events.push(`add ${n.metadata.name}`));
    informer.on('update', (n) => events.push(`update ${n.metadata.name} ${n.metadata.labels?.extra ?? ''}`));
    informer.on('delete', (n) => events.push(`delete ${n.metadata.name}`));
    informer.on('connect', () => (connected = true));
    await informer.start();
    assert.deepEqual(informer.list().map((n) => n.metadata.name).sort(), ['lw-0', 'lw-1', 'lw-2', 'lw-3', 'lw-4']);
    assert.equal(informer.get('lw-other'), undefined, 'the label selector applies');
    await waitFor('the watch', () => connected);

    events.length = 0;
    await mustSucceed(env.kubectl, ['label', 'namespace', 'lw-2', 'extra=1']);
    await mustSucceed(env.kubectl, ['label', 'namespace', 'lw-other', 'lw-test=yes']);
    await waitFor('the update and the newly selected namespace', () => events.length >= 2);
    assert.deepEqual(events.slice(0, 2), ['update lw-2 1', 'add lw-other']);
    // A namespace leaving the selection arrives as a delete (the API server filters the watch).
    await mustSucceed(env.kubectl, ['label', 'namespace', 'lw-3', 'lw-test-']);
    await waitFor('the namespace that left the selection', () => events.includes('delete lw-3'));
    assert.deepEqual(informer.list().map((n) => n.metadata.name).sort(), ['lw-0', 'lw-1', 'lw-2', 'lw-4', 'lw-other']);
  });
});

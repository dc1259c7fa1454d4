/**
 * The informer's list and watch protocol, against a stand-in API server
 * (node:http on loopback): the cases a real kube-apiserver produces only by
 * chance or after minutes (an expired resourceVersion once etcd compacts, a
 * watch that breaks mid-stream, pages of a list) are scripted here. The
 * informer against a real API server is in test/e2e (kube-connections,
 * serve-modules, webhook-down).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { KubeClient } from '../../../src/kubernetes/kube-client.ts';
import { startStandInApiServer, type StandInApiServer } from '../../support/stand-in-api-server.ts';
import { ListWatchInformer, MIN_WATCH_TIMEOUT_SECONDS } from '../../../src/kubernetes/list-watch.ts';

type Obj = { metadata: { name: string; namespace?: string; resourceVersion: string } };
const obj = (name: string, resourceVersion: string, namespace?: string): Obj => ({ metadata: { name, resourceVersion, ...(namespace ? { namespace } : {}) } });

/** What the stand-in answers: each request is handed to the test's handler in turn. */
type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

const waitFor = async (what: string, check: () => boolean): Promise<void> => {
  for (let i = 0; !check(); i += 1) {
    assert.ok(i < 2000, `${what}: not after 2000 turns`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('ListWatchInformer', () => {
  let standIn: StandInApiServer;
  let client: KubeClient;
  let handler: Handler = (_req, res) => res.end();
  const requests: URL[] = [];
  before(async () => {
    standIn = await startStandInApiServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      requests.push(url);
      handler(req, res, url);
    });
    client = standIn.client;
  });
  after(() => standIn.close());

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  /** Open watches, to push events into or end. */
  const watches: ServerResponse[] = [];
  const event = (res: ServerResponse, type: string, object: unknown): void => {
    res.write(`${JSON.stringify({ type, object })}\n`);
  };
  /** Answers a watch and keeps it open, for the test to write events to (`watches`). */
  const holdWatch = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    watches.push(res);
  };

  it('lists page by page, then watches from the list\'s version with bookmarks, selectors and a randomized timeout', async () => {
    requests.length = 0;
    handler = (_req, res, url) => {
      if (url.searchParams.get('watch') === 'true') return holdWatch(res);
      if (!url.searchParams.get('continue')) json(res, 200, { metadata: { resourceVersion: '10', continue: 'page2' }, items: [obj('a', '5', 'ns1'), obj('b', '6', 'ns1')] });
      else json(res, 200, { metadata: { resourceVersion: '10' }, items: [obj('c', '7', 'ns2')] });
    };
    const informer = new ListWatchInformer<Obj>({ client, path: '/api/v1/things', labelSelector: 'app=x', fieldSelector: 'metadata.name!=z', pageSize: 2, random: () => 0.5 });
    const seen: string[] = [];
    let connected = 0;
    informer.on('add', (o) => seen.push(`add ${o.metadata.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata.name}@${o.metadata.resourceVersion}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata.name}`));
    informer.on('connect', () => (connected += 1));
    await informer.start();
    assert.deepEqual(seen, ['add a', 'add b', 'add c']);
    assert.deepEqual(informer.list('ns1').map((o) => o.metadata.name), ['a', 'b']);
    assert.equal(informer.get('c', 'ns2')?.metadata.resourceVersion, '7');
    await waitFor('the watch', () => connected === 1);
    const [first, second, watch] = requests;
    assert.equal(first?.searchParams.get('limit'), '2');
    assert.equal(first?.searchParams.get('labelSelector'), 'app=x');
    assert.equal(second?.searchParams.get('continue'), 'page2');
    assert.equal(watch?.searchParams.get('resourceVersion'), '10');
    assert.equal(watch?.searchParams.get('allowWatchBookmarks'), 'true');
    assert.equal(watch?.searchParams.get('fieldSelector'), 'metadata.name!=z');
    assert.equal(watch?.searchParams.get('timeoutSeconds'), String(Math.floor(MIN_WATCH_TIMEOUT_SECONDS * 1.5)));

    const open = watches.at(-1) as ServerResponse;
    event(open, 'MODIFIED', obj('a', '11', 'ns1'));
    event(open, 'BOOKMARK', { metadata: { resourceVersion: '12' } });
    event(open, 'DELETED', obj('b', '13', 'ns1'));
    await waitFor('the events', () => seen.length === 5);
    assert.deepEqual(seen.slice(3), ['update a@11', 'delete b']);
    // The server ends the watch (its timeoutSeconds): watched again from the last version, no relist.
    const before = requests.length;
    open.end();
    await waitFor('the next watch', () => connected === 2);
    assert.equal(requests.length, before + 1);
    assert.equal(requests.at(-1)?.searchParams.get('resourceVersion'), '13');
    await informer.stop();
  });

  it('stores what its transform makes of each listed and watched object', async () => {
    handler = (_req, res, url) => {
      if (url.searchParams.get('watch') === 'true') return holdWatch(res);
      json(res, 200, { metadata: { resourceVersion: '20' }, items: [{ ...obj('a', '15', 'ns'), bulk: 'x'.repeat(100) }] });
    };
    const informer = new ListWatchInformer<Obj & { bulk?: string }>({
      client,
      path: '/api/v1/things',
      transform: (o) => {
        delete o.bulk;
        return o;
      },
    });
    let connected = 0;
    informer.on('connect', () => (connected += 1));
    try {
      await informer.start();
      assert.deepEqual(informer.get('a', 'ns'), obj('a', '15', 'ns'));
      await waitFor('the watch', () => connected === 1);
      event(watches.at(-1) as ServerResponse, 'MODIFIED', { ...obj('a', '21', 'ns'), bulk: 'y'.repeat(100) });
      await waitFor('the update', () => informer.get('a', 'ns')?.metadata.resourceVersion === '21');
      assert.deepEqual(informer.get('a', 'ns'), obj('a', '21', 'ns'));
    } finally {
      await informer.stop();
      watches.at(-1)?.end();
    }
  });

  it('hands its handlers watched objects without their managed fields when told its transform drops them', async () => {
    handler = (_req, res, url) => {
      if (url.searchParams.get('watch') === 'true') return holdWatch(res);
      json(res, 200, { metadata: { resourceVersion: '20' }, items: [] });
    };
    const informer = new ListWatchInformer<Obj>({ client, path: '/api/v1/things', withoutManagedFields: true });
    const seen: unknown[] = [];
    informer.on('add', (o) => seen.push(o));
    let connected = 0;
    informer.on('connect', () => (connected += 1));
    try {
      await informer.start();
      await waitFor('the watch', () => connected === 1);
      const managed = { managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:metadata': {} } }] };
      event(watches.at(-1) as ServerResponse, 'ADDED', { metadata: { ...obj('b', '22', 'ns').metadata, ...managed } });
      await waitFor('the add', () => seen.length === 1);
      assert.deepEqual(seen, [obj('b', '22', 'ns')]);
    } finally {
      await informer.stop();
      watches.at(-1)?.end();
    }
  });

  it('relists on 410 Gone, reporting what changed while the version was expired', async () => {
    let lists = 0;
    handler = (_req, res, url) => {
      if (url.searchParams.get('watch') === 'true') {
        if (url.searchParams.get('resourceVersion') !== '20') return holdWatch(res);
        res.writeHead(200, { 'content-type': 'application/json' });
        event(res, 'ERROR', { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410, message: 'too old resource version' });
        res.end();
        return;
      }
      lists += 1;
      if (lists === 1) json(res, 200, { metadata: { resourceVersion: '20' }, items: [obj('kept', '1'), obj('changed', '2'), obj('gone', '3')] });
      else json(res, 200, { metadata: { resourceVersion: '30' }, items: [obj('kept', '1'), obj('changed', '25'), obj('new', '26')] });
    };
    const informer = new ListWatchInformer<Obj>({ client, path: '/apis/x/v1/cluster-things' });
    const seen: string[] = [];
    const errors: unknown[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata.name}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata.name}`));
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    await waitFor('the relist', () => lists === 2 && seen.length === 6);
    assert.deepEqual(seen, ['add kept', 'add changed', 'add gone', 'update changed', 'add new', 'delete gone']);
    assert.deepEqual(errors, [], 'an expired version is not an error');
    assert.deepEqual(informer.list().map((o) => o.metadata.name).sort(), ['changed', 'kept', 'new']);
    await waitFor('the watch from the relist', () => requests.at(-1)?.searchParams.get('resourceVersion') === '30');
    await informer.stop();
  });

  it('reports a failed list or watch, keeps the last known objects, and starts again after the delay', async () => {
    let phase: 'up' | 'down' = 'up';
    handler = (_req, res, url) => {
      if (phase === 'down') return json(res, 503, { kind: 'Status', code: 503, message: 'the API server is shutting down' });
      if (url.searchParams.get('watch') === 'true') return holdWatch(res);
      json(res, 200, { metadata: { resourceVersion: '40' }, items: [obj('p', '1')] });
    };
    const informer = new ListWatchInformer<Obj>({ client, path: '/apis/x/v1/ps', restartDelayMs: 20 });
    const errors: Array<{ code?: number; message: string }> = [];
    let lists = 0;
    informer.on('error', (err) => errors.push(err as { code?: number; message: string }));
    informer.on('list', () => (lists += 1));
    await informer.start();
    assert.equal(lists, 1);
    await waitFor('the watch', () => watches.length > 0 && !watches.at(-1)?.writableEnded);
    phase = 'down';
    // The connection breaks mid-stream.
    watches.at(-1)?.destroy();
    await waitFor('the failed restarts', () => errors.length >= 2);
    assert.equal(errors[1]?.code, 503);
    assert.match(errors[1]?.message ?? '', /GET \/apis\/x\/v1\/ps\?.*: HTTP 503: the API server is shutting down/);
    assert.deepEqual(informer.list().map((o) => o.metadata.name), ['p'], 'the last known objects stay while away');
    phase = 'up';
    await waitFor('the relist after the API server is back', () => lists === 2);
    await informer.stop();
    const after = errors.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(errors.length, after, 'no reports or restarts once stopped');
  });

  it('reads a 404 list as empty when asked to (a CRD not installed), and fails it otherwise', async () => {
    handler = (_req, res) => json(res, 404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'the server could not find the requested resource' });
    const absent = new ListWatchInformer<Obj>({ client, path: '/apis/gateway.networking.k8s.io/v1/gateways', absentIsEmpty: true, restartDelayMs: 10_000 });
    let listed = 0;
    const errors: unknown[] = [];
    absent.on('list', () => (listed += 1));
    absent.on('error', (err) => errors.push(err));
    await absent.start();
    assert.equal(listed, 1);
    assert.deepEqual(absent.list(), []);
    await waitFor('the failed watch', () => errors.length === 1);
    assert.equal((errors[0] as { code: number }).code, 404);
    await absent.stop();

    const required = new ListWatchInformer<Obj>({ client, path: '/api/v1/nothings', restartDelayMs: 10_000 });
    const failures: unknown[] = [];
    required.on('list', () => assert.fail('a 404 list is no list here'));
    required.on('error', (err) => failures.push(err));
    await required.start();
    assert.equal((failures[0] as { code: number }).code, 404);
    await required.stop();
  });

  it('waits twice as long after each failure in a row (an absent kind is not asked for again every second)', async () => {
    const path = '/apis/gateway.networking.k8s.io/v1/gatewayclasses';
    const listedAt: number[] = [];
    handler = (_req, res, url) => {
      if (url.pathname === path && url.searchParams.get('watch') !== 'true') listedAt.push(performance.now());
      json(res, 404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'the server could not find the requested resource' });
    };
    const absent = new ListWatchInformer<Obj>({ client, path, absentIsEmpty: true, restartDelayMs: 20 });
    absent.on('error', () => undefined);
    await absent.start();
    await waitFor('five lists', () => listedAt.length >= 5);
    await absent.stop();
    const gaps = listedAt.slice(1, 5).map((at, i) => at - listedAt[i]!);
    // Timers fire no earlier than asked: each gap is at least its delay, 20, 40, 80, 160 ms.
    gaps.forEach((gap, i) => assert.ok(gap >= 20 * 2 ** i - 2, `gap ${i + 1} ${gap.toFixed(1)} ms < ${20 * 2 ** i} ms: ${gaps.map((g) => g.toFixed(1)).join(', ')}`));
  });
});

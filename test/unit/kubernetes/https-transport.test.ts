/**
 * The node:https transport's connection handling, against a stand-in API
 * server (node:http on loopback) that can close a kept-alive connection
 * under the next request or stay quiet on a watch: a real kube-apiserver
 * does either only by chance (its idle timeout, a restart). The connection
 * counts on a real API server are in test/e2e/kube-connections.test.ts.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApiError } from '../../../src/kubernetes/api-error.ts';
import type { HttpsTransport } from '../../../src/kubernetes/https-transport.ts';
import type { KubeClient, WatchEvent } from '../../../src/kubernetes/kube-client.ts';
import { startStandInApiServer, type StandInApiServer } from '../../support/stand-in-api-server.ts';

/** Waits for `condition`, failing with `what` if it does not hold within 10 s (an event, not a duration, is what is tested). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    assert.ok(waited < 10_000, what);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The idle timeout the transport is given here, so that a quiet watch outlives it many times over. */
const IDLE_MS = 100;

describe('KubeClient over node:http keep-alive connections', () => {
  let standIn: StandInApiServer;
  let server: Server;
  let client: KubeClient;
  let connections = 0;
  let requests: string[] = [];
  /** Called for every request; the default answers a JSON object naming it. */
  let handle: (req: IncomingMessage, res: ServerResponse, nthOnConnection: number) => void;
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url }));
  };
  /** Answers a watch with a stream the test writes to and ends; any other call as `answer` does. */
  const streamWatches = () => {
    const stream: { write?: (line: string) => void; end?: () => void } = {};
    handle = (req, res) => {
      if (!req.url?.includes('watch=true')) return answer(req, res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      stream.write = (line) => res.write(`${line}\n`);
      stream.end = () => res.end();
    };
    return stream;
  };
  before(async () => {
    standIn = await startStandInApiServer(
      (req, res) => {
        const socket = req.socket as typeof req.socket & { served?: number };
        socket.served = (socket.served ?? 0) + 1;
        requests.push(`${req.method} ${req.url}`);
        req.resume();
        req.on('end', () => handle(req, res, socket.served as number));
      },
      { serverOptions: { keepAliveTimeout: 60_000 }, idleMs: IDLE_MS },
    );
    ({ server, client } = standIn);
    server.on('connection', () => (connections += 1));
  });
  beforeEach(async () => {
    await client.access.close();
    server.closeAllConnections();
    connections = 0;
    requests = [];
    handle = answer;
  });
  after(() => standIn.close());

  it('sends sequential calls over one kept-alive connection', async () => {
    for (let i = 0; i < 20; i += 1) assert.deepEqual(await client.get(`/api/v1/namespaces/n${i}`), { path: `/api/v1/namespaces/n${i}` });
    await client.create('/api/v1/namespaces', { metadata: { name: 'x' } });
    assert.equal(connections, 1);
  });

  it('sends a GET again on a fresh connection when the server closed the reused one before answering', async () => {
    await client.get('/api/v1/first');
    handle = (req, res, nth) => (nth > 1 ? req.socket.destroy() : answer(req, res));
    assert.deepEqual(await client.get('/api/v1/second'), { path: '/api/v1/second' });
    assert.deepEqual(requests, ['GET /api/v1/first', 'GET /api/v1/second', 'GET /api/v1/second']);
    assert.equal(connections, 2);
  });

  it('does not send a POST, PUT or PATCH twice: the server may have acted on it', async () => {
    for (const [method, call] of [
      ['POST', () => client.create('/api/v1/things', { a: 1 })],
      ['PUT', () => client.replace('/api/v1/things/a', { a: 1 })],
      ['PATCH', () => client.patch('/api/v1/things/a', { a: 1 }, 'application/merge-patch+json')],
    ] as const) {
      handle = answer;
      await client.get('/api/v1/warm');
      requests = [];
      handle = (req, res, nth) => (nth > 1 ? req.socket.destroy() : answer(req, res));
      await assert.rejects(call(), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET', method);
      assert.deepEqual(requests, [`${method} /api/v1/things${method === 'POST' ? '' : '/a'}`], `${method} sent once`);
    }
  });

  it('does not retry a call whose fresh connection broke, nor one whose answer had begun', async () => {
    handle = (req) => req.socket.destroy();
    await assert.rejects(client.get('/api/v1/fresh'), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET');
    assert.deepEqual(requests, ['GET /api/v1/fresh']);

    handle = answer;
    await client.get('/api/v1/warm');
    requests = [];
    // Headers and half a body, then the connection closes.
    handle = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => req.socket.destroy(), 20);
    };
    await assert.rejects(client.get('/api/v1/partial'));
    assert.deepEqual(requests, ['GET /api/v1/partial']);
  });

  it('keeps a quiet watch open past the idle timeout, and the calls beside it on their own connection', async () => {
    const stream = streamWatches();
    const events: WatchEvent[] = [];
    let connected!: () => void;
    const open = new Promise<void>((resolve) => (connected = resolve));
    const watching = client.watch('/api/v1/services', {}, (event) => events.push(event), { onConnect: () => connected() });
    await open;
    // Quiet for ten idle timeouts while calls come and go beside it.
    for (let i = 0; i < 10; i += 1) {
      await client.get(`/api/v1/beside/${i}`);
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    }
    stream.write?.(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'late' } } }));
    await until(() => events.length > 0, 'the event written after the quiet spell arrived');
    stream.end?.();
    await watching;
    assert.deepEqual(events.map((e) => e.object.metadata), [{ name: 'late' }]);
    assert.ok(connections >= 2, 'the watch held a connection of its own');
  });

  it('a closed pool (a rotated certificate) closes its idle connections now and a watch it carries when the watch ends', async () => {
    const stream = streamWatches();
    const old = (await client.access.connection(`${client.access.server}/api`, 'GET')).transport as HttpsTransport;
    // Two calls at once leave two idle connections; the watch takes one.
    await Promise.all([client.get('/api/v1/idle/1'), client.get('/api/v1/idle/2')]);
    const events: WatchEvent[] = [];
    let connected!: () => void;
    const open = new Promise<void>((resolve) => (connected = resolve));
    const watching = client.watch('/api/v1/services', {}, (event) => events.push(event), { onConnect: () => connected() });
    await open;
    assert.equal(old.connectionCount(), 2, 'the watch and an idle connection');
    await client.access.close();
    assert.equal(old.closed, true);
    // A destroyed socket leaves the Agent's lists on its 'close' event.
    await until(() => old.connectionCount() === 1, 'the idle connection is closed, the watch is not');
    stream.write?.(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'after-close' } } }));
    await until(() => events.length > 0, 'the watch on the closed pool still delivers');
    stream.end?.();
    await watching;
    await until(() => old.connectionCount() === 0, "the watch's connection closed when it ended");
    const next = (await client.access.connection(`${client.access.server}/api`, 'GET')).transport;
    assert.notEqual(next, old, 'a new pool for the calls after');
  });

  it('still reports a failed call with its status and Status body', async () => {
    handle = (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'leases "x" not found', code: 404 }));
    };
    await assert.rejects(client.get('/apis/coordination.k8s.io/v1/namespaces/a/leases/x'), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.code, 404);
      assert.equal(typeof err.body === 'object' && err.body.reason, 'NotFound');
      return true;
    });
  });

  it('ends a watch when its signal aborts', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
    };
    const controller = new AbortController();
    const watching = client.watch('/api/v1/services', {}, () => undefined, { signal: controller.signal, onConnect: () => controller.abort() });
    await watching;
  });
});

/**
 * The webhook against a hostile tenant (issue 11, rows 3 and 7), over real
 * TLS sockets: any pod that can reach the webhook can open connections, send
 * bodies and choose every name in a review. Each case is what that tenant
 * did, and what it must no longer get. Row 1 needs a real API server:
 * test/e2e/hostile-tenant.test.ts. Memory and latency figures are the
 * benchmark's (`npm run bench:hostile`), not these tests'.
 */
import assert from 'node:assert/strict';
import { request as httpsRequest, Agent } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { createApp, MAX_BODY_BYTES } from '../../src/server/app.ts';
import { ByteBudget } from '../../src/server/body-budget.ts';
import { DevelopmentCertificateSource } from '../../src/server/certificate-source.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { startServers, type RunningServer } from '../../src/server/server.ts';
import { staticSettings } from '../../src/settings/static-source.ts';
import { fixture } from '../support/fixtures.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAX_CONNECTIONS = 12;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

function post(port: number, path: string, body: string | Buffer, agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method: 'POST', rejectUnauthorized: false, ...(agent ? { agent } : { agent: false }), headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A TLS connection that has finished its handshake, or the error that ended it first. */
function tlsConnect(port: number, options: { ciphers?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3' } = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the handshake finished')));
  });
}

const closed = (socket: TLSSocket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

describe('hostile tenant: the webhook server (issue 11 rows 3 and 7)', () => {
  let server: RunningServer;
  const logLines: string[] = [];
  const held: TLSSocket[] = [];
  // One 7 MiB body in flight at a time: small enough to see the queue with two bodies.
  const budget = new ByteBudget(MAX_BODY_BYTES);

  before(async () => {
    const certificates = new DevelopmentCertificateSource();
    await certificates.start();
    const metrics = createMetrics({ defaultMetrics: false });
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
    const app = createApp({ admission: { settings: staticSettings(), ownNamespace: 'mcp-admission' }, logger, metrics, ready: () => true, bodyBudget: budget });
    server = await startServers({
      app, certificates, metrics, logger, host: '127.0.0.1', port: 0, metricsPort: 0, shutdownDelayMs: 0, drainTimeoutMs: 500,
      maxConnections: MAX_CONNECTIONS,
    });
  });
  after(async () => {
    for (const socket of held) socket.destroy();
    await server?.shutdown();
  });

  describe('row 3: connections and bodies', () => {
    it('a connection that never finishes its headers is closed by the headers timeout, checked every second, not after 30-40 s', async () => {
      const socket = await tlsConnect(server.port);
      socket.on('error', () => undefined);
      socket.write('POST /validate HTTP/1.1\r\nhost: webhook\r\nx-slow: ');
      const trickle = setInterval(() => socket.write('a'), 500);
      const outcome = await Promise.race([closed(socket).then(() => 'closed'), sleep(12_000).then(() => 'still open after 12 s')]);
      clearInterval(trickle);
      socket.destroy();
      assert.equal(outcome, 'closed');
    });

    it(`beyond maxConnections a new connection is dropped at once, and the ones held still answer`, async () => {
      for (let i = 0; i < MAX_CONNECTIONS; i++) {
        const socket = await tlsConnect(server.port);
        socket.on('error', () => undefined);
        held.push(socket);
      }
      await assert.rejects(tlsConnect(server.port), 'one connection more is closed before its handshake');
      // A held connection is as good as the API server's kept-alive one.
      const socket = held[0]!;
      const body = JSON.stringify(fixture('deployment-sse'));
      socket.write(`POST /mutate HTTP/1.1\r\nhost: webhook\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      const head = await new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
      assert.match(head, /^HTTP\/1\.1 200/);
      for (const s of held.splice(0)) s.destroy();
      await sleep(200);
    });

    it('a big body waits for the in-flight byte budget (backpressure) while small reviews are answered at once', async () => {
      const big = fixture('deployment-sse');
      // First: a 1 MiB body of which only half is sent, holding its share of the budget.
      const firstBody = Buffer.alloc(1024 * 1024, 0x20);
      const first = await tlsConnect(server.port);
      first.on('error', () => undefined);
      first.write(`POST /validate HTTP/1.1\r\nhost: webhook\r\ncontent-type: application/json\r\ncontent-length: ${firstBody.length}\r\n\r\n`);
      first.write(firstBody.subarray(0, firstBody.length / 2));
      await sleep(200);
      // Second: a complete review padded to 6.5 MiB; with the first it would exceed the budget.
      big.request.object.metadata.annotations = { 'example.com/padding': 'x'.repeat(6.5 * 1024 * 1024) };
      let secondDone = false;
      const second = post(server.port, '/validate', JSON.stringify(big)).then((answer) => {
        secondDone = true;
        return answer;
      });
      await sleep(300);
      const small = await post(server.port, '/mutate', JSON.stringify(fixture('deployment-sse')));
      assert.equal(small.status, 200);
      assert.equal(small.body.response.allowed, true);
      assert.equal(secondDone, false, 'the big review waited for the budget');
      // The first finishes (its JSON is blank space: a 400 answer), releasing its share.
      first.write(firstBody.subarray(firstBody.length / 2));
      const answer = await second;
      assert.equal(answer.status, 200);
      assert.equal(answer.body.response.uid, big.request.uid);
      first.destroy();
      assert.equal(budget.inUse, 0, 'every share is returned');
    });
  });

  describe('row 7: keep-alive, TLS suites, bounded echoes', () => {
    it('keeps idle connections longer than the API server does (90 s)', async () => {
      const agent = new Agent({ keepAlive: true, rejectUnauthorized: false });
      const answer = await post(server.port, '/mutate', JSON.stringify(fixture('deployment-sse')), agent);
      agent.destroy();
      const timeout = Number(/timeout=(\d+)/.exec(String(answer.headers['keep-alive']))?.[1]);
      assert.ok(timeout > 90, `keep-alive timeout ${timeout} s`);
    });

    for (const [suite, why] of [
      ['ECDHE-RSA-AES128-SHA', 'CBC with SHA-1'],
      ['ECDHE-RSA-AES256-SHA384', 'CBC'],
      ['AES128-GCM-SHA256', 'no forward secrecy (RSA key exchange)'],
      ['DHE-RSA-AES128-GCM-SHA256', 'finite-field DHE'],
    ] as const) {
      it(`TLS 1.2 refuses a client offering only ${suite} (${why})`, async () => {
        await assert.rejects(tlsConnect(server.port, { ciphers: suite, maxVersion: 'TLSv1.2' }), /handshake failure|no shared cipher|closed before/i);
      });
    }

    it('TLS 1.2 with ECDHE and AEAD is served; TLS 1.3 is unchanged', async () => {
      for (const suite of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
        const socket = await tlsConnect(server.port, { ciphers: suite, maxVersion: 'TLSv1.2' });
        assert.equal(socket.getCipher().name, suite);
        socket.destroy();
      }
      const tls13 = await tlsConnect(server.port);
      assert.equal(tls13.getProtocol(), 'TLSv1.3');
      assert.match(tls13.getCipher().name, /^TLS_(AES_128_GCM|AES_256_GCM|CHACHA20_POLY1305)_SHA/);
      tls13.destroy();
    });

    it('an over-long name is refused with a short message, and logged bounded', async () => {
      const review = fixture('deployment-sse');
      const name = 'n'.repeat(100_000);
      review.request.name = name;
      review.request.object.metadata.name = name;
      logLines.length = 0;
      const answer = await post(server.port, '/validate', JSON.stringify(review));
      assert.equal(answer.status, 200);
      assert.equal(answer.body.response.allowed, false);
      assert.equal(answer.body.response.status.code, 400);
      assert.match(answer.body.response.status.message, /name is 100000 characters long; Kubernetes names are at most 253/);
      assert.ok(answer.body.response.status.message.length < 1100, `message of ${answer.body.response.status.message.length} characters`);
      assert.ok(logLines.length > 0);
      for (const line of logLines) assert.ok(line.length < 4096, `log line of ${line.length} characters`);
    });

    it('an unknown kind of any size is refused with a bounded message and log', async () => {
      const review = fixture('deployment-sse');
      review.request.kind = { group: 'evil.example.com', version: 'v1', kind: `K${'k'.repeat(100_000)}` };
      logLines.length = 0;
      const answer = await post(server.port, '/mutate', JSON.stringify(review));
      assert.equal(answer.body.response.allowed, false);
      assert.equal(answer.body.response.status.code, 400);
      assert.ok(answer.body.response.status.message.length < 1100, `message of ${answer.body.response.status.message.length} characters`);
      for (const line of logLines) assert.ok(line.length < 4096, `log line of ${line.length} characters`);
    });

    it('a made-up kind in the envelope is echoed bounded', async () => {
      const review = { ...fixture('deployment-sse'), kind: 'X'.repeat(100_000) };
      logLines.length = 0;
      const answer = await post(server.port, '/mutate', JSON.stringify(review));
      assert.equal(answer.body.response.status.code, 400);
      assert.ok(answer.body.response.status.message.length < 1100, `message of ${answer.body.response.status.message.length} characters`);
      for (const line of logLines) assert.ok(line.length < 4096, `log line of ${line.length} characters`);
    });
  });
});

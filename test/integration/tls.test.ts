/**
 * The server over a real TLS socket: TLS 1.2+ only, certificate reload
 * without restart while requests flow, and SIGTERM-style shutdown that lets
 * in-flight reviews finish.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { connect as connectTcp } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { createApp } from '../../src/server/app.ts';
import { DevelopmentCertificateSource, FileCertificateSource } from '../../src/server/certificate-source.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { startServers, type RunningServer } from '../../src/server/server.ts';
import { staticSettings } from '../../src/settings/static-source.ts';
import { fixture } from '../support/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'mcp-admission-tls-'));

/** A self-signed certificate for 127.0.0.1 with its own serial, made by openssl as an operator would. */
function makeCertificate(name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}

/** Replaces the served files the way a Secret volume update does: new files renamed into place. */
function install(pair: { cert: string; key: string }) {
  execFileSync('cp', [pair.cert, join(dir, 'tls.crt.new')]);
  execFileSync('cp', [pair.key, join(dir, 'tls.key.new')]);
  renameSync(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
  renameSync(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
}

function peerCommonName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(String(socket.getPeerCertificate().subject.CN));
      socket.end();
    });
    socket.on('error', reject);
  });
}

const agent = new Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 8 });
/** Set by the draining test: requests wait inside the server until `open` settles. */
let gate: { open: Promise<void>; arrived: () => void } | undefined;

function review(port: number, via: Agent = agent): Promise<{ status: number; connection: string | undefined }> {
  const body = JSON.stringify(fixture('deployment-sse'));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: '/mutate', method: 'POST', agent: via, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTPS server', () => {
  let server: RunningServer;
  let certificates: FileCertificateSource;
  const first = makeCertificate('first');
  const second = makeCertificate('second');

  before(async () => {
    install(first);
    const metrics = createMetrics({ defaultMetrics: false });
    const logger = pino({ level: 'silent' });
    certificates = new FileCertificateSource({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), pollIntervalMs: 200 });
    await certificates.start();
    // The product's app behind a gate the draining test closes, to hold
    // requests in flight across the start of shutdown.
    const app = express();
    app.use((_req, _res, next) => {
      if (!gate) return next();
      gate.arrived();
      void gate.open.then(() => next());
    });
    app.use(createApp({ admission: { settings: staticSettings(), ownNamespace: 'x' }, logger, metrics, ready: () => true }));
    server = await startServers({ app, certificates, metrics, logger, host: '127.0.0.1', port: 0, metricsPort: 0, shutdownDelayMs: 300 });
  });

  after(() => {
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves admission reviews over TLS', async () => {
    assert.equal((await review(server.port)).status, 200);
    assert.equal(await peerCommonName(server.port), 'first');
  });

  it('refuses TLS 1.1', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }, () => resolve(socket));
        socket.on('error', reject);
      }),
    );
  });

  it('swaps the certificate while requests flow, without a failed request', async () => {
    let failed = 0;
    let done = 0;
    let swapping = true;
    const load = (async () => {
      while (swapping) {
        await Promise.all(Array.from({ length: 4 }, () => review(server.port).then(({ status }) => (status === 200 ? done++ : failed++), () => failed++)));
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    install(second);
    const deadline = Date.now() + 5000;
    while ((await peerCommonName(server.port)) !== 'second') {
      assert.ok(Date.now() < deadline, 'the new certificate is served within 5 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    swapping = false;
    await load;
    assert.equal(failed, 0);
    assert.ok(done > 0);
  });

  it('keeps the last good certificate when a read fails', async () => {
    writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
    await certificates.reload();
    assert.equal(certificates.healthy(), true);
    assert.equal(await peerCommonName(server.port), 'second');
    install(second);
  });

  it('answers every request in flight when draining begins, each on a closing connection, then refuses new connections', async () => {
    // Sixteen requests, each on its own connection, held inside the server
    // until shutdown has begun: in flight by construction, however slowly a
    // loaded machine runs them. (Requests sent later, on connections made
    // after the listener closed, are refused by design: the endpoint is gone.)
    let release!: () => void;
    let arrivals = 0;
    let allArrived!: () => void;
    const arrived = new Promise<void>((resolve) => (allArrived = resolve));
    gate = { open: new Promise<void>((resolve) => (release = resolve)), arrived: () => ++arrivals === 16 && allArrived() };
    const own = new Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 16 });
    const inFlight = Array.from({ length: 16 }, () => review(server.port, own));
    await arrived;
    const stopping = server.shutdown();
    assert.equal(server.accepting(), false);
    release();
    const answers = await Promise.all(inFlight);
    await stopping;
    own.destroy();
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    assert.deepEqual(new Set(answers.map((a) => a.connection)), new Set(['close']));
    assert.equal(server.accepting(), false);
    await assert.rejects(peerCommonName(server.port));
  });
});

describe('HTTPS server shutdown with a connection that never speaks', () => {
  it('cuts it after the drain timeout instead of waiting for it', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const logger = pino({ level: 'silent' });
    const certificates = new DevelopmentCertificateSource();
    await certificates.start();
    const app = createApp({ admission: { settings: staticSettings(), ownNamespace: 'x' }, logger, metrics, ready: () => true });
    const server = await startServers({ app, certificates, metrics, logger, host: '127.0.0.1', port: 0, metricsPort: 0, shutdownDelayMs: 0, drainTimeoutMs: 300 });
    const quiet = connectTcp({ host: '127.0.0.1', port: server.port });
    await new Promise((resolve) => quiet.once('connect', resolve));
    const socketClosed = new Promise((resolve) => quiet.once('close', resolve));
    const started = performance.now();
    await server.shutdown();
    await socketClosed;
    const took = performance.now() - started;
    assert.ok(took < 3000, `shutdown took ${took.toFixed(0)} ms`);
  });
});

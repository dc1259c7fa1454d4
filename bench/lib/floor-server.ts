/**
 * The floor for the admission benchmark: bare `node:https` with the same
 * certificate files `serve` is given (RSA 2048, TLS 1.2+), the same
 * keep-alive settings, that reads the body, JSON.parses it and answers
 * a fixed "allowed" AdmissionReview carrying the request's uid. No
 * framework, no decoding checks, no policy, no metrics, no logging: what any
 * Node webhook has to pay at the least.
 *
 * Imports nothing but node: modules, so its RSS is Node's own.
 *
 * Run as a child by `bench/admission.ts`:
 * `node bench/lib/floor-server.ts CERT_FILE KEY_FILE`; listens on a free port of
 * 127.0.0.1 and prints `{"port":N}` on stdout.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

const [certFile, keyFile] = process.argv.slice(2);
if (!certFile || !keyFile) throw new Error('usage: node bench/lib/floor-server.ts CERT_FILE KEY_FILE');
const tls = { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' as const };

const server = createServer(tls, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let uid = '';
    try {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request?: { uid?: unknown } };
      if (typeof review.request?.uid === 'string') uid = review.request.uid;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad json"}');
      return;
    }
    const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 10_000;
server.requestTimeout = 30_000;

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

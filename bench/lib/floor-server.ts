/**
 * The floor for the admission benchmarks: bare `node:https` with the same
 * certificate files `serve` is given, that reads the body, JSON.parses it
 * and answers a fixed AdmissionReview carrying the request's uid. No
 * framework, no decoding checks, no policy, no metrics, no logging: what any
 * Node webhook has to pay at the least.
 *
 * Imports nothing but node: modules, so its RSS is Node's own.
 *
 * `node bench/lib/floor-server.ts CERT_FILE KEY_FILE [--port N]
 * [--patch FILE] [--server-options FILE]`; listens on 127.0.0.1 (a free
 * port unless `--port`) and prints `{"port":N}` on stdout.
 *
 * - Without `--patch` every path answers "allowed" (`bench/admission.ts`).
 * - With `--patch FILE` (a JSON Patch), /mutate answers it for a
 *   Deployment, base64 in `response.patch` with `patchType: JSONPatch`, and
 *   everything else "allowed": what `serve` answers the API server for the
 *   bench Deployment (`bench/apiserver.ts`), so the stored object is the
 *   same, while other kinds (the harness's probe Service) pass untouched.
 * - `--server-options FILE`: TLS and connection settings (a JSON object
 *   handed to `https.createServer`, e.g. `serve`'s ciphers and timeouts);
 *   by default TLS 1.2+ with Node's ciphers and the timeouts below.
 */
import { readFileSync } from 'node:fs';
import { createServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { port: { type: 'string', default: '0' }, patch: { type: 'string' }, 'server-options': { type: 'string' } },
});
const [certFile, keyFile] = positionals;
if (!certFile || !keyFile) throw new Error('usage: node bench/lib/floor-server.ts CERT_FILE KEY_FILE [--port N] [--patch FILE] [--server-options FILE]');
const settings: ServerOptions = values['server-options']
  ? (JSON.parse(readFileSync(values['server-options'], 'utf8')) as ServerOptions)
  : { minVersion: 'TLSv1.2', keepAliveTimeout: 65_000, headersTimeout: 10_000, requestTimeout: 30_000 };
// The patch is encoded once: a fixed answer is all the floor gives.
const patch = values.patch ? Buffer.from(JSON.stringify(JSON.parse(readFileSync(values.patch, 'utf8')))).toString('base64') : undefined;

const server = createServer({ ...settings, cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let uid = '';
    let kind: unknown;
    try {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request?: { uid?: unknown; kind?: { kind?: unknown } } };
      if (typeof review.request?.uid === 'string') uid = review.request.uid;
      kind = review.request?.kind?.kind;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad json"}');
      return;
    }
    const mutate = patch !== undefined && kind === 'Deployment' && req.url?.startsWith('/mutate');
    const response = mutate ? { uid, allowed: true, patchType: 'JSONPatch', patch } : { uid, allowed: true };
    const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
});

server.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});

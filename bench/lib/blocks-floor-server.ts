/**
 * The floor on the building blocks: the least webhook a team would write on
 * the stack mcp-admission is built on (express, zod, pino, prom-client),
 * doing the bare floor's work (`floor-server.ts`): read the body, parse it,
 * answer a fixed AdmissionReview. What `serve` spends over this process is
 * its own decision and what it chose to do around it; what this process
 * spends over the bare floor is the price of the building blocks, which no
 * change to `serve` short of dropping them can take back.
 *
 * Per review, each block the way `serve` uses it, imported from `serve`'s
 * own code where that code is not the policy:
 * - express (x-powered-by and ETag off) routes POST /mutate and /validate,
 *   the body read by `express.raw` under serve's limit (`--body-limit`,
 *   given by the benchmark from src/server/app.ts MAX_BODY_BYTES: importing
 *   app.ts would load the policy code);
 * - `decodeAdmissionReview` (src/admission/admission-review.ts): JSON.parse
 *   and the zod check of the AdmissionRequest envelope, exactly serve's;
 * - a pino info line with serve's fields, from serve's logger factory
 *   (src/cli/logger.ts), written asynchronously as serve writes it;
 * - serve's request histogram (src/server/metrics.ts `createMetrics`, with
 *   Node's default metrics as serve collects them), observed with its five
 *   labels through serve's cached children (src/server/request-recorder.ts),
 *   and exposed on a plain HTTP `--metrics-port` when given;
 * - the floor's fixed answer (`floor-process.ts`): serve's patch on /mutate
 *   for a Deployment, an allow otherwise.
 *
 * What it leaves out of serve: the decision (policies, rules, the patch
 * diff), the body budget, the policy and front-door informers and their
 * Kubernetes client, certificate reloading, /healthz and /readyz.
 *
 * `node bench/lib/blocks-floor-server.ts CERT_FILE KEY_FILE [--port N]
 * [--patch FILE] [--server-options FILE] [--body-limit BYTES]
 * [--metrics-port N] [--log-level info|warn]`; prints `{"port":N}` on stdout once listening and
 * writes its log lines there after it.
 */
import { createServer } from 'node:http';
import express, { type Request, type Response } from 'express';
import { decodeAdmissionReview } from '../../src/admission/admission-review.ts';
import { createLogger } from '../../src/cli/logger.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { requestRecorder } from '../../src/server/request-recorder.ts';
import { fixedAnswer, floorArguments, listenFloor } from './floor-process.ts';

const args = floorArguments(
  'node bench/lib/blocks-floor-server.ts CERT_FILE KEY_FILE [--port N] [--patch FILE] [--server-options FILE] [--body-limit BYTES] [--metrics-port N] [--log-level info|warn]',
  { 'body-limit': { type: 'string', default: String(7 * 1024 * 1024) }, 'metrics-port': { type: 'string' }, 'log-level': { type: 'string', default: 'info' } },
);
// Counted once: the log line says how many operations the answer carries, as serve's does.
const patchOps = args.patch === undefined ? 0 : (JSON.parse(Buffer.from(args.patch, 'base64').toString('utf8')) as unknown[]).length;
const logger = createLogger({ level: args.extra['log-level'] as string, base: { service: 'blocks-floor' } }, undefined, { asynchronous: true });
const metrics = createMetrics();
const record = requestRecorder(metrics.requests);

function review(req: Request, res: Response, webhook: 'mutate' | 'validate'): void {
  const started = process.hrtime.bigint();
  const decoded = decodeAdmissionReview(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), req.headers['content-type']);
  if (!decoded.ok) {
    res.status(decoded.code).json({ error: decoded.message });
    return;
  }
  const { request } = decoded;
  const mutate = webhook === 'mutate' && request.kind.kind === 'Deployment';
  const body = fixedAnswer(request.uid, mutate ? args.patch : undefined);
  const duration = Number(process.hrtime.bigint() - started) / 1e9;
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
  const decision = mutate && args.patch !== undefined ? 'patched' : 'allowed';
  const dryRun = request.dryRun === true;
  // The kind as sent: the benchmarks send Deployments and Services only (serve labels unknown kinds `other`).
  record(webhook, request.operation, request.kind.kind, decision, dryRun, duration);
  const name = request.name ?? (request.object as { metadata?: { name?: string } } | undefined)?.metadata?.name;
  // As serve: at level warn (the direct benchmark) the line is not even built.
  if (!logger.isLevelEnabled('info')) return;
  logger.info(
    { webhook, uid: request.uid, kind: request.kind.kind, namespace: request.namespace, name, operation: request.operation, dryRun, decision, durationMs: Math.round(duration * 1e6) / 1e3, ...(decision === 'patched' && { patchOps }) },
    'admission review',
  );
}

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
const raw = express.raw({ type: () => true, limit: Number(args.extra['body-limit']) });
app.post('/mutate', raw, (req, res) => review(req, res, 'mutate'));
app.post('/validate', raw, (req, res) => review(req, res, 'validate'));
listenFloor(args, app);

if (args.extra['metrics-port'] !== undefined) {
  const registry = metrics.registry;
  createServer((_req, res) => void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))).listen(Number(args.extra['metrics-port']), '127.0.0.1');
}

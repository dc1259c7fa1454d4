/**
 * The HTTP layer: decodes AdmissionReviews, hands them to the admission
 * adapter, encodes the answer. It knows nothing of the rules.
 *
 * Status codes follow what the API server does with them: an answer that
 * carries the request's uid goes out as HTTP 200 with the error in
 * `response.status.code` (the API server reads the body only on 200); an
 * answer with no uid to carry is a plain HTTP 4xx.
 */
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { mutateRequest, validateRequest, type AdmissionDeps, type Outcome } from '../admission/admission.ts';
import { completeReview, errored } from '../admission/response.ts';
import { findResource } from '../admission/resources.ts';
import { decodeAdmissionReview } from '../admission/admission-review.ts';
import { SettingsUnavailableError } from '../settings/settings-unavailable.ts';
import { ByteBudget, waitForBodyBudget } from './body-budget.ts';
import { clip, identifierProblem, loggable, MAX_ERROR_MESSAGE_LENGTH } from './bounds.ts';
import { findingsCounter, type AdmissionMetrics, type FindingsCounter } from './metrics.ts';
import { requestRecorder, type RequestRecorder } from './request-recorder.ts';

/**
 * Largest AdmissionReview accepted. The API server caps objects at 3 MiB
 * (etcd's request limit) and a review carries object and oldObject, so
 * 7 MiB holds any real review; controller-runtime uses the same figure.
 */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

/**
 * Request bytes held at once across connections (body-budget.ts): one
 * review at the body limit, or several smaller big ones. Judging a review
 * takes several times its size and blocks the event loop while it runs. With
 * room for two 7 MiB reviews, 16 senders drove small reviews to p99 1.5 s on
 * a loaded machine; with one, 1.1 s. The peak RSS is that of judging one
 * review: some 385 MB with Node's default heap settings, 168-174 MB with the
 * image's, a 2 or 4 MB semi-space alike (BENCHMARKS.md, hostile tenant,
 * Memory, and Garbage collection and the per-call layers), under the pod's 384 Mi
 * either way. Real reviews near the limit are rare, and
 * one that waits is answered a little later, not refused.
 */
export const IN_FLIGHT_BODY_BYTES = MAX_BODY_BYTES;
/**
 * Bodies up to this size skip the budget: nearly every real review (a
 * Deployment and its old copy are a few KB to tens of KB), and at most
 * maxConnections × 64 KiB together (64 MB at 1,000 connections).
 */
export const SMALL_BODY_BYTES = 64 * 1024;

export interface AppDeps {
  admission: AdmissionDeps;
  logger: Logger;
  metrics: AdmissionMetrics;
  /** Whether the server should receive traffic (certificate and policies loaded, not shutting down). */
  ready: () => boolean;
  /** Log request objects (never on by default: they can hold secrets in env vars). */
  logObjects?: boolean;
  /** Bytes of request bodies in flight at once; default {@link IN_FLIGHT_BODY_BYTES}. */
  bodyBudget?: ByteBudget;
}

type Webhook = (request: Parameters<typeof mutateRequest>[0], deps: AdmissionDeps) => Outcome;

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const budget = waitForBodyBudget(deps.bodyBudget ?? new ByteBudget(IN_FLIGHT_BODY_BYTES), { smallBytes: SMALL_BODY_BYTES, maxBodyBytes: MAX_BODY_BYTES });
  const body = express.raw({ type: () => true, limit: MAX_BODY_BYTES });
  const record = requestRecorder(deps.metrics.requests);
  const countFindings = findingsCounter(deps.metrics.findings);
  /**
   * The budget, the body and the review as one route handler: one router
   * layer per review instead of three, each a dispatch and a `next` closure.
   * Errors go where express sent them before: the budget's and the body
   * reader's through `next`, and one thrown by the handler (which express
   * catches only when thrown in its own call) caught here.
   */
  const admissionRoute = (webhook: 'mutate' | 'validate', decide: Webhook): RequestHandler => (req, res, next) =>
    budget(req, res, (budgetErr?: unknown) => {
      if (budgetErr) return next(budgetErr);
      body(req, res, (bodyErr?: unknown) => {
        if (bodyErr) return next(bodyErr);
        try {
          handleAdmissionReview(req, res, webhook, decide, deps, record, countFindings);
        } catch (err) {
          next(err);
        }
      });
    });
  // The admission routes first: every review is matched before the probes' paths are tried.
  app.post('/mutate', admissionRoute('mutate', mutateRequest));
  app.post('/validate', admissionRoute('validate', validateRequest));

  app.get('/healthz', (_req, res) => void res.type('text/plain').send('ok'));
  app.get('/readyz', (_req, res) => {
    const ready = deps.ready();
    res.status(ready ? 200 : 503).type('text/plain').send(ready ? 'ok' : 'not ready');
  });

  app.use((_req, res) => void res.status(404).json({ error: 'not found: POST /mutate or /validate' }));
  const onError: ErrorRequestHandler = (err: { status?: number; type?: string; message?: string }, _req, res, _next) => {
    // body-parser errors (413 too large, 400 aborted or bad encoding) carry a status; anything else is ours.
    const status = typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) deps.logger.error({ err }, 'unexpected error outside admission');
    const message = err.type === 'entity.too.large' ? `request body exceeds ${MAX_BODY_BYTES} bytes` : (err.message ?? 'error');
    res.status(status).json(errorReview(undefined, '', status, message));
  };
  app.use(onError);
  return app;
}

/**
 * A change line carries values from the object (a maxSurge string, a
 * container name), which a client chooses: logged at a bounded length.
 */
const MAX_LOGGED_CHANGE = 200;
function bounded(change: string): string {
  return change.length <= MAX_LOGGED_CHANGE ? change : `${change.slice(0, MAX_LOGGED_CHANGE - 1)}…`;
}

function errorReview(apiVersion: string | undefined, uid: string, code: number, message: string) {
  return completeReview((apiVersion ?? 'admission.k8s.io/v1') as 'admission.k8s.io/v1', uid, errored(code, clip(message, MAX_ERROR_MESSAGE_LENGTH)));
}

function handleAdmissionReview(
  req: Request,
  res: Response,
  webhook: 'mutate' | 'validate',
  decide: Webhook,
  deps: AppDeps,
  record: RequestRecorder,
  countFindings: FindingsCounter,
): void {
  const started = process.hrtime.bigint();
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const decoded = decodeAdmissionReview(body, req.headers['content-type']);
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;

  if (!decoded.ok) {
    record(webhook, 'unknown', 'unknown', 'invalid', false, seconds());
    deps.logger.warn({ webhook, uid: loggable(decoded.uid), code: decoded.code, reason: loggable(decoded.message) }, 'rejected malformed AdmissionReview');
    const status = decoded.uid ? 200 : decoded.code;
    sendJson(res, status, errorReview(decoded.apiVersion, decoded.uid ?? '', decoded.code, decoded.message));
    return;
  }

  const { apiVersion, request } = decoded;
  const meta = (request.object as { metadata?: { name?: string } } | undefined)?.metadata;
  // Every string here is the client's choice: logged bounded.
  const context: Record<string, unknown> & { dryRun: boolean } = {
    webhook,
    uid: loggable(request.uid),
    kind: loggable(request.kind.kind),
    namespace: loggable(request.namespace),
    name: loggable(request.name ?? meta?.name),
    operation: request.operation,
    dryRun: request.dryRun === true,
  };
  let outcome: Outcome;
  const problem = identifierProblem(request);
  if (problem) {
    outcome = { result: errored(400, problem), decision: 'invalid' };
  } else {
    try {
      outcome = decide(request, deps.admission);
    } catch (err) {
      if (err instanceof SettingsUnavailableError) {
        // Not ready: no endpoint routes the API server here, but a direct
        // caller, or an API server with a stale endpoint, gets a refusal to
        // decide rather than a decision under the wrong policy.
        deps.logger.warn({ ...context, reason: err.message }, 'review refused: policies not loaded');
        outcome = { result: errored(503, `mcp-admission cannot decide yet: ${err.message}`), decision: 'invalid' };
      } else {
        deps.logger.error({ ...context, err }, 'admission failed unexpectedly');
        outcome = { result: errored(500, `mcp-admission failed to decide: ${(err as Error).message}`), decision: 'invalid' };
      }
    }
  }
  // An error that is not a denial may repeat what the client sent (an
  // unknown kind, an object's kind): answered bounded. Denials are our own
  // findings about an object whose names are bounded above.
  const status = outcome.result.status;
  if (status && status.code !== 403 && status.message.length > MAX_ERROR_MESSAGE_LENGTH) {
    outcome = { ...outcome, result: { ...outcome.result, status: { ...status, message: clip(status.message, MAX_ERROR_MESSAGE_LENGTH) } } };
  }
  const duration = seconds();
  // The answer goes out before the bookkeeping, measured before it. The log
  // line's write is handed to libuv's thread pool (pino's asynchronous
  // destination); after an idle spell, waking that thread before the answer
  // was written cost the answer some 0.09 ms (bench/idle.ts, one review
  // every 3 s: the log line added 0.09-0.16 ms at p50 before, 0.02-0.06 ms
  // after, in 4 and 3 runs).
  sendJson(res, 200, completeReview(apiVersion, request.uid, outcome.result));
  const decision = (outcome.result.status?.code ?? 0) >= 500 ? 'errored' : outcome.decision;
  // Label with known kinds only: a client's made-up kind must not grow the series.
  const kind = findResource(request.kind)?.kind ?? 'other';
  record(webhook, request.operation, kind, decision, context.dryRun, duration);
  // A dry run (kubectl diff, apply --dry-run=server) stores nothing: counting
  // its findings would inflate what a warn-mode rollout appears to cost.
  if (outcome.findings && outcome.mode && !context.dryRun) countFindings(outcome.findings, outcome.mode);
  // Built only when written: at level warn (and in the benchmark) the line costs nothing.
  if (deps.logger.isLevelEnabled('info')) {
    // The line is the context and what was decided, in this order; the
    // context is written to once it has been logged, not copied.
    const line = context;
    line.decision = decision;
    line.durationMs = Math.round(duration * 1e6) / 1e3;
    if (outcome.result.status) line.code = outcome.result.status.code;
    if (outcome.result.patch) line.patchOps = outcome.result.patch.length;
    if (outcome.changes) line.changes = outcome.changes.map(bounded);
    if (deps.logObjects) line.object = request.object;
    deps.logger.info(line, 'admission review');
  }
}

/**
 * Writes a JSON answer with the headers `res.json` sets here (the type with
 * its charset and the length; no ETag, no X-Powered-By) without its detour
 * through `res.send`, which looks for a charset to set, an ETag to compute
 * and a freshness check to make: none applies to the answer of a POST.
 */
function sendJson(res: Response, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
}

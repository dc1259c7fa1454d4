/**
 * Detection of the transport one MCP endpoint speaks, following the
 * "Backwards Compatibility" section of the Streamable HTTP transport
 * (spec 2025-03-26 and later, basic/transports): POST an `initialize`
 * request; success means Streamable HTTP; a 4xx means try the legacy
 * HTTP+SSE transport with a GET whose first event must be `endpoint`.
 */
import type { DetectedProtocol } from '../contract.ts';
import { readEventStream } from './event-stream.ts';
import { parseJsonRpcReply, type JsonRpcReply } from './json-rpc.ts';
import {
  DEFAULT_PROBE_LIMITS,
  discardBody,
  fetchBounded,
  mediaType,
  ProbeLimitError,
  readBoundedText,
  type Fetch,
  type ProbeLimits,
} from './limits.ts';

/** The newest protocol revision the prober offers in `initialize`. */
export const PROBE_PROTOCOL_VERSION = '2025-11-25';
/** The revision that defined the legacy HTTP+SSE transport. */
export const LEGACY_SSE_PROTOCOL_VERSION = '2024-11-05';
/** The longest reason a detection gives: it is written to annotations and Events. */
export const MAX_REASON_LENGTH = 300;

/** What one detection found. Printed as-is by `probe --url`. */
export interface DetectionResult {
  protocol: DetectedProtocol;
  /** The revision the server answered with (`2024-11-05` for legacy SSE). */
  protocolVersion?: string;
  /** The URL that answered (for SSE, the stream URL). */
  endpoint?: string;
  /** True when the server answered 401 or 403: it exists but wants credentials. */
  authRequired: boolean;
  /** Why the result is what it is, for a person; stable across probes of an unchanged server. */
  reason: string;
  latencyMs: number;
}

/** Options of {@link detectTransport}; every field has a default. */
export interface DetectOptions extends Partial<ProbeLimits> {
  fetch?: Fetch;
}

/** A detection function, as the cluster prober takes it. */
export type Detect = (url: string) => Promise<DetectionResult>;

type Detection = Omit<DetectionResult, 'latencyMs'>;

const INITIALIZE_REQUEST_ID = 1;

/**
 * Finds out whether `url` speaks Streamable HTTP, legacy HTTP+SSE, or neither.
 * Never throws: every failure is a result with protocol `unknown` and a reason.
 */
export async function detectTransport(url: string, options: DetectOptions = {}): Promise<DetectionResult> {
  const limits: ProbeLimits = {
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_PROBE_LIMITS.connectTimeoutMs,
    timeoutMs: options.timeoutMs ?? DEFAULT_PROBE_LIMITS.timeoutMs,
    maxBytes: options.maxBytes ?? DEFAULT_PROBE_LIMITS.maxBytes,
  };
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const started = performance.now();
  // A timer we clear ourselves rather than AbortSignal.timeout(): that one
  // keeps the signal, and through it the probe's fetch state, alive until it
  // fires, which at 1,000 probes a pass is tens of MiB held for nothing.
  const deadlineController = new AbortController();
  const timer = setTimeout(
    () => deadlineController.abort(new ProbeLimitError(`timed out after ${limits.timeoutMs} ms`)),
    limits.timeoutMs,
  );
  const deadline = deadlineController.signal;
  let detection: Detection;
  try {
    const target = parseTarget(url);
    detection = typeof target === 'string' ? unknown(target) : await probe(target, { fetchImpl, limits, deadline });
  } catch (err) {
    detection = unknown(describeFailure(err, deadline, limits));
  } finally {
    clearTimeout(timer);
  }
  return { ...detection, reason: boundReason(detection.reason), latencyMs: Math.round(performance.now() - started) };
}

interface ProbeContext {
  fetchImpl: Fetch;
  limits: ProbeLimits;
  deadline: AbortSignal;
}

function parseTarget(url: string): URL | string {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return `not a URL: ${JSON.stringify(url)}`;
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return `unsupported scheme ${target.protocol} (http or https only)`;
  }
  return target;
}

async function probe(url: URL, ctx: ProbeContext): Promise<Detection> {
  const response = await fetchBounded(
    ctx.fetchImpl,
    url,
    {
      method: 'POST',
      // Both media types, as a Streamable HTTP client MUST list (basic/transports,
      // "Sending Messages to the Server"). No MCP-Protocol-Version header: it is
      // sent only after initialization has negotiated a version.
      headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify(initializeRequest()),
    },
    ctx.limits,
    ctx.deadline,
  );
  const status = response.status;
  if (isRedirect(status)) return redirected(response, 'POST');
  if (status === 401 || status === 403) return authRequired(response, 'POST');
  if (status >= 200 && status < 300) return await initializeAnswered(url, response, ctx);

  const reply = await readJsonRpcBody(response, ctx);
  if (reply?.kind === 'error' && status >= 400 && status < 500) {
    const refusal = newerRevisionRefusal(reply);
    if (refusal) {
      return {
        protocol: 'streamable-http',
        protocolVersion: refusal.newest,
        endpoint: url.href,
        authRequired: false,
        reason:
          `Streamable HTTP: a newer revision refused initialize ${PROBE_PROTOCOL_VERSION} with HTTP ${status} and ` +
          `JSON-RPC error ${errorCode(reply)}; the server supports ${refusal.newest}`,
      };
    }
    // Any other JSON-RPC error is no proof of Streamable HTTP: the message
    // URL of a legacy SSE server answers a POST without a known session with
    // one too (mcp-go: HTTP 400). The GET tells the two apart.
    return await probeLegacySse(url, `HTTP ${status} with JSON-RPC error ${errorCode(reply)}`, ctx);
  }
  if (status === 400 || status === 404 || status === 405) {
    // "If it fails with an HTTP 4xx status code (e.g., 405 Method Not Allowed
    // or 404 Not Found)": issue a GET and expect an SSE stream (basic/transports,
    // Backwards Compatibility).
    return await probeLegacySse(url, `HTTP ${status}`, ctx);
  }
  return unknown(`POST initialize answered HTTP ${status}${status >= 500 ? ' (server error)' : ''}`);
}

function initializeRequest(): object {
  return {
    jsonrpc: '2.0',
    id: INITIALIZE_REQUEST_ID,
    method: 'initialize',
    params: {
      protocolVersion: PROBE_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'mcp-admission-prober', version: '0.1.0' },
    },
  };
}

/** A 2xx to `initialize`: find our response in a JSON body or in the SSE-framed stream. */
async function initializeAnswered(url: URL, response: Response, ctx: ProbeContext): Promise<Detection> {
  const type = mediaType(response);
  let reply: JsonRpcReply | undefined;
  if (type === 'application/json') {
    reply = parseJsonRpcReply(await readBoundedText(response, ctx.limits.maxBytes), INITIALIZE_REQUEST_ID);
  } else if (type === 'text/event-stream') {
    // The server may send notifications or requests before the response; each
    // JSON-RPC message is the data of one `message` event (basic/transports,
    // "Sending Messages to the Server").
    const outcome = await readEventStream(
      response,
      (event) => {
        if (event.type !== 'message') return false;
        reply = parseJsonRpcReply(event.data, INITIALIZE_REQUEST_ID);
        return reply !== undefined;
      },
      { maxBytes: ctx.limits.maxBytes, deadline: ctx.deadline },
    );
    if (outcome.kind === 'failed') {
      return unknown(`POST initialize answered HTTP ${response.status} text/event-stream, but ${outcome.reason}`);
    }
  } else {
    await discardBody(response);
    return unknown(`POST initialize answered HTTP ${response.status} with ${describeMediaType(type)}, not application/json or text/event-stream`);
  }
  if (!reply) {
    return unknown(`POST initialize answered HTTP ${response.status} ${type}, but not with a JSON-RPC response`);
  }

  const sessionId = response.headers.get('mcp-session-id');
  const framing = type === 'application/json' ? 'a JSON' : 'an SSE-framed';
  const session = sessionId ? ', stateful (Mcp-Session-Id)' : '';
  if (reply.kind === 'error') {
    return {
      protocol: 'streamable-http',
      endpoint: url.href,
      authRequired: false,
      reason: `Streamable HTTP: initialize answered with ${framing} JSON-RPC error ${errorCode(reply)}`,
    };
  }
  // Written to annotations: kept only when it has the shape of a revision.
  const version = isRevision(reply.result.protocolVersion) ? reply.result.protocolVersion : undefined;
  if (sessionId) await endSession(url, sessionId, version, ctx);
  return {
    protocol: 'streamable-http',
    ...(version ? { protocolVersion: version } : {}),
    endpoint: url.href,
    authRequired: false,
    reason: `Streamable HTTP: initialize answered with ${framing} result${session}`,
  };
}

/**
 * Ends the session the probe opened, so the server can free it at once
 * (basic/transports, Session Management: clients SHOULD send DELETE). A 405
 * means the server does not let clients end sessions; that is fine.
 */
async function endSession(url: URL, sessionId: string, version: string | undefined, ctx: ProbeContext): Promise<void> {
  try {
    const response = await fetchBounded(
      ctx.fetchImpl,
      url,
      {
        method: 'DELETE',
        headers: { 'mcp-session-id': sessionId, ...(version ? { 'mcp-protocol-version': version } : {}) },
      },
      ctx.limits,
      ctx.deadline,
    );
    await discardBody(response);
  } catch {
    // The detection already succeeded; an idle session expires on its own.
  }
}

/**
 * The GET half of the backwards-compatibility rule. `postAnswer` says, in our
 * words, how the POST was answered.
 */
async function probeLegacySse(url: URL, postAnswer: string, ctx: ProbeContext): Promise<Detection> {
  const response = await fetchBounded(
    ctx.fetchImpl,
    url,
    { method: 'GET', headers: { accept: 'text/event-stream' } },
    ctx.limits,
    ctx.deadline,
  );
  const status = response.status;
  const prefix = `POST initialize answered ${postAnswer}; GET`;
  if (isRedirect(status)) return redirected(response, 'GET');
  if (status === 401 || status === 403) return authRequired(response, 'GET');
  if (status !== 200) {
    await discardBody(response);
    return unknown(`${prefix} answered HTTP ${status}: neither Streamable HTTP nor HTTP+SSE`);
  }
  const type = mediaType(response);
  if (type !== 'text/event-stream') {
    await discardBody(response);
    return unknown(`${prefix} answered ${describeMediaType(type)}, not text/event-stream`);
  }

  // The first event must be `endpoint` (spec 2024-11-05, Transports, HTTP with
  // SSE); comments and `retry:` fields are not events and may come before it.
  const outcome = await readEventStream(response, () => true, {
    maxBytes: ctx.limits.maxBytes,
    deadline: ctx.deadline,
  });
  if (outcome.kind === 'failed') return unknown(`${prefix} opened an event stream, but ${outcome.reason}`);
  const { event } = outcome;
  if (event.type !== 'endpoint') {
    return unknown(`${prefix} opened an event stream whose first event is not "endpoint"`);
  }
  let messageUrl: URL;
  try {
    messageUrl = new URL(event.data.trim(), url);
  } catch {
    return unknown(`${prefix} sent an endpoint event whose data is not a URL`);
  }
  const sse = { protocol: 'sse', protocolVersion: LEGACY_SSE_PROTOCOL_VERSION, endpoint: url.href, authRequired: false } as const;
  if (messageUrl.origin !== url.origin) {
    // A server behind a proxy may announce its public URL: still the legacy
    // transport (DESIGN.md, "The prober"). The probe never sends anything to
    // the announced origin (it posts nothing at all), and the origin is the
    // server's text, so the reason does not repeat it.
    return { ...sse, reason: 'HTTP+SSE (legacy): GET opened an event stream whose first event is endpoint, on another origin (not contacted)' };
  }
  // Neither the path nor the query: they are the server's text (and the
  // query usually carries a per-connection session id).
  return { ...sse, reason: 'HTTP+SSE (legacy): GET opened an event stream whose first event is endpoint, on the same origin' };
}

async function readJsonRpcBody(response: Response, ctx: ProbeContext): Promise<JsonRpcReply | undefined> {
  const type = mediaType(response);
  if (type !== 'application/json') {
    await discardBody(response);
    return undefined;
  }
  try {
    return parseJsonRpcReply(await readBoundedText(response, ctx.limits.maxBytes), INITIALIZE_REQUEST_ID);
  } catch {
    return undefined;
  }
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

async function redirected(response: Response, method: string): Promise<Detection> {
  await discardBody(response);
  // Where it points is the server's text: not repeated.
  return unknown(`${method} answered HTTP ${response.status} redirect; redirects are not followed, point the probe at the final URL`);
}

async function authRequired(response: Response, method: string): Promise<Detection> {
  await discardBody(response);
  const offered = response.headers.get('www-authenticate')?.split(/\s/)[0]?.toLowerCase();
  const scheme = AUTH_SCHEMES.find((known) => known.toLowerCase() === offered);
  return {
    protocol: 'unknown',
    authRequired: true,
    reason: `${method} answered HTTP ${response.status}: authorization required${scheme ? ` (${scheme})` : ''}`,
  };
}

function unknown(reason: string): Detection {
  return { protocol: 'unknown', authRequired: false, reason };
}

/** Schemes named in an auth-required reason; any other is not repeated. */
const AUTH_SCHEMES = ['Bearer', 'Basic', 'Digest', 'Negotiate', 'DPoP'] as const;

/** Media types named in a reason; any other is the server's text, not repeated. */
const KNOWN_MEDIA_TYPES = new Set(['application/json', 'text/event-stream', 'text/html', 'text/plain', 'application/octet-stream']);

function describeMediaType(type: string): string {
  if (!type) return 'no content-type';
  return KNOWN_MEDIA_TYPES.has(type) ? `content-type ${type}` : 'another content-type';
}

/** MCP revisions are dates, `YYYY-MM-DD` (basic/versioning), so string order is time order. */
function isRevision(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);
}

/** The error code, when it is a plain integer (it is written into the reason). */
function errorCode(reply: { code: number }): string {
  return Number.isSafeInteger(reply.code) ? String(reply.code) : '(not an integer)';
}

/**
 * A newer revision's refusal of the version we offered, and the newest it
 * supports. 2026-07-28 (basic/versioning, "Protocol Version Negotiation";
 * transports/streamable-http, "Protocol Version Header") answers a version it
 * does not implement with HTTP 400 and `UnsupportedProtocolVersionError`:
 *
 *     {"code": -32022, "message": "Unsupported protocol version",
 *      "data": {"supported": ["2026-07-28", ...], "requested": "..."}}
 *
 * and a modern-only server SHOULD name its versions in any error it returns
 * to `initialize`; the legacy lifecycle's example error (-32602) carries the
 * same `data.supported`. So the proof is the list, not the code: a list of
 * revisions that leaves out the one offered and names a newer one. A
 * refusal naming only older revisions is not Streamable HTTP evidence.
 */
function newerRevisionRefusal(reply: { data?: unknown }): { newest: string } | undefined {
  const data = reply.data;
  if (typeof data !== 'object' || data === null) return undefined;
  const supported = (data as { supported?: unknown }).supported;
  if (!Array.isArray(supported)) return undefined;
  const revisions = supported.filter(isRevision);
  if (revisions.includes(PROBE_PROTOCOL_VERSION)) return undefined;
  const newest = revisions.sort().at(-1);
  return newest !== undefined && newest > PROBE_PROTOCOL_VERSION ? { newest } : undefined;
}

function describeFailure(err: unknown, deadline: AbortSignal, limits: ProbeLimits): string {
  if (deadline.aborted) return `timed out after ${limits.timeoutMs} ms`;
  if (err instanceof ProbeLimitError) return err.message;
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return `timed out after ${limits.timeoutMs} ms`;
    const cause = err.cause;
    if (cause instanceof ProbeLimitError) return cause.message;
    if (cause instanceof Error) {
      // Node's error codes (ECONNREFUSED, UND_ERR_SOCKET...) are ours to
      // repeat; a message may quote what the server sent.
      const code = (cause as Error & { code?: unknown }).code;
      return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? `connection failed: ${code}` : 'connection failed';
    }
  }
  return 'request failed';
}

/**
 * The last guard on what is written to annotations and Events: printable
 * characters only, at most {@link MAX_REASON_LENGTH}. Every reason above is
 * built from our own words and numbers; this holds even if one is not.
 */
function boundReason(reason: string): string {
  // eslint-disable-next-line no-control-regex
  const printable = reason.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return printable.length > MAX_REASON_LENGTH ? `${printable.slice(0, MAX_REASON_LENGTH - 1)}…` : printable;
}

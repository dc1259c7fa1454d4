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
  return { ...detection, latencyMs: Math.round(performance.now() - started) };
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
    // A JSON-RPC error body means the endpoint speaks JSON-RPC over POST: a
    // Streamable HTTP server that refused our initialize, e.g. a 2026-07-28
    // server rejecting the 2025-11-25 handshake. A legacy SSE server receives
    // messages only on the endpoint its stream announces, so it never answers
    // here with JSON-RPC; probing it as SSE would be wrong.
    const newest = newestSupportedVersion(reply.data);
    return {
      protocol: 'streamable-http',
      ...(newest ? { protocolVersion: newest } : {}),
      endpoint: url.href,
      authRequired: false,
      reason:
        `Streamable HTTP: initialize (${PROBE_PROTOCOL_VERSION}) refused with HTTP ${status} and JSON-RPC error ` +
        `${reply.code} "${truncate(reply.message)}"` +
        (newest ? `; the server supports ${newest}` : '; a JSON-RPC error on POST is a Streamable HTTP server'),
    };
  }
  if (status === 400 || status === 404 || status === 405) {
    // "If it fails with an HTTP 4xx status code (e.g., 405 Method Not Allowed
    // or 404 Not Found)": issue a GET and expect an SSE stream (basic/transports,
    // Backwards Compatibility).
    return await probeLegacySse(url, status, ctx);
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
    return unknown(
      `POST initialize answered HTTP ${response.status} with content-type ${type || '(none)'}, ` +
        'not application/json or text/event-stream',
    );
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
      reason: `Streamable HTTP: initialize answered with ${framing} JSON-RPC error ${reply.code} "${truncate(reply.message)}"`,
    };
  }
  const version = typeof reply.result.protocolVersion === 'string' ? reply.result.protocolVersion : undefined;
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

/** The GET half of the backwards-compatibility rule. */
async function probeLegacySse(url: URL, postStatus: number, ctx: ProbeContext): Promise<Detection> {
  const response = await fetchBounded(
    ctx.fetchImpl,
    url,
    { method: 'GET', headers: { accept: 'text/event-stream' } },
    ctx.limits,
    ctx.deadline,
  );
  const status = response.status;
  const prefix = `POST initialize answered HTTP ${postStatus}; GET`;
  if (isRedirect(status)) return redirected(response, 'GET');
  if (status === 401 || status === 403) return authRequired(response, 'GET');
  if (status !== 200) {
    await discardBody(response);
    return unknown(`${prefix} answered HTTP ${status}: neither Streamable HTTP nor HTTP+SSE`);
  }
  const type = mediaType(response);
  if (type !== 'text/event-stream') {
    await discardBody(response);
    return unknown(`${prefix} answered content-type ${type || '(none)'}, not text/event-stream`);
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
    return unknown(`${prefix} opened an event stream whose first event is "${truncate(event.type)}", not "endpoint"`);
  }
  let messageUrl: URL;
  try {
    messageUrl = new URL(event.data.trim(), url);
  } catch {
    return unknown(`${prefix} sent an endpoint event whose data is not a URL: ${JSON.stringify(truncate(event.data))}`);
  }
  if (messageUrl.origin !== url.origin) {
    // Clients must not post their messages to another origin: the endpoint
    // event is the only thing telling them where to send (and DNS rebinding
    // guidance in basic/transports, Security Warning).
    return unknown(`${prefix} sent an endpoint event on another origin (${messageUrl.origin}), refused`);
  }
  return {
    protocol: 'sse',
    protocolVersion: LEGACY_SSE_PROTOCOL_VERSION,
    endpoint: url.href,
    authRequired: false,
    // The path only: the query usually carries a per-connection session id,
    // which would make the reason change on every probe.
    reason: `HTTP+SSE (legacy): GET opened an event stream whose first event is endpoint ${messageUrl.pathname}`,
  };
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
  const location = response.headers.get('location');
  return unknown(
    `${method} answered HTTP ${response.status} redirect${location ? ` to ${truncate(location)}` : ''}; ` +
      'redirects are not followed, point the probe at the final URL',
  );
}

async function authRequired(response: Response, method: string): Promise<Detection> {
  await discardBody(response);
  const scheme = response.headers.get('www-authenticate')?.split(/\s/)[0];
  return {
    protocol: 'unknown',
    authRequired: true,
    reason: `${method} answered HTTP ${response.status}: authorization required${scheme ? ` (${scheme})` : ''}`,
  };
}

function unknown(reason: string): Detection {
  return { protocol: 'unknown', authRequired: false, reason };
}

/** Picks the newest revision from an error's `data.supported` list, if it has one. */
function newestSupportedVersion(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const supported = (data as { supported?: unknown }).supported;
  if (!Array.isArray(supported)) return undefined;
  // Revisions are dates (YYYY-MM-DD), so string order is time order.
  const versions = supported.filter((v): v is string => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v));
  return versions.sort().at(-1);
}

function describeFailure(err: unknown, deadline: AbortSignal, limits: ProbeLimits): string {
  if (deadline.aborted) return `timed out after ${limits.timeoutMs} ms`;
  if (err instanceof ProbeLimitError) return err.message;
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return `timed out after ${limits.timeoutMs} ms`;
    const cause = err.cause;
    if (cause instanceof ProbeLimitError) return cause.message;
    if (cause instanceof Error) {
      const code = (cause as Error & { code?: string }).code;
      return `connection failed: ${code ?? cause.message}`;
    }
    return `request failed: ${err.message}`;
  }
  return `request failed: ${String(err)}`;
}

function truncate(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

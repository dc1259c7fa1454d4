/**
 * The bounds every probe runs under, and the fetch wrapper that enforces
 * them. A probe talks to servers we do not control (DESIGN.md, "The prober":
 * bounded timeouts and body sizes, no redirects followed), so nothing here
 * waits or reads without a limit.
 */

/** Bounds on one detection. */
export interface ProbeLimits {
  /** Time allowed until a response's headers arrive (connect + TLS + server think time). */
  connectTimeoutMs: number;
  /** Time allowed for the whole detection, all requests included. */
  timeoutMs: number;
  /** Bytes read from any one response body before giving up. */
  maxBytes: number;
}

export const DEFAULT_PROBE_LIMITS: ProbeLimits = {
  connectTimeoutMs: 3_000,
  timeoutMs: 10_000,
  // An initialize result or an `endpoint` event is a few hundred bytes; 64 KiB
  // leaves room for verbose server info and keeps a hostile stream cheap.
  maxBytes: 64 * 1024,
};

/** The `fetch` signature the prober uses; tests and the benchmark may pass their own. */
export type Fetch = typeof globalThis.fetch;

/** Thrown when a bound is hit; `message` is written for the `reason` field. */
export class ProbeLimitError extends Error {
  override name = 'ProbeLimitError';
}

/**
 * Sends one request with redirects left unfollowed and response headers
 * bounded by `connectTimeoutMs`; the body stays bounded by `deadline`.
 */
export async function fetchBounded(
  fetchImpl: Fetch,
  url: URL,
  init: RequestInit,
  limits: ProbeLimits,
  deadline: AbortSignal,
): Promise<Response> {
  const headers = new AbortController();
  const timer = setTimeout(
    () => headers.abort(new ProbeLimitError(`no response headers within ${limits.connectTimeoutMs} ms`)),
    limits.connectTimeoutMs,
  );
  try {
    return await fetchImpl(url, {
      ...init,
      // A redirect could send the probe anywhere (another host, a metadata
      // endpoint); the operator must point it at the final URL instead.
      redirect: 'manual',
      signal: AbortSignal.any([deadline, headers.signal]),
    });
  } finally {
    clearTimeout(timer);
  }
}

/** A byte-limited view of a response body. */
export interface LimitedBody {
  stream: ReadableStream<Uint8Array>;
  /**
   * Cancels the underlying body, closing its connection. Needed because the
   * consumer of `stream` holds its lock, so `stream.cancel()` cannot be used,
   * and a legacy SSE stream never ends on its own.
   */
  release(): Promise<void>;
}

/**
 * Wraps a response body so that reading more than `maxBytes` fails with a
 * {@link ProbeLimitError}; `onExceeded` learns about it first.
 */
export function limitBody(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  onExceeded: () => void = () => {},
): LimitedBody {
  const reader = body.getReader();
  let total = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      total += value.byteLength;
      if (total > maxBytes) {
        onExceeded();
        await reader.cancel().catch(() => {});
        controller.error(new ProbeLimitError(`response exceeded ${maxBytes} bytes`));
        return;
      }
      controller.enqueue(value);
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
    },
  });
  return { stream, release: () => reader.cancel().catch(() => {}) };
}

/** Reads a whole body as text, at most `maxBytes` of it. */
export async function readBoundedText(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = limitBody(response.body, maxBytes).stream.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}

/** Releases a response whose body we will not read, so its connection closes. */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}

/** The media type of a response, lower-cased, without parameters. */
export function mediaType(response: Response): string {
  return (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

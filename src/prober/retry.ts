/**
 * Retrying Kubernetes API calls: transient failures (throttling, server
 * errors, a dropped connection) back off exponentially with jitter; a
 * conflict is reported to the caller, who re-reads the object and decides
 * again; anything else fails at once.
 */

/** How hard to retry transient API errors. */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5_000 };

/** Waits `ms`; injected so tests do not wait. */
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The HTTP status of a failed API call (client-node's `ApiException.code`), if any. */
export function apiStatus(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'number' && code >= 100 && code < 600) return code;
  }
  return undefined;
}

/** 409: the object changed since we read it (optimistic concurrency on `resourceVersion`). */
export function isConflict(err: unknown): boolean {
  return apiStatus(err) === 409;
}

/**
 * Worth retrying: 429 and 5xx, and errors without a status (connection reset,
 * DNS), which a restarting API server produces.
 */
export function isTransient(err: unknown): boolean {
  const status = apiStatus(err);
  return status === undefined || status === 429 || status >= 500;
}

/** Calls `call`, retrying transient failures with exponential backoff and full jitter. */
export async function withRetry<T>(
  call: () => Promise<T>,
  policy: RetryPolicy,
  sleep: Sleep,
  random: () => number = Math.random,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= policy.attempts || !isTransient(err)) throw err;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.round(ceiling * (0.5 + random() / 2)));
    }
  }
}

/** A short description of an API error for logs and outcomes. */
export function describeApiError(err: unknown): string {
  const status = apiStatus(err);
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return status === undefined ? `${message}` : `HTTP ${status}: ${message}`;
}

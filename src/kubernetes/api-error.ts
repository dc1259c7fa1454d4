/**
 * A failed API call: the HTTP status as `code` and the API server's Status
 * object as `body`, the shape of @kubernetes/client-node's ApiException, so
 * callers keep checking `code === 404` (absent) or `409` (conflict). The
 * message names the call and the Status message (API conventions: a failed
 * call returns a `Status` with `reason` and `message`).
 */

/** The `Status` object an API server returns with a failure (meta/v1 Status), the fields we read. */
export interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: Record<string, unknown>;
}

/** See the module comment. */
export class ApiError extends Error {
  /** HTTP status, or the Status's code for an error delivered on a watch. */
  readonly code: number;
  /** The Status, or the response text when it was not JSON. */
  readonly body: ApiStatus | string;

  constructor(method: string, path: string, code: number, body: ApiStatus | string) {
    const detail = typeof body === 'string' ? body.slice(0, 300) : (body.message ?? body.reason ?? '');
    super(`${method} ${path}: HTTP ${code}${detail ? `: ${detail}` : ''}`);
    this.name = 'ApiError';
    this.code = code;
    this.body = body;
  }
}

/** The HTTP status of a failed call, if it has one (ours or client-node's). */
export function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

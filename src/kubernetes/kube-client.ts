/**
 * Calls to the API server: JSON in and out over the access's pooled
 * connections (kube-access.ts), and watches as streams of JSON lines
 * (API conventions, "Efficient detection of changes": one watch event per
 * line, `{"type": ..., "object": ...}`). A failed call throws an
 * {@link ApiError} carrying the HTTP status and the Status object.
 */
import { finished, type Readable } from 'node:stream';
import { ApiError, type ApiStatus } from './api-error.ts';
import type { KubeAccess } from './kube-access.ts';
import { withoutManagedFieldsText } from './managed-fields.ts';
import { pickedMembersText, type Members } from './picked-members.ts';
import type { TransportResponse } from './transport.ts';

type Json = Record<string, unknown>;

/** Query parameters; undefined ones are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** One event of a watch stream. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Json;
}

/** The Content-Types of a PATCH (API conventions, "Patch operations"). */
export const PATCH = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
} as const;

/** `/a/b/c` with every segment percent-encoded. */
export function apiPath(...segments: string[]): string {
  return segments.map((s) => (s.startsWith('/') ? s : `/${encodeURIComponent(s)}`)).join('');
}

function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path;
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, String(value));
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

async function failure(method: string, path: string, response: TransportResponse): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let body: ApiStatus | string = text;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null) body = parsed as ApiStatus;
  } catch {
    // Not a Status (a proxy's page, say): the text is the body.
  }
  return new ApiError(method, path, response.statusCode, body);
}

/**
 * Hands every non-blank line of `body` to `onLine`, as its chunks arrive;
 * resolves when the stream ends, rejects when it breaks (or ends before
 * its end: a premature close) or `onLine` throws, closing the stream.
 *
 * The chunks are read as `data` events, decoded by the stream
 * (`setEncoding`: a chunk may end inside a multi-byte character, and the
 * decoder keeps its first bytes for the next one). Not `for await`: its
 * iterator pays a promise, a microtask and a `read()` per chunk (and
 * copies the chunks buffered meanwhile into one), which a watch pays for
 * every event (`npm run bench:watch`). A line whole in its chunk (an event
 * of a few KB) is handed on as it is; one spread over many chunks (an
 * object of megabytes) is joined once, when its newline arrives.
 */
function readLines(body: Readable, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let parts: string[] = [];
    const line = (text: string) => {
      if (text.trim()) onLine(text);
    };
    const onData = (text: string) => {
      try {
        let start = 0;
        for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
          if (parts.length === 0) line(text.slice(start, newline));
          else {
            parts.push(text.slice(start, newline));
            const whole = parts.join('');
            parts = [];
            line(whole);
          }
          start = newline + 1;
        }
        if (start < text.length) parts.push(text.slice(start));
      } catch (err) {
        body.off('data', onData);
        body.destroy();
        reject(err);
      }
    };
    body.setEncoding('utf8');
    body.on('data', onData);
    finished(body, (err) => {
      if (err) return reject(err);
      try {
        line(parts.join(''));
        resolve();
      } catch (lineErr) {
        reject(lineErr);
      }
    });
  });
}

/** See the module comment. */
export class KubeClient {
  readonly access: KubeAccess;

  constructor(access: KubeAccess) {
    this.access = access;
  }

  /**
   * One call; resolves to the parsed response. `accept` asks for another
   * representation of the same JSON (a PartialObjectMetadataList, say).
   */
  async request<T = Json>(method: string, path: string, options: { query?: Query; body?: unknown; contentType?: string; accept?: string } = {}): Promise<T> {
    const target = withQuery(path, options.query);
    const response = await this.send(method, target, options.body, options.contentType, undefined, false, options.accept);
    if (response.statusCode < 200 || response.statusCode >= 300) throw await failure(method, target, response);
    return JSON.parse(await response.text()) as T;
  }

  get<T = Json>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, query ? { query } : {});
  }

  create<T = Json>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  replace<T = Json>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }

  patch<T = Json>(path: string, body: unknown, contentType: string): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType });
  }

  /**
   * Opens a watch and hands every event to `onEvent`; `onConnect` is called
   * once the API server has answered. Resolves when the server ends the
   * stream (its timeoutSeconds) or `signal` aborts it; rejects on a failed
   * call or a broken stream. `withoutManagedFields`: the events' objects
   * come without `metadata.managedFields`, cut from each line before it is
   * parsed (managed-fields.ts), for a watcher that drops them anyway.
   * `members`: each event is parsed for those members only
   * (picked-members.ts), for a watcher that reads no others; an event not
   * written as the API server writes one is parsed whole.
   */
  async watch(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent) => void,
    options: { signal?: AbortSignal; onConnect?: () => void; withoutManagedFields?: boolean; members?: Members } = {},
  ): Promise<void> {
    const target = withQuery(path, { ...query, watch: true });
    let response: TransportResponse;
    try {
      response = await this.send('GET', target, undefined, undefined, options.signal, true);
    } catch (err) {
      if (options.signal?.aborted) return;
      throw err;
    }
    if (response.statusCode !== 200) throw await failure('GET', target, response);
    options.onConnect?.();
    try {
      const whole = options.withoutManagedFields ? (text: string) => JSON.parse(withoutManagedFieldsText(text)) : JSON.parse;
      const { members } = options;
      const parse = members
        ? (text: string) => {
            const picked = pickedMembersText(text, members);
            return picked === undefined ? whole(text) : JSON.parse(picked);
          }
        : whole;
      await readLines(response.body, (text) => onEvent(parse(text) as WatchEvent));
    } catch (err) {
      if (options.signal?.aborted) return;
      throw err;
    }
  }

  private async send(method: string, target: string, body: unknown, contentType: string | undefined, signal?: AbortSignal, stream = false, accept = 'application/json'): Promise<TransportResponse> {
    const url = new URL(this.access.server + target);
    const { transport, headers } = await this.access.connection(url.href, method);
    return transport.request({
      url,
      method,
      headers: { accept, ...headers, ...(body !== undefined ? { 'content-type': contentType ?? 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
      ...(stream ? { stream } : {}),
    });
  }
}

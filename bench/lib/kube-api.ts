/**
 * A minimal client for the API server's REST API, for the through-the-API-
 * server benchmark (`bench/apiserver.ts`): node:https with the harness's
 * admin client certificate (system:masters, so RBAC allows everything and
 * API Priority and Fairness exempts it) over one keep-alive agent, and the
 * Prometheus text of `/metrics` read as sums and counts.
 *
 * No client library: what is timed is one HTTP request, nothing a library
 * adds (discovery, retries, rate limiting) on top. Like any HTTP/1.1 client,
 * one request per connection at a time: `maxSockets` is the concurrency.
 * (kubectl and client-go multiplex over one HTTP/2 connection instead.)
 */
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { Agent, request } from 'node:https';
import type { ControlPlanePKI } from '../../test/support/harness/pki.ts';

/** One answer: status, body, and milliseconds from sending to the last byte. */
export interface ApiAnswer {
  status: number;
  body: string;
  ms: number;
}

export interface ApiClient {
  /** `body` is sent as JSON; a string or Buffer as is. */
  send(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: Buffer | string | object): Promise<ApiAnswer>;
  close(): void;
}

/** A client for `url` (https://127.0.0.1:PORT) as the harness's admin. */
export function apiClient(url: string, pki: ControlPlanePKI, maxSockets: number): ApiClient {
  const base = new URL(url);
  const agent = new Agent({
    keepAlive: true,
    maxSockets,
    ca: readFileSync(pki.servingCA.cert),
    cert: readFileSync(pki.admin.cert),
    key: readFileSync(pki.admin.key),
  });
  return {
    send(method, path, body) {
      const payload = body === undefined ? undefined : Buffer.isBuffer(body) || typeof body === 'string' ? body : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const sent = performance.now();
        const req = request(
          {
            agent,
            host: base.hostname,
            port: base.port,
            method,
            path,
            headers: {
              accept: 'application/json',
              ...(payload !== undefined && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - sent }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}

/** Throws unless the answer's status is one of `ok`; returns the parsed body. */
export async function mustAnswer<T = Record<string, any>>(answer: Promise<ApiAnswer>, what: string, ok = [200, 201]): Promise<T> {
  const { status, body } = await answer;
  if (!ok.includes(status)) throw new Error(`${what}: HTTP ${status}: ${body.slice(0, 2000)}`);
  return JSON.parse(body) as T;
}

/** One Prometheus sample: name, labels, value. */
/** GET /metrics from a plain-HTTP metrics port on 127.0.0.1 (serve's). */
export function plainMetrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (enough of it: no escapes inside label values are needed here). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of every sample named `name` whose labels pass `where`. */
export function total(samples: readonly Sample[], name: string, where: (labels: Record<string, string>) => boolean = () => true): number {
  let sum = 0;
  for (const s of samples) if (s.name === name && where(s.labels)) sum += s.value;
  return sum;
}

/**
 * Mean of a histogram between two scrapes, in milliseconds, and how many
 * observations it covers: (Δ sum / Δ count) of `name`_sum and `name`_count.
 */
export function histogramMean(
  before: readonly Sample[],
  after: readonly Sample[],
  name: string,
  where: (labels: Record<string, string>) => boolean = () => true,
): { ms: number; count: number } {
  const count = total(after, `${name}_count`, where) - total(before, `${name}_count`, where);
  const sum = total(after, `${name}_sum`, where) - total(before, `${name}_sum`, where);
  return { ms: count > 0 ? (sum / count) * 1000 : NaN, count };
}

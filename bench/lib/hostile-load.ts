/**
 * The hostile tenant of `bench/hostile.ts`, run as its own process so its
 * work never shares an event loop with the server or with the small-review
 * timer. Receives a {@link HostileOptions} message; answers with a
 * {@link HostileResult} when its attack has run its course.
 *
 * - `namespaces`: reviews for made-up namespaces (valid 63-character DNS
 *   labels, each used once), back to back over keep-alive connections;
 * - `slow`: TLS connections that finish the handshake, start a request and
 *   then send one header byte a second, never finishing the headers;
 * - `big`: loops that each send 7 MiB reviews (object and oldObject, just
 *   under the webhook's body limit) back to back.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { paddedDeploymentReview } from './reviews.ts';

export interface HostileOptions {
  mode: 'namespaces' | 'slow' | 'big';
  port: number;
  /** namespaces: reviews to send; slow: connections to hold; big: concurrent loops. */
  count: number;
  concurrency: number;
  durationMs: number;
}

export interface HostileResult {
  sent: number;
  answered: number;
  errors: number;
  firstError?: string;
  /** slow: how long the server kept each connection, ms (sorted); big: latency of each big review, ms (sorted). */
  timesMs: number[];
  /** slow: connections the server closed before the handshake finished (refused for lack of room). */
  refused: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function post(agent: Agent, port: number, path: string, body: Buffer): Promise<{ status: number; error?: string }> {
  return new Promise((resolve) => {
    const req = request(
      { agent, host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        res.on('error', (err) => resolve({ status: 0, error: err.message }));
      },
    );
    req.on('error', (err) => resolve({ status: 0, error: err.message }));
    req.end(body);
  });
}

function label(): string {
  // 63 characters, [a-z0-9-], starting and ending with a letter: a valid namespace name nobody created.
  return `t${randomUUID().replaceAll('-', '')}${randomUUID().replaceAll('-', '')}`.slice(0, 62) + 'z';
}

async function namespaces(options: HostileOptions): Promise<HostileResult> {
  const review = paddedDeploymentReview();
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, rejectUnauthorized: false });
  const result: HostileResult = { sent: 0, answered: 0, errors: 0, timesMs: [], refused: 0 };
  const loop = async () => {
    while (result.sent < options.count) {
      result.sent++;
      review.request.uid = randomUUID();
      (review.request as Record<string, unknown>).namespace = label();
      const { status, error } = await post(agent, options.port, '/mutate', Buffer.from(JSON.stringify(review)));
      if (status === 200) result.answered++;
      else {
        result.errors++;
        result.firstError ??= error ?? `HTTP ${status}`;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  agent.destroy();
  return result;
}

async function slow(options: HostileOptions): Promise<HostileResult> {
  const result: HostileResult = { sent: 0, answered: 0, errors: 0, timesMs: [], refused: 0 };
  const sockets: TLSSocket[] = [];
  const closed: Array<Promise<void>> = [];
  const until = performance.now() + options.durationMs;
  for (let i = 0; i < options.count; i++) {
    const opened = performance.now();
    const socket = connect({ host: '127.0.0.1', port: options.port, rejectUnauthorized: false });
    sockets.push(socket);
    result.sent++;
    let secure = false;
    let timer: NodeJS.Timeout | undefined;
    socket.on('secureConnect', () => {
      secure = true;
      socket.write('POST /validate HTTP/1.1\r\nhost: webhook\r\ncontent-type: application/json\r\nx-slow: ');
      timer = setInterval(() => socket.write('a'), 1000);
    });
    socket.on('error', () => undefined);
    closed.push(
      new Promise((resolve) =>
        socket.once('close', () => {
          clearInterval(timer);
          if (!secure) result.refused++;
          else result.timesMs.push(performance.now() - opened);
          resolve();
        }),
      ),
    );
    // Opened in bursts of 100, as fast as the handshakes go.
    if (i % 100 === 99) await new Promise((r) => setImmediate(r));
  }
  // Whatever the server still holds when the window ends counts as held for the whole window.
  await Promise.race([Promise.all(closed), sleep(Math.max(0, until - performance.now()))]);
  for (const socket of sockets) socket.destroy();
  await Promise.all(closed);
  result.timesMs.sort((a, b) => a - b);
  return result;
}

/** A Deployment review of at most `bytes` bytes: a labelled MCP Deployment whose annotations (in object and oldObject) fill the body. */
export function bigReview(bytes: number): Buffer {
  const review = paddedDeploymentReview();
  const object = review.request.object;
  const base = { ...object.metadata.annotations } as Record<string, string>;
  (review.request as Record<string, unknown>).operation = 'UPDATE';
  (review.request as Record<string, unknown>).oldObject = object;
  // Many short keys: the costliest shape to parse and diff, per byte.
  const build = (count: number): Buffer => {
    const annotations: Record<string, string> = { ...base };
    for (let i = 0; i < count; i++) annotations[`example.com/key-${i}`] = 'v'.repeat(80);
    object.metadata.annotations = annotations;
    return Buffer.from(JSON.stringify(review));
  };
  const perEntry = `"example.com/key-00000":"${'v'.repeat(80)}",`.length * 2;
  let count = Math.floor(bytes / perEntry);
  let body = build(count);
  while (body.length > bytes) body = build((count -= Math.ceil((body.length - bytes) / perEntry) + 1));
  return body;
}

async function big(options: HostileOptions): Promise<HostileResult> {
  const body = bigReview(7 * 1024 * 1024 - 4096);
  const agent = new Agent({ keepAlive: true, maxSockets: options.count, rejectUnauthorized: false });
  const result: HostileResult = { sent: 0, answered: 0, errors: 0, timesMs: [], refused: 0 };
  const until = performance.now() + options.durationMs;
  const loop = async () => {
    while (performance.now() < until) {
      result.sent++;
      const started = performance.now();
      const { status, error } = await post(agent, options.port, '/validate', body);
      if (status === 200) {
        result.answered++;
        result.timesMs.push(performance.now() - started);
      } else {
        result.errors++;
        result.firstError ??= error ?? `HTTP ${status}`;
      }
    }
  };
  await Promise.all(Array.from({ length: options.count }, loop));
  agent.destroy();
  result.timesMs.sort((a, b) => a - b);
  return result;
}

process.once('message', (options: HostileOptions) => {
  const run = options.mode === 'namespaces' ? namespaces : options.mode === 'slow' ? slow : big;
  run(options).then(
    (result) => process.send!(result, () => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`hostile load failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
});

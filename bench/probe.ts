/**
 * Prober benchmark (`npm run bench:probe`, not a test): 1,000 MCP endpoints
 * served by one local process, probed at concurrency 1, 16 and 64. Prints
 * total time, per-probe p50/p99 and the prober process's peak RSS.
 *
 * The endpoints are served by a child process (this file with `--serve`), so
 * the RSS measured is the prober's alone. Even endpoints speak Streamable
 * HTTP (alternating JSON and SSE-framed responses, every fourth stateful with
 * a session the probe ends with DELETE); odd ones speak legacy HTTP+SSE
 * (POST answers 405, GET opens a stream whose first event is `endpoint`).
 *
 * `--hostile` serves 1,000 hostile endpoints instead, six behaviours in turn
 * (a hang, endless bytes with no newline, a redirect loop, 500, a stream of
 * the wrong content type, a stream with no `endpoint` event), probed with a
 * 1 s time limit: every probe must end within its limit, none may be taken
 * for a transport, and memory must stay bounded.
 */
import { fork } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mapConcurrent } from '../src/prober/concurrency.ts';
import { detectTransport } from '../src/prober/detect.ts';
import { percentile } from './lib/stats.ts';

const ENDPOINTS = 1_000;
const HOSTILE = process.argv.includes('--hostile');
const CONCURRENCY = HOSTILE ? [16, 64] : [1, 16, 64];
/** Time limit per probe in the hostile run: short, so a thousand hangs finish in seconds. */
const HOSTILE_TIMEOUT_MS = 1_000;

function serve(): void {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/s\/(\d+)\/mcp$/.exec(req.url ?? '');
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    const index = Number(match[1]);
    if (HOSTILE) hostile(req, res, index);
    else if (index % 2 === 1) legacySse(req, res);
    else streamableHttp(req, res, index);
  });
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
  process.on('disconnect', () => process.exit(0));
}

function legacySse(req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET') {
    req.resume();
    res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain' }).end('Method Not Allowed');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(`event: endpoint\ndata: /messages?sessionId=${Math.random().toString(36).slice(2)}\n\n`);
  // The stream stays open, as a real SSE server's does, until the client leaves.
}

const HOSTILE_KINDS = ['hang', 'endless bytes', 'redirect loop', 'HTTP 500', 'wrong content type', 'no endpoint event'] as const;

function hostile(req: IncomingMessage, res: ServerResponse, index: number): void {
  req.resume();
  switch (HOSTILE_KINDS[index % HOSTILE_KINDS.length]) {
    case 'hang':
      return; // never answers
    case 'endless bytes': {
      res.writeHead(req.method === 'GET' ? 200 : 405, { 'content-type': 'text/event-stream' });
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const pump = () => {
        while (res.write(chunk));
      };
      res.on('drain', pump);
      res.on('close', () => res.off('drain', pump));
      pump();
      return;
    }
    case 'redirect loop':
      res.writeHead(307, { location: req.url ?? '/' }).end();
      return;
    case 'HTTP 500':
      res.writeHead(500).end('internal error');
      return;
    case 'wrong content type':
      res.writeHead(req.method === 'GET' ? 200 : 405, { 'content-type': 'text/html' }).end('<html>not mcp</html>');
      return;
    case 'no endpoint event':
      if (req.method !== 'GET') {
        res.writeHead(405).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message\ndata: {"hello":"world"}\n\n'); // and then nothing, forever
      return;
  }
}

function streamableHttp(req: IncomingMessage, res: ServerResponse, index: number): void {
  if (req.method === 'DELETE') {
    res.writeHead(200).end();
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    const request = JSON.parse(body) as { id: number; params: { protocolVersion: string } };
    const reply = JSON.stringify({
      jsonrpc: '2.0',
      id: request.id,
      result: { protocolVersion: request.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: `bench-${index}`, version: '1.0.0' } },
    });
    const session = index % 4 === 0 ? { 'mcp-session-id': `session-${index}` } : {};
    if (index % 8 < 4) {
      res.writeHead(200, { 'content-type': 'application/json', ...session }).end(reply);
    } else {
      res.writeHead(200, { 'content-type': 'text/event-stream', ...session }).end(`event: message\ndata: ${reply}\n\n`);
    }
  });
}

/** Heap in use after a full collection (needs --expose-gc; otherwise the heap as it stands). */
function heapAfterGc(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

async function bench(): Promise<void> {
  const child = fork(import.meta.filename, ['--serve', ...(HOSTILE ? ['--hostile'] : [])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const detect = (url: string) => detectTransport(url, HOSTILE ? { timeoutMs: HOSTILE_TIMEOUT_MS } : {});
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  const urls = Array.from({ length: ENDPOINTS }, (_, i) => `http://127.0.0.1:${port}/s/${i}/mcp`);

  // Warm up the JIT and the connection pool, outside the measurements.
  await mapConcurrent(urls.slice(0, 50), 8, (url) => detect(url));

  const rows: string[][] = [];
  for (const concurrency of CONCURRENCY) {
    const latencies: number[] = [];
    const counts: Record<string, number> = {};
    const started = performance.now();
    await mapConcurrent(urls, concurrency, async (url) => {
      const t0 = performance.now();
      const result = await detect(url);
      latencies.push(performance.now() - t0);
      counts[result.protocol] = (counts[result.protocol] ?? 0) + 1;
    });
    const totalMs = performance.now() - started;
    latencies.sort((a, b) => a - b);
    rows.push([
      String(concurrency),
      `${(totalMs / 1000).toFixed(2)} s`,
      `${Math.round((ENDPOINTS / totalMs) * 1000)}/s`,
      `${percentile(latencies, 50).toFixed(2)} ms`,
      `${percentile(latencies, 99).toFixed(2)} ms`,
      `${(latencies[latencies.length - 1] ?? 0).toFixed(0)} ms`,
      `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
      `${counts.sse ?? 0}/${counts['streamable-http'] ?? 0}/${counts.unknown ?? 0}`,
      `${(heapAfterGc() / 1048576).toFixed(0)} MiB`,
    ]);
  }
  child.disconnect();

  const header = ['concurrency', 'total', 'rate', 'p50', 'p99', 'max', 'peak RSS', 'sse/http/unknown', 'heap after GC'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(
    HOSTILE
      ? `prober benchmark, hostile: ${ENDPOINTS} endpoints (${HOSTILE_KINDS.join(', ')}), time limit ${HOSTILE_TIMEOUT_MS} ms, Node ${process.version}`
      : `prober benchmark: ${ENDPOINTS} endpoints (half SSE, half Streamable HTTP), Node ${process.version}`,
  );
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log('peak RSS is the prober process high-water mark so far (grows monotonically across rows)');
}

if (process.argv.includes('--serve')) serve();
else await bench();

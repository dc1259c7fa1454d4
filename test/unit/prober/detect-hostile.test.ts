/**
 * Detection against servers written to misbehave (node:http), and against
 * well-behaved variants the SDKs do not produce: a 2026-07-28 server refusing
 * our initialize, SSE-framed responses preceded by notifications, auth.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { detectTransport, type DetectionResult } from '../../../src/prober/detect.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, base: string) => void;

async function withServer<T>(handler: Handler, body: (base: string) => Promise<T>): Promise<T> {
  let base = '';
  const server: Server = createServer((req, res) => handler(req, res, base));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    return await body(base);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const initializeResult = (version: string) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, result: { protocolVersion: version, capabilities: {}, serverInfo: { name: 'x', version: '1' } } });

/** POST answers 404, GET is handled by `get`. */
const legacy = (get: Handler): Handler => (req, res, base) => {
  if (req.method === 'POST') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    return;
  }
  get(req, res, base);
};

const eventStream = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });

interface Case {
  name: string;
  handler: Handler;
  options?: { timeoutMs?: number; connectTimeoutMs?: number; maxBytes?: number };
  expect: Partial<Omit<DetectionResult, 'reason'>> & { reason: RegExp };
  maxLatencyMs?: number;
}

const cases: Case[] = [
  {
    name: 'wrong content type on GET',
    handler: legacy((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>')),
    expect: { protocol: 'unknown', reason: /GET answered content-type text\/html, not text\/event-stream/ },
  },
  {
    name: 'no endpoint event: first event is a message',
    handler: legacy((_req, res) => {
      eventStream(res);
      res.write('data: hello\n\n');
    }),
    expect: { protocol: 'unknown', reason: /first event is not "endpoint"/ },
  },
  {
    name: 'no endpoint event: the stream ends',
    handler: legacy((_req, res) => {
      eventStream(res);
      res.end(': just a comment\n\n');
    }),
    expect: { protocol: 'unknown', reason: /event stream ended before the expected event/ },
  },
  {
    name: 'endpoint on another origin',
    handler: legacy((_req, res) => {
      eventStream(res);
      res.write('event: endpoint\ndata: http://attacker.example:8080/messages?sessionId=1\n\n');
    }),
    expect: { protocol: 'sse', protocolVersion: '2024-11-05', reason: /first event is endpoint, on another origin \(not contacted\)$/ },
  },
  {
    name: 'endpoint after comments and retry, CRLF framing, absolute same-origin URL',
    handler: legacy((_req, res, base) => {
      eventStream(res);
      res.write(': keep-alive\r\nretry: 1000\r\n\r\n');
      res.write(`event: endpoint\r\ndata: ${base}/messages?sessionId=abc\r\n\r\n`);
    }),
    expect: { protocol: 'sse', protocolVersion: '2024-11-05', reason: /first event is endpoint, on the same origin$/ },
  },
  {
    name: 'hang: accepts the connection, never answers',
    handler: () => {},
    options: { connectTimeoutMs: 300, timeoutMs: 2000 },
    expect: { protocol: 'unknown', reason: /no response headers within 300 ms/ },
    maxLatencyMs: 1500,
  },
  {
    name: 'hang: opens the event stream, never sends an event',
    handler: legacy((_req, res) => {
      eventStream(res);
      res.write(': hello\n\n');
    }),
    options: { timeoutMs: 500 },
    expect: { protocol: 'unknown', reason: /timed out/ },
    maxLatencyMs: 1500,
  },
  {
    name: 'endless bytes with no newline',
    handler: legacy((_req, res) => {
      eventStream(res);
      const chunk = 'x'.repeat(16 * 1024);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    }),
    options: { maxBytes: 64 * 1024, timeoutMs: 5000 },
    expect: { protocol: 'unknown', reason: /exceeded 65536 bytes/ },
    maxLatencyMs: 3000,
  },
  {
    name: 'endless JSON body on a 404',
    handler: (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      const chunk = '['.repeat(16 * 1024);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    },
    options: { timeoutMs: 2000 },
    // The oversized body is not a JSON-RPC error, so the GET is tried and answers the same 404.
    expect: { protocol: 'unknown', reason: /GET answered HTTP 404/ },
    maxLatencyMs: 3000,
  },
  {
    name: 'redirect loop',
    handler: (req, res) => res.writeHead(302, { location: req.url ?? '/' }).end(),
    expect: { protocol: 'unknown', reason: /POST answered HTTP 302 redirect; redirects are not followed/ },
  },
  {
    name: 'redirect on the GET',
    handler: legacy((_req, res) => res.writeHead(307, { location: 'http://169.254.169.254/' }).end()),
    expect: { protocol: 'unknown', reason: /GET answered HTTP 307 redirect/ },
  },
  {
    name: '500',
    handler: (_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('boom'),
    expect: { protocol: 'unknown', reason: /POST initialize answered HTTP 500 \(server error\)/ },
  },
  {
    name: '401 with a bearer challenge',
    handler: (_req, res) => res.writeHead(401, { 'www-authenticate': 'Bearer resource_metadata="x"' }).end(),
    expect: { protocol: 'unknown', authRequired: true, reason: /POST answered HTTP 401: authorization required \(Bearer\)/ },
  },
  {
    name: '403',
    handler: (_req, res) => res.writeHead(403).end(),
    expect: { protocol: 'unknown', authRequired: true, reason: /HTTP 403: authorization required/ },
  },
  {
    name: '401 on the SSE GET',
    handler: legacy((_req, res) => res.writeHead(401).end()),
    expect: { protocol: 'unknown', authRequired: true, reason: /GET answered HTTP 401/ },
  },
  {
    name: '2026-07-28 server refusing the initialize handshake (400 + JSON-RPC error) is not SSE',
    handler: (req, res) => {
      if (req.method !== 'POST') {
        res.writeHead(500).end('the prober must not GET a modern server');
        return;
      }
      res.writeHead(400, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          error: { code: -32022, message: 'Unsupported protocol version', data: { supported: ['2026-07-28'], requested: '2025-11-25' } },
        }),
      );
    },
    expect: { protocol: 'streamable-http', protocolVersion: '2026-07-28', reason: /a newer revision refused initialize 2025-11-25 with HTTP 400 and JSON-RPC error -32022; the server supports 2026-07-28$/ },
  },
  {
    // Not a version refusal, so checked for SSE too: the GET answers the same 405.
    name: 'JSON-RPC error on 405 without version data is not proof of Streamable HTTP',
    handler: (_req, res) =>
      res.writeHead(405, { 'content-type': 'application/json' }).end(
        JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Method not allowed.' } }),
      ),
    expect: { protocol: 'unknown', reason: /POST initialize answered HTTP 405 with JSON-RPC error -32000; GET answered HTTP 405/ },
  },
  {
    name: 'SSE-framed response preceded by a notification and a comment',
    handler: (_req, res) => {
      eventStream(res);
      res.write(': warming up\n\n');
      res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'hi' } })}\n\n`);
      res.write(`event: message\ndata: ${initializeResult('2025-06-18')}\n\n`);
    },
    expect: { protocol: 'streamable-http', protocolVersion: '2025-06-18', reason: /SSE-framed result/ },
  },
  {
    name: '2025-03-26 server answering JSON',
    handler: (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(initializeResult('2025-03-26')),
    expect: { protocol: 'streamable-http', protocolVersion: '2025-03-26', reason: /a JSON result$/ },
  },
  {
    name: '200 with HTML',
    handler: (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>hi</h1>'),
    expect: { protocol: 'unknown', reason: /content-type text\/html, not application\/json or text\/event-stream/ },
  },
  {
    name: '200 JSON that is not JSON-RPC',
    handler: (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
    expect: { protocol: 'unknown', reason: /not with a JSON-RPC response/ },
  },
];

describe('detectTransport against hostile and unusual servers', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const result = await withServer(c.handler, (base) => detectTransport(`${base}/mcp`, c.options));
      const { reason, ...fields } = c.expect;
      assert.match(result.reason, reason);
      for (const [key, value] of Object.entries(fields)) {
        assert.deepEqual(result[key as keyof DetectionResult], value, `${key}: ${result.reason}`);
      }
      if (c.expect.authRequired === undefined) assert.equal(result.authRequired, false);
      if (c.maxLatencyMs !== undefined) assert.ok(result.latencyMs < c.maxLatencyMs, `took ${result.latencyMs} ms`);
    });
  }

  it('sends the initialize request the spec describes', async () => {
    const seen: Array<{ method?: string; headers: IncomingMessage['headers']; body: string }> = [];
    await withServer(
      (req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          seen.push({ method: req.method, headers: req.headers, body });
          res.writeHead(200, { 'content-type': 'application/json' }).end(initializeResult('2025-11-25'));
        });
      },
      (base) => detectTransport(`${base}/mcp`),
    );
    assert.equal(seen.length, 1);
    const [post] = seen;
    assert.equal(post?.method, 'POST');
    assert.equal(post?.headers.accept, 'application/json, text/event-stream');
    assert.equal(post?.headers['content-type'], 'application/json');
    assert.equal(post?.headers['mcp-protocol-version'], undefined);
    const request = JSON.parse(post?.body ?? '{}');
    assert.equal(request.method, 'initialize');
    assert.equal(request.params.protocolVersion, '2025-11-25');
  });

  it('rejects URLs it must not probe', async () => {
    assert.match((await detectTransport('not a url')).reason, /not a URL/);
    assert.match((await detectTransport('file:///etc/passwd')).reason, /unsupported scheme file:/);
  });

  it('reports a refused connection', async () => {
    const port = await withServer(() => {}, async (base) => new URL(base).port);
    const result = await detectTransport(`http://127.0.0.1:${port}/mcp`);
    assert.equal(result.protocol, 'unknown');
    assert.match(result.reason, /connection failed: ECONNREFUSED/);
  });
});

/**
 * Detection against a tenant who writes its own MCP server to steer the
 * prober (issue 11, rows 4 and 6):
 * - nothing the server sends reaches the reason the prober records (a
 *   Location header, JSON-RPC error text, an endpoint path, an event name, a
 *   content type, an auth scheme): the reason is our own words, bounded;
 * - an `endpoint` event on another origin is legacy SSE, and that origin
 *   never receives a request;
 * - a 4xx JSON-RPC error is Streamable HTTP only when it is a newer
 *   revision's refusal of the version offered; any other is checked for SSE.
 *
 * The servers are node:http written to misbehave: no SDK sends these
 * answers on purpose. The SDKs themselves are in test/integration.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { detectTransport, MAX_REASON_LENGTH, PROBE_PROTOCOL_VERSION } from '../../../src/prober/detect.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, base: string) => void;

interface Listening {
  base: string;
  requests: Array<{ method: string | undefined; url: string | undefined }>;
  close(): Promise<void>;
}

async function listen(handler: Handler, host = '127.0.0.1'): Promise<Listening> {
  let base = '';
  const requests: Listening['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url });
    handler(req, res, base);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  base = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    base,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function detectAt(handler: Handler, path = '/mcp') {
  const server = await listen(handler);
  try {
    return { result: await detectTransport(`${server.base}${path}`, { timeoutMs: 3000 }), requests: server.requests };
  } finally {
    await server.close();
  }
}

/** Text a tenant wants to see written back into its annotations and Events. */
const MARK = 'TENANT-ECHO';
const eventStream = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });
const jsonRpcError = (res: ServerResponse, status: number, error: object, id: number | null = 1) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id, error }));
/** POST answers 404, GET is `get`: the shape of a legacy SSE stream URL. */
const legacy = (get: Handler): Handler => (req, res, base) =>
  req.method === 'POST' ? res.writeHead(404).end() : get(req, res, base);

describe('the reason the prober records is its own words, bounded', () => {
  const echoes: Array<[string, Handler]> = [
    ['a Location header', (_req, res) => res.writeHead(302, { location: `http://x/${MARK}` }).end()],
    ['a Location header on the GET', legacy((_req, res) => res.writeHead(307, { location: `/${MARK}` }).end())],
    ['JSON-RPC error text on a 4xx', (_req, res) => jsonRpcError(res, 400, { code: -32600, message: MARK.repeat(5000) })],
    ['JSON-RPC error text on a 2xx', (_req, res) => jsonRpcError(res, 200, { code: -32603, message: `${MARK} internal` })],
    ['a newer revision naming its versions in its refusal', (_req, res) =>
      jsonRpcError(res, 400, { code: -32022, message: MARK, data: { supported: ['2026-07-28', MARK], requested: MARK } })],
    [
      'a 60,000-character endpoint path',
      legacy((_req, res) => {
        eventStream(res);
        res.write(`event: endpoint\ndata: /${MARK}${'a'.repeat(60_000)}?sessionId=1\n\n`);
      }),
    ],
    ['an endpoint path with control characters', legacy((_req, res) => {
      eventStream(res);
      res.write(`event: endpoint\ndata: /m\u001b[31m${MARK}\u0007?x=1\n\n`);
    })],
    ['the name of the first event', legacy((_req, res) => {
      eventStream(res);
      res.write(`event: ${MARK}\ndata: x\n\n`);
    })],
    ['endpoint data that is not a URL', legacy((_req, res) => {
      eventStream(res);
      res.write(`event: endpoint\ndata: http://[${MARK}\n\n`);
    })],
    ['a content type on the POST', (_req, res) => res.writeHead(200, { 'content-type': `text/${MARK}` }).end('x')],
    ['a content type on the GET', legacy((_req, res) => res.writeHead(200, { 'content-type': `text/${MARK}` }).end('x'))],
    ['an auth scheme', (_req, res) => res.writeHead(401, { 'www-authenticate': `${MARK} realm="x"` }).end()],
    ['a protocol version in an initialize result', (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ jsonrpc: '2.0', id: 1, result: { protocolVersion: MARK.repeat(1000), capabilities: {} } }),
      )],
  ];
  for (const [name, handler] of echoes) {
    it(`does not echo ${name}`, async () => {
      const { result } = await detectAt(handler);
      const recorded = JSON.stringify(result);
      assert.ok(!recorded.toLowerCase().includes(MARK.toLowerCase()), `server text in the result: ${recorded.slice(0, 300)}`);
      assert.ok(result.reason.length <= MAX_REASON_LENGTH, `reason of ${result.reason.length} characters`);
      assert.doesNotMatch(result.reason, /[\u0000-\u001f\u007f]/);
    });
  }
});

describe('an endpoint event on another origin', () => {
  it('is legacy SSE, said in the reason, and the other origin receives nothing', async () => {
    // 127.0.0.2 is another origin on loopback: a listener there sees any request the prober sends.
    const elsewhere = await listen((_req, res) => res.writeHead(202).end(), '127.0.0.2');
    try {
      const { result, requests } = await detectAt(
        legacy((_req, res) => {
          eventStream(res);
          res.write(`event: endpoint\ndata: ${elsewhere.base}/messages?sessionId=1\n\n`);
        }),
        '/sse',
      );
      assert.equal(result.protocol, 'sse', result.reason);
      assert.equal(result.protocolVersion, '2024-11-05');
      assert.match(result.reason, /another origin/);
      assert.match(result.reason, /not contacted/);
      assert.ok(!result.reason.includes('127.0.0.2'), 'the other origin is the server\'s text, not ours');
      assert.deepEqual(requests.map((r) => r.method), ['POST', 'GET']);
      // Give a stray request time to arrive before checking.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(elsewhere.requests, []);
    } finally {
      await elsewhere.close();
    }
  });
});

describe('a 4xx JSON-RPC error', () => {
  it('from the message URL of a legacy SSE server is not Streamable HTTP (mcp-go answers 400 + JSON-RPC error)', async () => {
    // The shape of mcp-go's legacy SSE server at its message URL: POST
    // without a known session answers 400 with a JSON-RPC error, GET is not
    // served there. Neither transport: unknown.
    const { result, requests } = await detectAt((req, res) => {
      if (req.method === 'POST') jsonRpcError(res, 400, { code: -32602, message: 'Invalid session ID' }, null);
      else res.writeHead(405).end();
    }, '/message?sessionId=0f0f');
    assert.equal(result.protocol, 'unknown', result.reason);
    assert.deepEqual(requests.map((r) => r.method), ['POST', 'GET'], 'checked for SSE too');
    assert.match(result.reason, /JSON-RPC error/);
  });

  it('followed by an SSE stream on GET is legacy SSE', async () => {
    const { result } = await detectAt((req, res) => {
      if (req.method === 'POST') {
        jsonRpcError(res, 400, { code: -32000, message: 'session required' }, null);
        return;
      }
      eventStream(res);
      res.write('event: endpoint\ndata: /message?sessionId=1\n\n');
    }, '/sse');
    assert.equal(result.protocol, 'sse', result.reason);
  });

  it('is Streamable HTTP when a newer revision refuses the offered version (2026-07-28: -32022 with supported)', async () => {
    const { result, requests } = await detectAt((_req, res) =>
      jsonRpcError(res, 400, { code: -32022, message: 'Unsupported protocol version', data: { supported: ['2026-07-28'], requested: PROBE_PROTOCOL_VERSION } }),
    );
    assert.equal(result.protocol, 'streamable-http', result.reason);
    assert.equal(result.protocolVersion, '2026-07-28');
    assert.deepEqual(requests.map((r) => r.method), ['POST'], 'a modern server is not sent a GET');
  });

  it('naming only older or the offered revisions is not a newer revision\'s refusal', async () => {
    for (const supported of [['2024-11-05'], [PROBE_PROTOCOL_VERSION, '2026-07-28'], []]) {
      const { result } = await detectAt((req, res) =>
        req.method === 'POST'
          ? jsonRpcError(res, 400, { code: -32602, message: 'Unsupported protocol version', data: { supported } })
          : res.writeHead(405).end(),
      );
      assert.equal(result.protocol, 'unknown', `${JSON.stringify(supported)}: ${result.reason}`);
    }
  });
});

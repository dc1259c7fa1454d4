/**
 * The Go MCP peers serve what they say: for each Go SDK and each transport,
 * the official TypeScript SDK client connects with the matching client
 * transport, lists the tools and calls them.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { startGoPeer, type GoPeer, type GoPeerOptions, type GoSdk, type GoTransport } from '../support/peers/go-peer.ts';

const peers: GoPeer[] = [];
after(async () => {
  await Promise.all(peers.map((peer) => peer.close()));
});

async function start(options: GoPeerOptions): Promise<GoPeer> {
  const peer = await startGoPeer(options);
  peers.push(peer);
  return peer;
}

function clientTransport(transport: GoTransport, url: string): Transport {
  return transport === 'sse' ? new SSEClientTransport(new URL(url)) : new StreamableHTTPClientTransport(new URL(url));
}

function text(result: Awaited<ReturnType<Client['callTool']>>): string {
  const content = result.content as { type: string; text?: string }[];
  assert.equal(content[0]?.type, 'text');
  return content[0].text ?? '';
}

/** Connects the TypeScript SDK client, calls both tools, and disconnects. */
async function exercise(peer: GoPeer): Promise<void> {
  const client = new Client({ name: 'mcp-peer-test', version: '1.0.0' });
  await client.connect(clientTransport(peer.transport, peer.url));
  try {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), ['echo', 'whoami']);
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'hello through ' + peer.sdk } })), 'hello through ' + peer.sdk);
    assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), peer.replica);
  } finally {
    await client.close();
  }
}

/** Status of a POST to `url` carrying `host` as the Host header (fetch cannot set Host). */
async function statusWithHost(url: string, host: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
  });
}

const sdks: GoSdk[] = ['official', 'mcp-go'];
const transports: GoTransport[] = ['sse', 'streamable-http'];

describe('Go MCP peers', () => {
  for (const sdk of sdks) {
    for (const transport of transports) {
      it(`${sdk} serves ${transport} to the TypeScript SDK client`, async () => {
        const peer = await start({ sdk, transport, replica: `${sdk}-${transport}-1` });
        assert.equal(peer.sdk, sdk);
        assert.equal(peer.transport, transport);
        assert.equal(new URL(peer.url).pathname, transport === 'sse' ? '/sse' : '/mcp');
        await exercise(peer);
      });
    }

    it(`${sdk} SSE answers the stream with an endpoint event first, the legacy transport's handshake`, async () => {
      const peer = await start({ sdk, transport: 'sse' });
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error('no endpoint event within 5 s')), 5000);
      const res = await fetch(peer.url, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      const reader = res.body!.getReader();
      let head = '';
      while (!head.includes('\n\n')) {
        const { value, done } = await reader.read();
        if (done) break;
        // Event lines may end in CRLF (mcp-go's do), LF or CR (the SSE grammar allows all three).
        head += Buffer.from(value).toString().replace(/\r\n?/g, '\n');
      }
      clearTimeout(timer);
      controller.abort();
      assert.match(head, new RegExp(`^event: endpoint\\ndata: ${peer.messagePath}\\?session[iI]d=`));
    });

    it(`${sdk} stateless Streamable HTTP serves without a session id`, async () => {
      const peer = await start({ sdk, transport: 'streamable-http', stateless: true, path: '/custom' });
      assert.equal(new URL(peer.url).pathname, '/custom');
      await exercise(peer);
    });

    it(`${sdk} refuses a foreign Host header on loopback unless --any-host (what a proxy in front sends)`, async () => {
      const guarded = await start({ sdk, transport: 'streamable-http' });
      assert.equal(await statusWithHost(guarded.url, 'mcp.example.com'), 403);
      const open = await start({ sdk, transport: 'streamable-http', anyHost: true });
      assert.notEqual(await statusWithHost(open.url, 'mcp.example.com'), 403);
    });
  }

  it('a bad flag fails the start with the peer\'s message', async () => {
    await assert.rejects(startGoPeer({ sdk: 'official', transport: 'sse', stateless: true }), /--stateless applies to streamable-http only/);
  });
});

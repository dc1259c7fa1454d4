/**
 * Every real SDK server the prober meets, at every URL of theirs it may be
 * pointed at (a `path` annotation can name any of them), classified right
 * (issue 11, "Show"): the official TypeScript, Python and Go SDKs and
 * mcp-go, in legacy HTTP+SSE and Streamable HTTP.
 *
 * URLs: the SSE stream URL; the message URL without a session, with the
 * session of a live stream (opened by the test, as a client would), and
 * with a session that does not exist; the Streamable HTTP endpoint; the
 * root. Expected: the stream URL is `sse`, the Streamable HTTP endpoint
 * `streamable-http`; a message URL or the root is neither (`unknown`),
 * except where an SDK serves the stream or the endpoint there too (the
 * official Go SDK takes POSTs on the stream path, so a GET there still
 * opens a stream; mcp-go's Streamable HTTP handler answers on any path).
 * Never `streamable-http` for an SSE server's URL.
 *
 * Peers: @modelcontextprotocol/sdk in-process; the Python SDK (venv from
 * test/support/peers/setup-python.sh) and the Go peers (test/tools/build.sh)
 * as processes. A missing one fails its rows, never skips them.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { detectTransport } from '../../src/prober/detect.ts';
import { startGoPeer } from '../support/peers/go-peer.ts';
import { startPythonServer } from '../support/peers/python-peer.ts';
import { startSdkServer, type SdkServerKind } from '../support/peers/sdk-servers.ts';

type Protocol = 'sse' | 'streamable-http' | 'unknown';
type UrlKind = 'stream' | 'message' | 'message, live session' | 'message, stale session' | 'streamable' | 'root';

/** A running peer and the paths it serves. */
interface Running {
  baseUrl: string;
  stream?: string;
  /** The message path, and the name of its session query parameter. */
  message?: { path: string; param: string };
  streamable?: string;
  close(): Promise<void>;
}

interface Peer {
  name: string;
  start(): Promise<Running>;
  expect: Partial<Record<UrlKind, Protocol>>;
}

const ts = (kind: SdkServerKind, paths: Omit<Running, 'baseUrl' | 'close'>) => async (): Promise<Running> => {
  const peer = await startSdkServer(kind);
  return { baseUrl: peer.baseUrl, ...paths, close: () => peer.close() };
};

const SSE_MESSAGE_UNKNOWN = {
  stream: 'sse',
  message: 'unknown',
  'message, live session': 'unknown',
  'message, stale session': 'unknown',
  root: 'unknown',
} as const;

const peers: Peer[] = [
  { name: 'TypeScript SDK, HTTP+SSE', start: ts('sse', { stream: '/sse', message: { path: '/messages', param: 'sessionId' } }), expect: SSE_MESSAGE_UNKNOWN },
  { name: 'TypeScript SDK, Streamable HTTP (stateful)', start: ts('stateful', { streamable: '/mcp' }), expect: { streamable: 'streamable-http', root: 'unknown' } },
  { name: 'TypeScript SDK, Streamable HTTP (stateless)', start: ts('stateless', { streamable: '/mcp' }), expect: { streamable: 'streamable-http', root: 'unknown' } },
  {
    name: 'TypeScript SDK, both transports',
    start: ts('both', { stream: '/sse', message: { path: '/messages', param: 'sessionId' }, streamable: '/mcp' }),
    expect: { ...SSE_MESSAGE_UNKNOWN, streamable: 'streamable-http' },
  },
  {
    name: 'Python SDK, HTTP+SSE',
    start: async () => {
      const peer = await startPythonServer('sse');
      return { baseUrl: peer.baseUrl, stream: '/sse', message: { path: '/messages/', param: 'session_id' }, close: () => peer.close() };
    },
    expect: SSE_MESSAGE_UNKNOWN,
  },
  {
    name: 'Python SDK, Streamable HTTP',
    start: async () => {
      const peer = await startPythonServer('streamable-http');
      return { baseUrl: peer.baseUrl, streamable: '/mcp', close: () => peer.close() };
    },
    expect: { streamable: 'streamable-http', root: 'unknown' },
  },
  {
    name: 'Go SDK (official), HTTP+SSE',
    start: async () => {
      const peer = await startGoPeer({ sdk: 'official', transport: 'sse' });
      return { baseUrl: peer.baseUrl, stream: '/sse', message: { path: '/sse', param: 'sessionid' }, close: () => peer.close() };
    },
    // Stream and messages share one path: without a live session a GET there opens a stream.
    expect: { stream: 'sse', message: 'sse', 'message, live session': 'unknown', 'message, stale session': 'sse', root: 'unknown' },
  },
  {
    name: 'Go SDK (official), Streamable HTTP',
    start: async () => {
      const peer = await startGoPeer({ sdk: 'official', transport: 'streamable-http' });
      return { baseUrl: peer.baseUrl, streamable: '/mcp', close: () => peer.close() };
    },
    expect: { streamable: 'streamable-http', root: 'unknown' },
  },
  {
    name: 'Go SDK (official), Streamable HTTP (stateless)',
    start: async () => {
      const peer = await startGoPeer({ sdk: 'official', transport: 'streamable-http', stateless: true });
      return { baseUrl: peer.baseUrl, streamable: '/mcp', close: () => peer.close() };
    },
    expect: { streamable: 'streamable-http', root: 'unknown' },
  },
  {
    name: 'mcp-go, HTTP+SSE',
    start: async () => {
      const peer = await startGoPeer({ sdk: 'mcp-go', transport: 'sse' });
      return { baseUrl: peer.baseUrl, stream: '/sse', message: { path: peer.messagePath ?? '/message', param: 'sessionId' }, close: () => peer.close() };
    },
    expect: SSE_MESSAGE_UNKNOWN,
  },
  {
    name: 'mcp-go, Streamable HTTP',
    start: async () => {
      const peer = await startGoPeer({ sdk: 'mcp-go', transport: 'streamable-http' });
      return { baseUrl: peer.baseUrl, streamable: '/mcp', close: () => peer.close() };
    },
    // Mounted as an http.Handler, mcp-go's StreamableHTTPServer answers on
    // every path (its endpoint path only routes its own Start()): initialize
    // succeeds at the root too, so the root is a Streamable HTTP endpoint.
    expect: { streamable: 'streamable-http', root: 'streamable-http' },
  },
  {
    name: 'mcp-go, Streamable HTTP (stateless)',
    start: async () => {
      const peer = await startGoPeer({ sdk: 'mcp-go', transport: 'streamable-http', stateless: true });
      return { baseUrl: peer.baseUrl, streamable: '/mcp', close: () => peer.close() };
    },
    expect: { streamable: 'streamable-http', root: 'streamable-http' },
  },
];

/**
 * Opens the SSE stream as a client would and returns the message URL its
 * endpoint event names (with the session id), and a function that closes it.
 */
async function liveSession(streamUrl: string): Promise<{ messageUrl: string; close(): void }> {
  const controller = new AbortController();
  const response = await fetch(streamUrl, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const match = /event: ?endpoint\r?\ndata: ?([^\r\n]+)/.exec(text);
    if (match) return { messageUrl: new URL(match[1]!, streamUrl).href, close: () => controller.abort() };
  }
  controller.abort();
  throw new Error(`no endpoint event from ${streamUrl}: ${text.slice(0, 200)}`);
}

/** The URL of `kind` on `peer`, and what to undo after probing it. */
async function urlOf(peer: Running, kind: UrlKind): Promise<{ url: string; done(): void }> {
  const at = (path: string) => ({ url: new URL(path, peer.baseUrl).href, done: () => {} });
  switch (kind) {
    case 'stream':
      return at(peer.stream!);
    case 'streamable':
      return at(peer.streamable!);
    case 'root':
      return at('/');
    case 'message':
      return at(peer.message!.path);
    case 'message, stale session':
      return at(`${peer.message!.path}?${peer.message!.param}=0f0f0f0f-dead-beef-0000-000000000000`);
    case 'message, live session': {
      const session = await liveSession(new URL(peer.stream!, peer.baseUrl).href);
      return { url: session.messageUrl, done: session.close };
    }
  }
}

/** Collected for the summary printed at the end: peer, URL, expected, got. */
const table: Array<[string, UrlKind, string, Protocol, Protocol]> = [];

describe('the prober against every SDK, at every URL', () => {
  after(() => {
    const lines = table.map(([peer, kind, path, want, got]) => `${want === got ? 'ok  ' : 'FAIL'} ${peer.padEnd(46)} ${kind.padEnd(24)} ${path.padEnd(22)} ${got}`);
    process.stderr.write(`\nclassification (peer, URL, path, result):\n${lines.join('\n')}\n`);
  });

  for (const peer of peers) {
    describe(peer.name, () => {
      let running: Running | undefined;
      let failed: unknown;
      const ensure = async (): Promise<Running> => {
        if (failed) throw failed;
        if (!running) {
          try {
            running = await peer.start();
          } catch (err) {
            failed = err;
            throw err;
          }
        }
        return running;
      };
      after(async () => {
        await running?.close();
      });
      for (const [kind, want] of Object.entries(peer.expect) as Array<[UrlKind, Protocol]>) {
        it(`${kind} -> ${want}`, async () => {
          const server = await ensure();
          const { url, done } = await urlOf(server, kind);
          try {
            const result = await detectTransport(url, { timeoutMs: 5000 });
            table.push([peer.name, kind, new URL(url).pathname + (new URL(url).search ? '?…' : ''), want, result.protocol]);
            assert.equal(result.protocol, want, `${url}: ${result.reason}`);
            assert.equal(result.authRequired, false);
          } finally {
            done();
          }
        });
      }
    });
  }
});

/**
 * Detection against real servers from the official SDKs: the TypeScript SDK
 * in-process, the Python SDK as a child process (venv from
 * test/support/peers/setup-python.sh; missing venv fails the test, never skips).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { detectTransport } from '../../src/prober/detect.ts';
import { requirePython, startPythonServer, type PythonPeer } from '../support/peers/python-peer.ts';
import { startSdkServer, type SdkServerKind } from '../support/peers/sdk-servers.ts';

interface Case {
  name: string;
  kind: SdkServerKind;
  path: string;
  protocol: 'sse' | 'streamable-http' | 'unknown';
  protocolVersion?: string;
  reason: RegExp;
}

const sdkCases: Case[] = [
  { name: 'SSE server', kind: 'sse', path: '/sse', protocol: 'sse', protocolVersion: '2024-11-05', reason: /first event is endpoint, on the same origin$/ },
  { name: 'SSE server, wrong path', kind: 'sse', path: '/mcp', protocol: 'unknown', reason: /POST initialize answered HTTP 404; GET answered HTTP 404/ },
  { name: 'stateless Streamable HTTP', kind: 'stateless', path: '/mcp', protocol: 'streamable-http', protocolVersion: '2025-11-25', reason: /SSE-framed result$/ },
  { name: 'stateless Streamable HTTP, JSON responses', kind: 'json', path: '/mcp', protocol: 'streamable-http', protocolVersion: '2025-11-25', reason: /a JSON result$/ },
  { name: 'stateful Streamable HTTP', kind: 'stateful', path: '/mcp', protocol: 'streamable-http', protocolVersion: '2025-11-25', reason: /stateful \(Mcp-Session-Id\)/ },
  { name: 'both transports, /mcp', kind: 'both', path: '/mcp', protocol: 'streamable-http', protocolVersion: '2025-11-25', reason: /Streamable HTTP/ },
  { name: 'both transports, /sse', kind: 'both', path: '/sse', protocol: 'sse', protocolVersion: '2024-11-05', reason: /HTTP\+SSE/ },
];

describe('detectTransport against @modelcontextprotocol/sdk servers', () => {
  for (const c of sdkCases) {
    it(c.name, async () => {
      const peer = await startSdkServer(c.kind);
      try {
        const result = await detectTransport(peer.baseUrl + c.path);
        assert.equal(result.protocol, c.protocol, result.reason);
        assert.equal(result.protocolVersion, c.protocolVersion);
        assert.equal(result.authRequired, false);
        assert.match(result.reason, c.reason);
        if (c.protocol !== 'unknown') assert.equal(result.endpoint, peer.baseUrl + c.path);
        assert.ok(result.latencyMs >= 0 && result.latencyMs < 5000);
      } finally {
        await peer.close();
      }
    });
  }

  it('ends the session it opened on a stateful server with DELETE', async () => {
    const peer = await startSdkServer('stateful');
    try {
      await detectTransport(`${peer.baseUrl}/mcp`);
      assert.equal(peer.deletedSessions, 1);
      assert.equal(peer.openSessions(), 0);
    } finally {
      await peer.close();
    }
  });

  it('closes the SSE stream it opened, so the server drops the session', async () => {
    const peer = await startSdkServer('sse');
    try {
      await detectTransport(`${peer.baseUrl}/sse`);
      const until = Date.now() + 2000;
      while (peer.openSessions() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      assert.equal(peer.openSessions(), 0);
    } finally {
      await peer.close();
    }
  });

  it('gives the same reason on every probe of an unchanged server (no annotation churn)', async () => {
    const peer = await startSdkServer('sse');
    try {
      const first = await detectTransport(`${peer.baseUrl}/sse`);
      const second = await detectTransport(`${peer.baseUrl}/sse`);
      assert.equal(first.reason, second.reason);
    } finally {
      await peer.close();
    }
  });
});

describe('detectTransport against Python SDK (mcp on PyPI) servers', () => {
  const peers: Partial<Record<'sse' | 'streamable-http', PythonPeer>> = {};
  /** The running peer, or the reason there is none: a missing venv fails every test, by name. */
  const peer = (transport: 'sse' | 'streamable-http'): PythonPeer => {
    requirePython();
    const running = peers[transport];
    if (!running) throw new Error(`python ${transport} peer did not start (see the before hook)`);
    return running;
  };
  before(async () => {
    try {
      requirePython();
    } catch {
      return; // reported by each test below, so the failure counts as failed, not cancelled
    }
    // Started together: each takes a second or two to import the SDK.
    [peers.sse, peers['streamable-http']] = await Promise.all([
      startPythonServer('sse'),
      startPythonServer('streamable-http'),
    ]);
  });
  after(async () => {
    await Promise.all([peers.sse?.close(), peers['streamable-http']?.close()]);
  });

  it('sse run: legacy HTTP+SSE on /sse', async () => {
    const result = await detectTransport(`${peer('sse').baseUrl}/sse`);
    assert.equal(result.protocol, 'sse', result.reason);
    assert.equal(result.protocolVersion, '2024-11-05');
    assert.match(result.reason, /first event is endpoint, on the same origin$/);
  });

  it('sse run: nothing on /mcp', async () => {
    const result = await detectTransport(`${peer('sse').baseUrl}/mcp`);
    assert.equal(result.protocol, 'unknown');
  });

  it('streamable-http run: Streamable HTTP on /mcp, stateful', async () => {
    const result = await detectTransport(`${peer('streamable-http').baseUrl}/mcp`);
    assert.equal(result.protocol, 'streamable-http', result.reason);
    assert.equal(result.protocolVersion, '2025-11-25');
    assert.match(result.reason, /Mcp-Session-Id/);
  });
});

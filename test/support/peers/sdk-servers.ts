/**
 * Real MCP servers built with the official TypeScript SDK
 * (`@modelcontextprotocol/sdk`), started in-process on 127.0.0.1 with a free
 * port. They are the peers the prober must recognise:
 * - `sse`: the legacy HTTP+SSE transport (2024-11-05), GET /sse + POST /messages;
 * - `stateless`: Streamable HTTP without sessions, on /mcp;
 * - `stateful`: Streamable HTTP with `Mcp-Session-Id`, on /mcp, counting DELETEs;
 * - `json`: stateless Streamable HTTP answering with JSON bodies, not SSE;
 * - `both`: Streamable HTTP on /mcp and HTTP+SSE on /sse, as servers migrating do.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export type SdkServerKind = 'sse' | 'stateless' | 'stateful' | 'json' | 'both';

/** A running peer: its base URL (no path), counters the tests read, and `close`. */
export interface RunningPeer {
  baseUrl: string;
  /** DELETE requests that ended a session (stateful only). */
  deletedSessions: number;
  /** Sessions still open on the server. */
  openSessions(): number;
  close(): Promise<void>;
}

function newMcpServer(): McpServer {
  const server = new McpServer({ name: 'peer', version: '1.0.0' });
  server.registerTool('ping', { description: 'answers pong' }, async () => ({
    content: [{ type: 'text', text: 'pong' }],
  }));
  return server;
}

/** Starts one SDK peer of `kind` on `host` (default 127.0.0.1) and a free port. */
export async function startSdkServer(kind: SdkServerKind, host = '127.0.0.1'): Promise<RunningPeer> {
  const app = express();
  app.use(express.json());
  const sseSessions = new Map<string, SSEServerTransport>();
  const httpSessions = new Map<string, StreamableHTTPServerTransport>();
  const peer = { deletedSessions: 0 };

  if (kind === 'sse' || kind === 'both') {
    app.get('/sse', async (_req: Request, res: Response) => {
      const transport = new SSEServerTransport('/messages', res);
      sseSessions.set(transport.sessionId, transport);
      res.on('close', () => sseSessions.delete(transport.sessionId));
      await newMcpServer().connect(transport);
    });
    app.post('/messages', async (req: Request, res: Response) => {
      const transport = sseSessions.get(String(req.query.sessionId));
      if (!transport) {
        res.status(400).send('no transport for sessionId');
        return;
      }
      await transport.handlePostMessage(req, res, req.body);
    });
  }

  if (kind === 'stateless' || kind === 'json' || kind === 'both') {
    app.post('/mcp', async (req: Request, res: Response) => {
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: kind === 'json',
      });
      const server = newMcpServer();
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    });
    // The SDK's stateless examples answer GET and DELETE with 405.
    app.all('/mcp', (_req: Request, res: Response) => {
      res.status(405).set('allow', 'POST').json({
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Method not allowed.' },
        id: null,
      });
    });
  }

  if (kind === 'stateful') {
    app.all('/mcp', async (req: Request, res: Response) => {
      const sessionId = req.header('mcp-session-id');
      let transport = sessionId ? httpSessions.get(sessionId) : undefined;
      if (!transport && req.method === 'POST' && !sessionId) {
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            httpSessions.set(id, created);
          },
        });
        created.onclose = () => {
          if (created.sessionId) httpSessions.delete(created.sessionId);
        };
        await newMcpServer().connect(created);
        transport = created;
      }
      if (!transport) {
        res.status(400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: no valid session' }, id: null });
        return;
      }
      if (req.method === 'DELETE') peer.deletedSessions += 1;
      await transport.handleRequest(req, res, req.body);
    });
  }

  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, host, () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://${host}:${port}`,
    get deletedSessions() {
      return peer.deletedSessions;
    },
    openSessions: () => httpSessions.size + sseSessions.size,
    close: async () => {
      for (const transport of sseSessions.values()) await transport.close();
      for (const transport of httpSessions.values()) await transport.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

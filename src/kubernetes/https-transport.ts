/**
 * Calls to the API server over node:https (or node:http for a plain-HTTP
 * server) through one keep-alive Agent per TLS material (kube-access.ts).
 * node:https is loaded by serve anyway (its own server); undici, which the
 * client used before, cost about 21 MB of RSS to import (issue 13).
 *
 * HTTP/1.1, so each open watch holds a connection of its own and the calls
 * share the rest. The Agent keeps at most {@link MAX_IDLE_CONNECTIONS} idle
 * connections, reuses the most recent first (`lifo`, so the others go idle)
 * and closes an idle one after the Agent's `timeout` (Node's Agent destroys a
 * free socket that times out; `_http_agent.js`, onTimeout). That is
 * client-go's bound (net/http's MaxIdleConnsPerHost, 25 in client-go's
 * transport), not a bound on connections in use: watches share the Agent,
 * and a `maxSockets` below the number of open watches would queue every
 * call behind watches that last minutes.
 *
 * A watch is quiet while nothing changes, so its request sets a timeout of 0
 * on its socket while it is open (the Agent restores the idle timeout when
 * the socket is free again, `keepSocketAlive`).
 *
 * A reused keep-alive connection the server closed meanwhile fails the next
 * call before any byte of the answer (ECONNRESET, EPIPE, "socket hang up").
 * That call is sent again once, on a fresh connection, following Go's
 * net/http (`transport.go`, `persistConn.shouldRetryRequest`): only on a
 * reused connection ("a fresh connection: there's no reason the server
 * should've hung up on us"), only when nothing of the answer was read, and
 * only for a replayable request (`Request.isReplayable`: GET, HEAD, OPTIONS,
 * TRACE). A POST, PUT or PATCH is not sent twice: the server may have acted
 * on it before the connection broke (client-go's own retry, `rest/request.go`,
 * likewise retries a connection reset for GET only).
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type AgentOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { Transport, TransportRequest, TransportResponse } from './transport.ts';

/** Idle connections kept per Agent (a burst of calls may open more; they close as they go idle). */
export const MAX_IDLE_CONNECTIONS = 4;

/** The TLS material of one pool, as node:tls takes it. */
export type TlsMaterial = Pick<AgentOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;

/** Go's Request.isReplayable methods (a request without an Idempotency-Key header). */
const REPLAYABLE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** The errors of a connection closed under a request. */
const BROKEN = new Set(['ECONNRESET', 'EPIPE']);

async function readText(body: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** See the module comment. */
export class HttpsTransport implements Transport {
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private closing = false;

  /**
   * @param secure https (else plain http, for a server URL such as http://localhost:8080)
   * @param idleMs how long an idle connection stays open
   */
  constructor(secure: boolean, tls: TlsMaterial, idleMs: number) {
    const options = { keepAlive: true, maxFreeSockets: MAX_IDLE_CONNECTIONS, scheduling: 'lifo' as const, timeout: idleMs };
    this.agent = secure ? new HttpsAgent({ ...options, ...tls }) : new HttpAgent(options);
    this.send = secure ? (httpsRequest as typeof httpRequest) : httpRequest;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.closing;
  }

  /** Connections open, in use or idle (for tests). */
  connectionCount(): number {
    const count = (sockets: NodeJS.ReadOnlyDict<Socket[]>) => Object.values(sockets).reduce((n, list) => n + (list?.length ?? 0), 0);
    return count(this.agent.sockets) + count(this.agent.freeSockets);
  }

  /**
   * Stops pooling: idle connections close now, those in use (a watch, a
   * call) when their request ends; nothing is cut.
   */
  close(): void {
    this.closing = true;
    // The Agent destroys a socket freed while maxFreeSockets is 0 (_http_agent.js, 'free').
    this.agent.maxFreeSockets = 0;
    for (const list of Object.values(this.agent.freeSockets)) for (const socket of list ?? []) socket.destroy();
  }

  request(request: TransportRequest): Promise<TransportResponse> {
    return this.attempt(request, false);
  }

  private attempt(request: TransportRequest, retry: boolean): Promise<TransportResponse> {
    const { url, method, headers, body, signal, stream } = request;
    return new Promise((resolve, reject) => {
      const options: RequestOptions = {
        agent: this.agent,
        method,
        headers: body !== undefined ? { ...headers, 'content-length': String(Buffer.byteLength(body)) } : headers,
        ...(signal ? { signal } : {}),
        ...(stream ? { timeout: 0 } : {}),
      };
      let call: ClientRequest;
      let socket: Socket | undefined;
      let readBefore = 0;
      let answered = false;
      try {
        call = this.send(url, options, (response) => {
          answered = true;
          resolve({ statusCode: response.statusCode ?? 0, body: response, text: () => readText(response) });
        });
      } catch (err) {
        reject(err);
        return;
      }
      call.on('socket', (assigned: Socket) => {
        socket = assigned;
        readBefore = assigned.bytesRead;
      });
      call.on('error', (err: NodeJS.ErrnoException) => {
        if (answered) return; // The response stream reports it to its reader.
        const nothingRead = socket !== undefined && socket.bytesRead === readBefore;
        if (!retry && call.reusedSocket && nothingRead && BROKEN.has(err.code ?? '') && REPLAYABLE.has(method) && !signal?.aborted && !this.closing) {
          resolve(this.attempt(request, true));
          return;
        }
        reject(err);
      });
      call.end(body);
    });
  }
}

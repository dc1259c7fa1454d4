/**
 * The HTTPS admission server and the plain metrics server, with graceful
 * shutdown: readiness fails first, the listener closes after a delay so the
 * Service's endpoints drop this pod, in-flight reviews finish, then exit.
 */
import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { CertificateSource } from './certificate-source.ts';
import type { AdmissionMetrics } from './metrics.ts';
import { serverTlsOptions } from './tls-settings.ts';
import type express from 'express';

/** Time a just-accepted connection has to send its request once the listener is closed. */
const IDLE_CONNECTION_GRACE_MS = 1000;
/**
 * Longest wait for in-flight reviews once the listener is closed. The API
 * server gives up on a webhook call after timeoutSeconds (5 in deploy/), so
 * nothing legitimate runs longer; well inside the pod's 30 s grace period.
 */
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Idle keep-alive connections outlive the API server's: its webhook client
 * (client-go transport/cache.go, through k8s.io/apimachinery
 * pkg/util/net/http.go SetOldTransportDefaults) takes IdleConnTimeout from
 * Go's http.DefaultTransport, 90 s. Closing first races the API server's next
 * request on the same connection, which it then sees as a failed call.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;
/**
 * A client gets this long to finish the TLS handshake, then to send its
 * request headers. The API server does both in milliseconds; a tenant that
 * trickles them holds a connection (some 55 KB) for this long.
 */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
export const HEADERS_TIMEOUT_MS = 5_000;
/**
 * Node enforces headersTimeout and requestTimeout only when it sweeps its
 * connections, every connectionsCheckingInterval (30 s by default), so a
 * 10 s headers timeout held connections 30-40 s. A sweep walks only the
 * connections with a request in progress: once a second costs nothing.
 */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;
/**
 * Whole request, body included, and any wait for the in-flight byte
 * budget (body-budget.ts): the API server has given up after timeoutSeconds
 * (5 in deploy/, at most 30) anyway.
 */
export const REQUEST_TIMEOUT_MS = 30_000;
/**
 * Connections at once; more are closed as they arrive. At some 55 KB each
 * (BENCHMARKS.md, hostile tenant) 1,000 take 55 MB of the pod's 384 Mi. The
 * API server keeps up to 25 idle connections per webhook host
 * (client-go transport/cache.go idleConnsPerHost), so this leaves room for
 * many API servers and bursts, while a tenant opening thousands cannot
 * exhaust memory; its connections are cut by the timeouts above.
 */
export const MAX_CONNECTIONS = 1_000;

export interface ServerOptions {
  app: express.Express;
  certificates: CertificateSource;
  metrics: AdmissionMetrics;
  logger: Logger;
  host: string;
  port: number;
  metricsPort: number;
  shutdownDelayMs: number;
  /** Longest wait for open connections once the listener is closed; default 10 s. */
  drainTimeoutMs?: number;
  /** Connections at once; default {@link MAX_CONNECTIONS}. */
  maxConnections?: number;
}

export interface RunningServer {
  /** Actual ports (useful when 0 asked for a free one). */
  port: number;
  metricsPort: number;
  /** True between start and the beginning of shutdown. */
  accepting(): boolean;
  /** Fails readiness, waits the delay, stops accepting, lets in-flight requests finish. */
  shutdown(): Promise<void>;
}

export async function startServers(options: ServerOptions): Promise<RunningServer> {
  const { certificates, logger } = options;
  let accepting = true;
  const https: HttpsServer = createHttpsServer(
    {
      ...serverTlsOptions(certificates.current()),
      // Node's default is 2 minutes.
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
    },
    (req, res) => {
      // While draining, every answer closes its connection, so keep-alive
      // clients (the API server) open their next one to a pod that stays.
      if (!accepting) res.setHeader('connection', 'close');
      options.app(req, res);
    },
  );
  https.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  // Every TCP connection, from before its handshake on: the HTTP layer's
  // closeAllConnections() knows only connections that finished one.
  const sockets = new Set<Socket>();
  https.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Every connection that finished its handshake: the sockets HTTP is spoken on.
  const secured = new Set<TLSSocket>();
  https.on('secureConnection', (socket: TLSSocket) => {
    secured.add(socket);
    socket.once('close', () => secured.delete(socket));
  });
  certificates.onChange((pair) => {
    https.setSecureContext(serverTlsOptions(pair));
    logger.info('serving certificate reloaded');
  });

  const metricsServer: HttpServer = createHttpServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      options.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else {
      res.writeHead(404).end();
    }
  });

  await Promise.all([listen(https, options.host, options.port), listen(metricsServer, options.host, options.metricsPort)]);
  const port = (https.address() as AddressInfo).port;
  const metricsPort = (metricsServer.address() as AddressInfo).port;
  logger.info({ port, metricsPort }, 'mcp-admission serving');

  return {
    port,
    metricsPort,
    accepting: () => accepting,
    async shutdown() {
      if (!accepting) return;
      accepting = false;
      // Requests that arrived before draining began and are answered after
      // it: their answers close the connection too. Left keep-alive, the
      // connection would sit idle until closeIdleConnections(), and a client
      // that sent its next request at that moment would see a reset. The
      // answer in progress on a connection is the one Node's own
      // closeIdleConnections() looks at (lib/_http_server.js, socket._httpMessage).
      // Found here, at shutdown, rather than kept in a set from each request
      // on: a long-lived set holding every answer in flight made the young
      // generation promote some 330 KB per scavenge under load (the answers
      // and all they reach), which the blocks floor does not (4 KB), and the
      // old generation then needed a full collection every half second
      // (BENCHMARKS.md, "What serve spends per review over the blocks floor").
      // A pipelining client's answers queued behind the one in progress are
      // not reached; the API server does not pipeline (Go's net/http).
      for (const socket of secured) {
        const res = (socket as TLSSocket & { _httpMessage?: ServerResponse | null })._httpMessage;
        if (res && !res.headersSent) res.setHeader('connection', 'close');
      }
      logger.info({ delayMs: options.shutdownDelayMs }, 'shutting down: readiness now fails');
      await new Promise((resolve) => setTimeout(resolve, options.shutdownDelayMs));
      // Stop accepting, but not the way https.Server#close does it: that also
      // drops every connection without a request in progress, including one
      // accepted a moment ago whose request is on its way, which its client
      // sees as a reset. Since draining began every answer closes its
      // connection, so after a short grace only such stragglers remain idle.
      const closed = new Promise<void>((resolve) => TlsServer.prototype.close.call(https, () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, IDLE_CONNECTION_GRACE_MS));
      https.closeIdleConnections();
      // A connection that never completes a request (a stalled handshake, a
      // client that went quiet) would hold close() open past the pod's grace
      // period; after the drain timeout, whatever is left is cut.
      const cut = setTimeout(() => {
        logger.warn({ connections: sockets.size }, 'connections still open after the drain timeout: closing them');
        for (const socket of sockets) socket.destroy();
      }, options.drainTimeoutMs ?? DRAIN_TIMEOUT_MS);
      await closed;
      clearTimeout(cut);
      await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      certificates.stop();
      logger.info('shut down');
    },
  };
}

function listen(server: HttpServer | HttpsServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

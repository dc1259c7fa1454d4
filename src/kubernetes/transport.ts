/**
 * How a call reaches the API server, whatever carries it: node:https with a
 * keep-alive pool for static credentials (https-transport.ts), or the undici
 * dispatcher client-node hands out for the configurations only it can serve
 * (dispatcher-transport.ts, loaded only then). The client (kube-client.ts)
 * sees this interface alone, so serve with static credentials loads neither
 * client-node nor undici (importing undici costs about 21 MB of RSS).
 */

import type { Readable } from 'node:stream';

/** One call. */
export interface TransportRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  /** The body, already serialised. */
  body?: string;
  signal?: AbortSignal;
  /** A watch: quiet for as long as nothing changes, so no idle limit applies while it is open. */
  stream?: boolean;
}

/** The answer: status, then the body as it arrives. */
export interface TransportResponse {
  readonly statusCode: number;
  /** The body as it arrives; read it or call {@link text} so the connection can be reused. */
  readonly body: Readable;
  /** The whole body as UTF-8 text. */
  text(): Promise<string>;
}

/** See the module comment. */
export interface Transport {
  request(request: TransportRequest): Promise<TransportResponse>;
}

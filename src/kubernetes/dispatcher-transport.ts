/**
 * A {@link Transport} over an undici dispatcher: what client-node hands out
 * for the configurations only it can serve (exec and auth-provider users,
 * proxies; kube-access.ts). Loaded only then; it imports undici's types alone.
 */
import type { Dispatcher } from 'undici';
import type { Transport, TransportResponse } from './transport.ts';

/** Calls through `dispatcher`; watches without undici's body timeout. */
export function dispatcherTransport(dispatcher: Dispatcher): Transport {
  return {
    async request({ url, method, headers, body, signal, stream }): Promise<TransportResponse> {
      const response = await dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: method as Dispatcher.HttpMethod,
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(signal ? { signal } : {}),
        // A watch is quiet for as long as nothing changes (bookmarks aside):
        // only the server's timeoutSeconds ends it.
        ...(stream ? { bodyTimeout: 0 } : {}),
      });
      return {
        statusCode: response.statusCode,
        body: response.body,
        text: () => response.body.text(),
      };
    },
  };
}

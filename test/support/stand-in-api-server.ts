/**
 * A stand-in API server for the Kubernetes client's unit tests: node:http on
 * loopback, answering with the test's handler, and a {@link KubeClient}
 * with static credentials pointed at it. The tests use it for what a real
 * kube-apiserver does only by chance (where a stream's chunks break, a 410,
 * a connection closed under a request); the client against a real API
 * server is tested in test/e2e.
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { StaticKubeAccess } from '../../src/kubernetes/kube-access.ts';
import { KubeClient } from '../../src/kubernetes/kube-client.ts';

export interface StandInApiServer {
  server: Server;
  client: KubeClient;
  /** Closes the client's pools, then every connection and the listener. */
  close(): Promise<void>;
}

/** Listens on a free loopback port; `idleMs` is the client's idle-connection timeout (the product's default if absent). */
export async function startStandInApiServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  { serverOptions = {}, idleMs }: { serverOptions?: ServerOptions; idleMs?: number } = {},
): Promise<StandInApiServer> {
  const server = createServer(serverOptions, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const material = { cluster: { server: `http://127.0.0.1:${port}` }, user: { token: 't' } };
  const client = new KubeClient(idleMs === undefined ? new StaticKubeAccess('test', material) : new StaticKubeAccess('test', material, Date.now, idleMs));
  return {
    server,
    client,
    async close() {
      await client.access.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

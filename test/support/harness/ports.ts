/**
 * Free TCP ports on 127.0.0.1, asked of the kernel (as envtest does): every
 * run gets its own, so runs and leftover processes never collide on a fixed
 * port.
 */
import { createServer, type Server } from 'node:net';

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('listening socket has no TCP address'));
      } else {
        resolve(address.port);
      }
    });
  });
}

/**
 * Returns `count` distinct free ports. All are held open until every one is
 * known, so one call never returns the same port twice. Another process can
 * still take a port between this call and its use; that window is short.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(servers.map(listen));
  } finally {
    await Promise.all(
      servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }
}

/**
 * Which pool an API call gets: the same one while the API server and the
 * TLS material stay, a new one (the old closed) when a client certificate
 * changes on disk, never more than MAX_POOLS; headers still come from
 * client-node on every call. No connection is made: the pools are compared,
 * the connection counts are proved on a real API server
 * (test/e2e/kube-connections.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { loadKubeConfig, MAX_POOLS, type PooledKubeConfig } from '../../../src/kubernetes/kube-config.ts';

async function dispatcherOf(config: PooledKubeConfig, server = 'https://127.0.0.1:6443'): Promise<{ dispatcher: unknown; headers: Record<string, string> }> {
  const context = new RequestContext(`${server}/api/v1/namespaces`, HttpMethod.GET);
  await config.applySecurityAuthentication(context);
  return { dispatcher: context.getDispatcher(), headers: context.getHeaders() };
}

describe('PooledKubeConfig', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kube-config-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function kubeconfig(servers: string[], user: Record<string, string>): Promise<string> {
    const file = join(dir, `kubeconfig-${servers.length}-${Object.keys(user).join('-')}`);
    await writeFile(join(dir, 'ca.crt'), 'ca bytes');
    await writeFile(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: servers.map((server, i) => ({ name: `c${i}`, cluster: { server, 'certificate-authority': join(dir, 'ca.crt') } })),
        users: [{ name: 'u', user }],
        contexts: servers.map((_, i) => ({ name: `c${i}`, context: { cluster: `c${i}`, user: 'u' } })),
        'current-context': 'c0',
      }),
    );
    return file;
  }

  it('gives every call to one API server the same pool, with the headers client-node sets', async () => {
    const config = loadKubeConfig({ kubeconfig: await kubeconfig(['https://127.0.0.1:6443'], { token: 'abc' }) });
    const first = await dispatcherOf(config);
    const second = await dispatcherOf(config);
    assert.ok(first.dispatcher);
    assert.equal(second.dispatcher, first.dispatcher);
    assert.equal(second.headers.Authorization, 'Bearer abc');
    assert.equal(config.poolCount(), 1);
    await config.close();
    assert.equal(config.poolCount(), 0);
  });

  it('makes a new pool when the client certificate changes on disk, and closes the old one', async () => {
    await writeFile(join(dir, 'client.crt'), 'certificate one');
    await writeFile(join(dir, 'client.key'), 'key one');
    const config = loadKubeConfig({
      kubeconfig: await kubeconfig(['https://127.0.0.1:6443'], { 'client-certificate': join(dir, 'client.crt'), 'client-key': join(dir, 'client.key') }),
    });
    const before = (await dispatcherOf(config)).dispatcher as { closed: boolean };
    assert.equal((await dispatcherOf(config)).dispatcher, before);
    await writeFile(join(dir, 'client.crt'), 'certificate two');
    await writeFile(join(dir, 'client.key'), 'key two');
    const rotated = (await dispatcherOf(config)).dispatcher;
    assert.notEqual(rotated, before);
    assert.equal(before.closed, true, 'the pool of the old certificate is closed');
    assert.equal((await dispatcherOf(config)).dispatcher, rotated);
    assert.equal(config.poolCount(), 1);
    await config.close();
  });

  it(`keeps at most ${MAX_POOLS} pools, closing the least recently used`, async () => {
    const servers = Array.from({ length: MAX_POOLS + 2 }, (_, i) => `https://127.0.0.${i + 1}:6443`);
    const config = loadKubeConfig({ kubeconfig: await kubeconfig(servers, { token: 'abc' }) });
    const pools: Array<{ closed: boolean }> = [];
    for (let i = 0; i < servers.length; i += 1) {
      config.setCurrentContext(`c${i}`);
      pools.push((await dispatcherOf(config, servers[i])).dispatcher as { closed: boolean });
    }
    assert.equal(config.poolCount(), MAX_POOLS);
    assert.deepEqual(
      pools.map((pool) => pool.closed),
      servers.map((_, i) => i < 2),
    );
    await config.close();
  });
});

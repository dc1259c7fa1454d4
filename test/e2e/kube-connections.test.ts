/**
 * How many TLS connections the webhook's Kubernetes client opens on a real
 * API server (issue 13). client-node made a new connection pool for every
 * call, so every list, watch, Lease read and renewal opened a TLS connection
 * of its own. The client goes through a loopback TCP proxy that passes the
 * TLS bytes through and counts the sockets it accepts; the webhook's own
 * informers (policies, namespaces, front-door facts) run meanwhile, and a
 * watch must still deliver after the calls. The client is the webhook's own
 * (src/kubernetes/kube-client.ts): HTTP/1.1 over one node:https keep-alive
 * Agent per TLS material, so each open watch holds a connection and the
 * calls share a few more; what must hold is that the count does not grow
 * with the number of calls.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Lease } from '@kubernetes/client-node';
import { pino } from 'pino';
import { ensureNamespace, startE2E, type E2E } from '../support/harness.ts';
import { InformerClusterFacts } from '../../src/kubernetes/cluster-facts.ts';
import { loadKubeAccess } from '../../src/kubernetes/kube-access.ts';
import { KubeClient } from '../../src/kubernetes/kube-client.ts';
import { microTime } from '../../src/kubernetes/micro-time.ts';
import { clusterLeaseApi } from '../../src/kubernetes/lease-api.ts';
import { ClusterSettingsSource } from '../../src/settings/cluster-source.ts';

/** Lease calls made while the informers run: a read and a replace each. */
const RENEWALS = 25;

interface CountingProxy {
  url: string;
  accepted(): number;
  close(): Promise<void>;
}

/** A TCP proxy to `target` on loopback that counts the connections it accepts; TLS passes through untouched. */
async function countingProxy(target: URL): Promise<CountingProxy> {
  let accepted = 0;
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((client) => {
    accepted += 1;
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `https://127.0.0.1:${port}`,
    accepted: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the Kubernetes client on a real API server', () => {
  let env: E2E;
  let proxy: CountingProxy;
  let client: KubeClient | undefined;
  let settings: ClusterSettingsSource | undefined;
  let facts: InformerClusterFacts | undefined;
  before(async () => {
    env = await startE2E({ webhook: false });
    proxy = await countingProxy(new URL(env.controlPlane.url));
    // The admin kubeconfig (JSON) with the proxy as the server; same CA, same client certificate.
    const config = JSON.parse(await readFile(env.controlPlane.kubeconfig, 'utf8')) as { clusters: Array<{ cluster: { server: string } }> };
    for (const { cluster } of config.clusters) cluster.server = proxy.url;
    const proxied = join(env.dir, 'kubeconfig-proxied');
    await writeFile(proxied, JSON.stringify(config), { mode: 0o600 });
    client = new KubeClient(await loadKubeAccess({ kubeconfig: proxied }));
  });
  after(async () => {
    await Promise.all([settings?.stop(), facts?.stop()]);
    await client?.access.close();
    await proxy?.close();
    await env?.stop();
  });

  it(`opens a constant number of connections, not one per call: the open watches and a small pool, ${RENEWALS} Lease renewals beside the webhook's informers`, async (t) => {
    const config = client as KubeClient;
    const logger = pino({ level: 'silent' });
    settings = new ClusterSettingsSource({ client: config, logger });
    facts = new InformerClusterFacts({ client: config, logger });
    await Promise.all([settings.start(), facts.start()]);
    const synced = proxy.accepted();

    const lease = clusterLeaseApi(config, 'default', 'connections');
    let current: V1Lease = await lease.create({
      metadata: { name: 'connections', namespace: 'default' },
      spec: { holderIdentity: 'test', leaseDurationSeconds: 15, renewTime: microTime(new Date()) },
    });
    const renew = async (times: number) => {
      for (let i = 0; i < times; i += 1) {
        const read = await lease.read();
        assert.ok(read, 'the Lease is there');
        current = await lease.replace({ ...read, spec: { ...read.spec, renewTime: microTime(new Date()) } });
      }
    };
    await renew(RENEWALS);
    assert.ok(current.metadata?.resourceVersion);
    const afterRenewals = proxy.accepted();
    // As many calls again: a pool that grew with the calls would open more.
    await renew(RENEWALS);
    const total = proxy.accepted();
    t.diagnostic(
      `connections: ${synced} for 7 informers (a list, then a watch holding its connection, each), ` +
        `${afterRenewals - synced} more for ${1 + 2 * RENEWALS} Lease calls, ${total - afterRenewals} for ${2 * RENEWALS} more; ${config.access.poolCount()} pool`,
    );
    // Before the pool: one connection per call (7 lists, 7 watches, 101 Lease calls).
    // HTTP/1.1: the 7 open watches hold one each; the lists and the calls share the rest.
    assert.ok(synced <= 7 + 7, `${synced} connections for 7 lists and 7 watches`);
    assert.ok(afterRenewals - synced <= 2, `${afterRenewals - synced} connections for ${1 + 2 * RENEWALS} Lease calls`);
    assert.equal(total, afterRenewals, `${2 * RENEWALS} more sequential calls opened ${total - afterRenewals} new connections`);
    assert.equal(config.access.poolCount(), 1);

    // The watches share the pool and still deliver: a namespace labelled
    // for the default policy's neighbour shows up in the settings.
    await env.apply({
      apiVersion: 'mcp-admission.dev/v1alpha1',
      kind: 'MCPTransportPolicy',
      metadata: { name: 'team-connections' },
      spec: { mode: 'mutate', namespaceSelector: { matchLabels: { team: 'connections' } }, defaults: { terminationGracePeriodSeconds: 321 } },
    });
    await ensureNamespace(env.kubectl, 'connections');
    const labelled = await env.kubectl(['label', 'namespace', 'connections', 'team=connections']);
    assert.equal(labelled.code, 0, labelled.stderr);
    for (const started = performance.now(); settings.settingsFor('connections').terminationGracePeriodSeconds !== 321; ) {
      assert.ok(performance.now() - started < 30_000, 'the informers saw no labelled namespace and policy 30 s after they were applied');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
});

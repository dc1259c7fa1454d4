/**
 * kube-proxy's job for one Service, done by the test. STAND-IN: the harness
 * has no kube-proxy, and none can run here (this machine has neither
 * iptables nor nft for its iptables or nftables modes). What it does is what
 * kube-proxy's userspace proxier did (removed in Kubernetes 1.26) and what
 * its iptables rules do today: accept TCP connections on the Service's
 * ClusterIP and port, and forward each to one ready endpoint of the
 * Service's EndpointSlices; with `sessionAffinity: ClientIP`, connections
 * from one source address go to the endpoint that address went to before,
 * for `sessionAffinityConfig.clientIP.timeoutSeconds` (the iptables mode's
 * `-m recent --rcheck --seconds`), else to the next endpoint in turn.
 *
 * Runs inside the test's node network namespace (test/support/harness/netns.ts):
 * the ClusterIP is added to that namespace's loopback, never the machine's.
 */
import { execFileSync } from 'node:child_process';
import { connect, createServer, type Server } from 'node:net';
import { getJson, type Kubectl } from './kubectl.ts';

type Json = Record<string, any>;

/** A running stand-in for one Service. */
export interface ClusterIpProxy {
  clusterIP: string;
  port: number;
  /** Connections forwarded, by endpoint address. */
  forwarded: Record<string, number>;
  stop(): Promise<void>;
}

/** Starts the stand-in for Service `name` from what the API server holds now (the Service and its EndpointSlices). */
export async function startClusterIpProxy(kubectl: Kubectl, namespace: string, name: string): Promise<ClusterIpProxy> {
  const service = await getJson<Json>(kubectl, ['service', name, '-n', namespace]);
  const slices = await getJson<{ items: Json[] }>(kubectl, ['endpointslices', '-n', namespace, '-l', `kubernetes.io/service-name=${name}`]);
  const servicePort = service.spec.ports[0] as Json;
  const endpoints = slices.items.flatMap((slice) => {
    const port = ((slice.ports ?? []) as Json[]).find((p) => (p.name ?? '') === (servicePort.name ?? ''))?.port as number | undefined;
    return ((slice.endpoints ?? []) as Json[])
      .filter((e) => e.conditions?.ready !== false)
      .flatMap((e) => (port === undefined ? [] : (e.addresses as string[]).map((address) => ({ address, port }))));
  });
  if (endpoints.length === 0) throw new Error(`service ${namespace}/${name} has no ready endpoints`);
  const clusterIP = service.spec.clusterIP as string;
  const affinity = service.spec.sessionAffinity === 'ClientIP';
  const timeoutMs = ((service.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds as number | undefined) ?? 10800) * 1000;
  execFileSync('ip', ['addr', 'add', `${clusterIP}/32`, 'dev', 'lo']);

  const sticky = new Map<string, { index: number; until: number }>();
  let next = 0;
  const forwarded: Record<string, number> = {};
  const pick = (source: string): number => {
    const now = Date.now();
    const held = affinity ? sticky.get(source) : undefined;
    const index = held && held.until > now ? held.index : next++ % endpoints.length;
    if (affinity) sticky.set(source, { index, until: now + timeoutMs });
    return index;
  };
  const open = new Set<{ destroy(): void }>();
  const server: Server = createServer((client) => {
    const endpoint = endpoints[pick(client.remoteAddress ?? '')]!;
    forwarded[endpoint.address] = (forwarded[endpoint.address] ?? 0) + 1;
    const upstream = connect(endpoint.port, endpoint.address);
    open.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(servicePort.port as number, clusterIP, resolve));
  return {
    clusterIP,
    port: servicePort.port as number,
    forwarded,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      });
      try {
        execFileSync('ip', ['addr', 'del', `${clusterIP}/32`, 'dev', 'lo'], { stdio: 'ignore' });
      } catch {
        // The namespace goes away with the test anyway.
      }
    },
  };
}

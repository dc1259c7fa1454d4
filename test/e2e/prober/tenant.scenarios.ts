/**
 * A tenant steering the prober (issue 11, row 4): an ExternalName Service, a
 * Service without a selector and an EndpointSlice of its own, an
 * EndpointSlice of its own beside a real pod, a host-network pod, an address
 * of another namespace's pod; and a server whose answers try to get text
 * written back into annotations and Events. A listener on another address
 * stands for what the prober's network position reaches and the tenant's
 * does not (another team's pod, a node port): it must receive nothing.
 *
 * Real: kube-apiserver (Services, EndpointSlices, pods, field selectors,
 * metadata-only lists), the prober's API client, detection, the SDK server.
 * Stand-ins, as in test/support/pods.ts: pod status written as the kubelet
 * would, the controller's EndpointSlices written as it would; and, for the
 * Service DNS names the prober used to probe, cluster DNS and kube-proxy
 * (`clusterNetwork` below: an ExternalName resolves to its name, a cluster
 * Service to the first address of any slice labelled with its name, as
 * kube-proxy merges them).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Annotations } from '../../../src/contract.ts';
import { loadKubeAccess } from '../../../src/kubernetes/kube-access.ts';
import { KubeClient } from '../../../src/kubernetes/kube-client.ts';
import { kubeClusterApi } from '../../../src/prober/cluster-api.ts';
import { ClusterProber, type ProbeRunSummary } from '../../../src/prober/cluster-prober.ts';
import { detectTransport } from '../../../src/prober/detect.ts';
import { syncEndpointSlices } from '../../support/harness/endpoint-slices.ts';
import { ensureNamespace, getJson, startE2E, type E2E, type Kubectl } from '../../support/harness.ts';
import { mcpService, type Manifest } from '../../support/objects.ts';
import { startSdkServer, type RunningPeer } from '../../support/peers/sdk-servers.ts';
import { addPodAddress, runPod, tenantEndpointSlice } from '../../support/pods.ts';

const NS = 'tenant';
const OTHER = 'other-team';
const LEGIT_IP = addPodAddress(20);
const ECHO_IP = addPodAddress(21);
const DECOY_IP = addPodAddress(22);
const VICTIM_IP = addPodAddress(99);
const VICTIM_NAME = 'victim.other-team.example';
const MARK = 'TENANT-ECHO';

/** Cluster DNS and kube-proxy for Service names (see the file comment); pod addresses pass through. */
function clusterNetwork(kubectl: Kubectl) {
  return async (url: string): Promise<string> => {
    const target = new URL(url);
    const dns = /^([^.]+)\.([^.]+)\.svc\.cluster\.local$/.exec(target.hostname);
    if (!dns) return url;
    const [, name, namespace] = dns as unknown as [string, string, string];
    const svc = await getJson<Manifest>(kubectl, ['service', name, '-n', namespace]);
    if (svc.spec.type === 'ExternalName') {
      if (svc.spec.externalName !== VICTIM_NAME) throw new Error(`no such name in this network: ${svc.spec.externalName}`);
      target.hostname = VICTIM_IP;
      return target.href;
    }
    const port = (svc.spec.ports as Manifest[]).find((p) => p.port === Number(target.port || (target.protocol === 'https:' ? 443 : 80)));
    const slices = await getJson<{ items: Manifest[] }>(kubectl, ['endpointslices', '-n', namespace, '-l', `kubernetes.io/service-name=${name}`]);
    for (const slice of slices.items) {
      const slicePort = (slice.ports as Manifest[] | undefined)?.find((p) => (p.name ?? '') === (port?.name ?? ''));
      const address = (slice.endpoints as Manifest[] | undefined)?.[0]?.addresses?.[0];
      if (slicePort && address) {
        target.hostname = address;
        target.port = String(slicePort.port);
        return target.href;
      }
    }
    throw new Error(`no endpoint for ${url}`);
  };
}

interface Victim {
  port: number;
  requests: string[];
  server: Server;
}

async function listen(host: string, handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('a hostile tenant cannot steer the prober (real API server)', () => {
  let env: E2E;
  let legit: RunningPeer;
  let victim: Victim;
  let echo: { server: Server; port: number };
  let summary: ProbeRunSummary;
  const probed: string[] = [];

  const annotations = async (kind: string, name: string, ns = NS) =>
    (await getJson<Manifest>(env.kubectl, [kind, name, '-n', ns])).metadata.annotations ?? {};

  before(async () => {
    const requests: string[] = [];
    const victimServer = await listen(VICTIM_IP, (req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    victim = { ...victimServer, requests };
    // A server of the tenant's that answers with text it wants echoed.
    echo = await listen(ECHO_IP, (req, res) => {
      if (req.method === 'POST') {
        res.writeHead(400, { 'content-type': 'application/json' }).end(
          JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32600, message: `${MARK} ${'x'.repeat(5000)}` } }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: endpoint\ndata: /${MARK}${'a'.repeat(60_000)}?sessionId=1\n\n`);
    });
    [env, legit] = await Promise.all([startE2E({ webhook: false, clusterPolicies: false }), startSdkServer('sse', LEGIT_IP)]);
    const { kubectl } = env;
    await ensureNamespace(kubectl, NS);
    await ensureNamespace(kubectl, OTHER);
    const port = (name: string, number: number) => ({ ports: [{ name: 'mcp', port: 80, targetPort: number }], selector: { app: name } });

    // A real MCP server, and one that answers with text to echo.
    await runPod(kubectl, { namespace: NS, name: 'legit-0', labels: { app: 'legit' }, podIP: LEGIT_IP });
    await runPod(kubectl, { namespace: NS, name: 'echo-0', labels: { app: 'echo' }, podIP: ECHO_IP });
    // A real pod of the tenant's, and the pod of another team at the victim's address.
    await runPod(kubectl, { namespace: NS, name: 'forged-0', labels: { app: 'forged' }, podIP: DECOY_IP });
    await runPod(kubectl, { namespace: OTHER, name: 'theirs-0', labels: { app: 'crossns' }, podIP: VICTIM_IP });
    // A host-network pod: its pod IP is the node's (the victim's address stands for the node).
    await runPod(kubectl, { namespace: NS, name: 'hostnet-0', labels: { app: 'hostnet' }, podIP: VICTIM_IP, hostIP: VICTIM_IP, hostNetwork: true });

    const apply = await env.apply([
      mcpService('legit', { namespace: NS }, port('legit', Number(new URL(legit.baseUrl).port))),
      mcpService('echo', { namespace: NS }, port('echo', echo.port)),
      mcpService('external', { namespace: NS }, { type: 'ExternalName', externalName: VICTIM_NAME, selector: undefined, ports: [{ name: 'mcp', port: victim.port }] }),
      mcpService('handmade', { namespace: NS }, { selector: undefined, ports: [{ name: 'mcp', port: 80 }] }),
      mcpService('forged', { namespace: NS }, port('forged', 8080)),
      mcpService('hostnet', { namespace: NS }, port('hostnet', victim.port)),
      mcpService('crossns', { namespace: NS }, port('crossns', victim.port)),
    ]);
    assert.equal(apply.code, 0, apply.stderr);
    // The controller's slices for the Services with a selector.
    await syncEndpointSlices(kubectl, NS);
    // The tenant's own slices, dressed as the controller's.
    await tenantEndpointSlice(kubectl, { namespace: NS, service: 'handmade', name: 'handmade-1', port: victim.port, address: VICTIM_IP });
    await kubectl(['delete', 'endpointslice', 'forged-standin', '-n', NS]);
    await tenantEndpointSlice(kubectl, { namespace: NS, service: 'forged', name: 'forged-1', port: victim.port, address: VICTIM_IP, pod: 'forged-0' });
    await kubectl(['delete', 'endpointslice', 'crossns-standin', '-n', NS]);
    await tenantEndpointSlice(kubectl, { namespace: NS, service: 'crossns', name: 'crossns-1', port: victim.port, address: VICTIM_IP, pod: 'theirs-0' });

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(env.controlPlane.kubeconfig);
    const client = new KubeClient(await loadKubeAccess({ kubeconfig: env.controlPlane.kubeconfig }));
    const network = clusterNetwork(kubectl);
    const prober = new ClusterProber({
      api: kubeClusterApi(kubeConfig, client),
      detect: async (url) => {
        probed.push(url);
        return detectTransport(await network(url), { timeoutMs: 3000 });
      },
      clock: () => new Date(),
      logger: pino({ level: 'silent' }),
      excludedNamespaces: [OTHER],
    });
    summary = await prober.probeAll().finally(() => client.access.close());
  });
  after(async () => {
    await legit?.close();
    victim?.server.closeAllConnections();
    victim?.server.close();
    echo?.server.closeAllConnections();
    echo?.server.close();
    await env?.stop();
  });

  it('sends nothing to an address that is not a running pod the Service selects in its namespace', async () => {
    assert.deepEqual(victim.requests, [], `${victim.requests.length} requests reached the other address; probed: ${probed.join(", ")}`);
    assert.equal(summary.errors, 0);
  });

  it('still detects the real server, through its pod, and records the Service URL', async () => {
    const status = JSON.parse((await annotations('service', 'legit'))[Annotations.transportStatus]);
    assert.equal(status.protocol, 'sse', status.reason);
    assert.equal(status.endpoint, `http://legit.${NS}.svc.cluster.local:80/sse`);
    assert.ok(probed.includes(`${legit.baseUrl}/sse`), probed.join(', '));
  });

  const refused: Array<[string, RegExp]> = [
    ['external', /ExternalName Service/],
    ['handmade', /without a selector/],
    ['forged', /none of the 1 endpoint\(s\) checked is a running pod the Service selects/],
    ['hostnet', /none of the 1 endpoint\(s\) checked is a running pod the Service selects/],
    ['crossns', /none of the 1 endpoint\(s\) checked is a running pod the Service selects/],
  ];
  for (const [name, reason] of refused) {
    it(`does not probe ${name}, and says why`, async () => {
      const recorded = await annotations('service', name);
      assert.equal(recorded[Annotations.detectedProtocol], 'unknown');
      assert.match(JSON.parse(recorded[Annotations.transportStatus]).reason, reason);
    });
  }

  it('writes none of the server\'s text into annotations or Events', async () => {
    const recorded = await annotations('service', 'echo');
    const status = JSON.parse(recorded[Annotations.transportStatus]);
    assert.equal(status.protocol, 'sse', status.reason);
    const events = await getJson<{ items: Manifest[] }>(env.kubectl, ['events', '-n', NS]);
    const written = JSON.stringify([recorded, events.items.map((e) => e.message)]);
    assert.ok(!written.includes(MARK), `echoed: ${written.slice(0, 400)}`);
    assert.ok(JSON.stringify(recorded).length < 2048, `annotations of ${JSON.stringify(recorded).length} characters`);
  });
});

/**
 * Scenarios of test/e2e/front-door.test.ts, inside the test's network.
 *
 * Backends: two replicas ("a", "b") of the official Go SDK's legacy SSE
 * server (test/tools/mcp-peer), each in its own pod namespace on its own
 * address, as every Service's endpoints; the EndpointSlices are written by
 * the test, as the endpointslice controller would (the harness has no
 * controller manager). Traefik's Kubernetes providers keep one backend per
 * endpoint address, so the replicas need addresses of their own.
 *
 * Routes, one Traefik entry point (or Gateway listener) each:
 * - plain: no mcp-admission (unlabelled objects): Traefik's round robin;
 * - cookie: Traefik's own cookie stickiness on the Service, the alternative
 *   mcp-admission decided against (the evidence);
 * - admitted: the labelled Service and Ingress (and HTTPRoute) applied
 *   through mcp-admission: the Service gets ClientIP affinity and Traefik's
 *   nativeLB, so Traefik sends to the ClusterIP. STAND-IN: kube-proxy, which
 *   cannot run here (no iptables or nft on this machine), is
 *   test/support/harness/cluster-ip.ts.
 *
 * Traefik's entry point readTimeout is set to 2 s by config (its default is
 * 60 s), so "a stream idle longer than the proxy's timeout" takes 5 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Annotations, MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../../../src/contract.ts';
import { startGoPeer, type GoPeer } from '../../support/peers/go-peer.ts';
import { ensureNamespace, getJson, mustSucceed, startE2E, waitForEstablished, type E2E } from '../../support/harness.ts';
import { startClusterIpProxy, type ClusterIpProxy } from '../../support/harness/cluster-ip.ts';
import { currentNetwork } from '../../support/harness/netns.ts';
import { gateway, gatewayClass, ingressClass, mcpHTTPRoute, mcpIngress, mcpService, type Manifest } from '../../support/objects.ts';
import { firstByte, pythonSession, typescriptSession, type SessionOutcome } from '../../support/sse-sessions.ts';
import { toolPath } from '../../support/tools.ts';
import { startTraefik, type Traefik } from '../../support/traefik.ts';

type Json = Record<string, any>;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const CALLS = 50;
const PEER_PORT = 8080;
/** Entry points; the gateway ones are also the Gateways' listener ports (Traefik matches them by port). */
const ENTRY_POINTS = { plain: 18001, cookie: 18002, admitted: 18003, gwplain: 18004, gwadmitted: 18005 };

let env: E2E;
let traefik: Traefik | undefined;
const peers: GoPeer[] = [];
const proxies: ClusterIpProxy[] = [];
/** The session table: route x client -> calls answered. */
const table: Array<{ route: string; outcome: SessionOutcome; idleSeconds: number }> = [];

/** The Service `weather` in `namespace`, labelled or not, with `annotations`. */
function service(namespace: string, labelled: boolean, annotations: Record<string, string> = {}, spec: Manifest = {}): Manifest {
  const s = mcpService('weather', { namespace, annotations: { protocol: 'sse' }, unlabelled: !labelled }, { ports: [{ name: 'mcp', port: 80, targetPort: PEER_PORT }], ...spec });
  s.metadata.annotations = { ...s.metadata.annotations, ...annotations };
  return s;
}

/** What the endpointslice controller would write for the Service: both replicas, ready. */
const slice = (namespace: string): Manifest => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: {
    name: 'weather-standin',
    namespace,
    labels: { 'kubernetes.io/service-name': 'weather', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
  },
  addressType: 'IPv4',
  endpoints: currentNetwork().pods.map((p) => ({ addresses: [p.ip], conditions: { ready: true, serving: true, terminating: false } })),
  ports: [{ name: 'mcp', port: PEER_PORT, protocol: 'TCP' }],
});

const entryPoint = (name: string): Record<string, string> => ({ 'traefik.ingress.kubernetes.io/router.entrypoints': name });

async function applyOk(objects: Manifest | Manifest[]): Promise<string> {
  const result = await env.apply(objects);
  assert.equal(result.code, 0, result.stderr);
  return result.stderr;
}

/** Waits until Traefik answers the route with an event stream. */
async function routeReady(url: string): Promise<void> {
  const deadline = performance.now() + 30_000;
  let last = '';
  for (;;) {
    try {
      const first = await firstByte(url, 3000);
      if (first.contentType?.startsWith('text/event-stream')) return;
      last = `${first.contentType}: ${first.chunk.slice(0, 80)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (performance.now() > deadline) throw new Error(`${url} never served an event stream: ${last}\n${traefik?.process.logTail(20)}`);
    await sleep(300);
  }
}

async function session(route: keyof typeof ENTRY_POINTS, client: 'typescript' | 'python', idleSeconds = 0): Promise<SessionOutcome> {
  const url = traefik!.url(route);
  const outcome = client === 'typescript' ? await typescriptSession(url, { calls: CALLS, idleSeconds }) : await pythonSession(url, { calls: CALLS, idleSeconds });
  table.push({ route, outcome, idleSeconds });
  return outcome;
}

before(async () => {
  const network = currentNetwork();
  env = await startE2E();
  const { kubectl } = env;
  await mustSucceed(kubectl, ['apply', '--server-side', '-f', toolPath('gateway-api')]);
  await waitForEstablished(kubectl, ['httproutes.gateway.networking.k8s.io', 'gateways.gateway.networking.k8s.io']);
  for (const [i, pod] of network.pods.entries()) {
    peers.push(
      await startGoPeer({ sdk: 'official', transport: 'sse', listen: `${pod.ip}:${PEER_PORT}`, replica: i === 0 ? 'a' : 'b', anyHost: true, netns: pod.netns }),
    );
  }
  for (const ns of ['plain', 'cookie', 'admitted']) await ensureNamespace(kubectl, ns);
  await applyOk([
    ingressClass('traefik', 'traefik.io/ingress-controller'),
    gatewayClass('traefik', 'traefik.io/gateway-controller'),
    gateway('plain-gw', 'plain', 'traefik', ENTRY_POINTS.gwplain),
    gateway('admitted-gw', 'admitted', 'traefik', ENTRY_POINTS.gwadmitted),
    service('plain', false),
    service('cookie', false, { 'traefik.ingress.kubernetes.io/service.sticky.cookie': 'true' }),
    service('admitted', true),
    slice('plain'),
    slice('cookie'),
    slice('admitted'),
  ]);
  // The webhook's informers pick up the Gateway API kinds once their CRDs exist (a watch retry, about a second).
  await sleep(3000);
  await applyOk([
    mcpIngress('weather', 'traefik', { namespace: 'plain', services: ['weather'], annotations: entryPoint('plain'), unlabelled: true }),
    mcpIngress('weather', 'traefik', { namespace: 'cookie', services: ['weather'], annotations: entryPoint('cookie'), unlabelled: true }),
    mcpIngress('weather', 'traefik', { namespace: 'admitted', services: ['weather'], annotations: entryPoint('admitted') }),
    mcpHTTPRoute('weather', 'plain-gw', { namespace: 'plain', services: ['weather'], unlabelled: true }),
    mcpHTTPRoute('weather', 'admitted-gw', { namespace: 'admitted', services: ['weather'] }),
  ]);
  proxies.push(await startClusterIpProxy(kubectl, 'admitted', 'weather'));
  traefik = await startTraefik({
    kubeconfig: env.controlPlane.kubeconfig,
    dir: env.dir,
    entryPoints: { ...ENTRY_POINTS, strict: 18006 },
    readTimeout: '2s',
    pingPort: 18099,
  });
  for (const name of Object.keys(ENTRY_POINTS)) await routeReady(traefik.url(name));
});

after(async () => {
  if (table.length > 0) {
    const rows = table.map(
      ({ route, outcome: o, idleSeconds }) =>
        `| ${route}${idleSeconds ? ` (idle ${idleSeconds} s)` : ''} | ${o.client} | ${o.ok}/${CALLS} | ${JSON.stringify(o.replicas)} | ${o.ok === CALLS ? '' : (o.error ?? '').replace(/\|/g, '/').slice(0, 120)} |`,
    );
    process.stderr.write(`front-door session table:\n| route | client | calls answered | by replica | first error |\n|---|---|---|---|---|\n${rows.join('\n')}\n`);
  }
  await traefik?.stop();
  await Promise.all(proxies.map((p) => p.stop()));
  await Promise.all(peers.map((p) => p.close()));
  await env?.stop();
});

describe('through Traefik (Kubernetes Ingress and Gateway API providers)', () => {
  it('mcp-admission gave the labelled Service ClientIP affinity and Traefik nativeLB, and admitted the routes as they are', async () => {
    const stored = await getJson<Json>(env.kubectl, ['service', 'weather', '-n', 'admitted']);
    assert.equal(stored.spec.sessionAffinity, 'ClientIP');
    assert.equal(stored.metadata.annotations['traefik.ingress.kubernetes.io/service.nativelb'], 'true');
    assert.equal(stored.metadata.annotations['traefik.io/service.nativelb'], 'true');
    assert.match(stored.metadata.annotations[Annotations.applied], /Traefik nativeLB/);
    const route = await getJson<Json>(env.kubectl, ['httproute', 'weather', '-n', 'admitted']);
    assert.equal(route.metadata.labels[MCP_COMPONENT_LABEL], MCP_COMPONENT_VALUE);
    // Traefik has no route timeout to lengthen: nothing is set on the route.
    assert.equal(route.spec.rules[0].timeouts, undefined);
    const plain = await getJson<Json>(env.kubectl, ['service', 'weather', '-n', 'plain']);
    assert.equal(plain.metadata.annotations['traefik.ingress.kubernetes.io/service.nativelb'], undefined, 'an unlabelled Service is not touched');
  });

  it('validate mode refuses a Traefik Ingress to a Service stored without nativeLB, and its fix works', async () => {
    await ensureNamespace(env.kubectl, 'strict');
    await applyOk({
      apiVersion: 'mcp-admission.dev/v1alpha1',
      kind: 'MCPTransportPolicy',
      metadata: { name: 'strict' },
      spec: { mode: 'validate', namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'strict' } } },
    });
    await sleep(500);
    // Compliant for a Service in validate mode (affinity written by hand); no Traefik annotation.
    await applyOk(service('strict', true, {}, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } }));
    await sleep(500);
    // On an entry point of its own: an Ingress without one is served on every entry point.
    const ingress = mcpIngress('weather', 'traefik', { namespace: 'strict', services: ['weather'], annotations: entryPoint('strict') });
    const refused = await env.apply(ingress);
    assert.notEqual(refused.code, 0, 'refused');
    const fix = /kubectl annotate service\/weather -n strict --overwrite traefik\.ingress\.kubernetes\.io\/service\.nativelb=true/;
    assert.match(refused.stderr, fix);
    await mustSucceed(env.kubectl, ['annotate', 'service/weather', '-n', 'strict', '--overwrite', 'traefik.ingress.kubernetes.io/service.nativelb=true']);
    await sleep(500);
    await applyOk(ingress);
  });

  it(`without mcp-admission, round robin: no session survives (${CALLS} calls each)`, async () => {
    for (const route of ['plain', 'gwplain'] as const) {
      for (const client of ['typescript', 'python'] as const) {
        const outcome = await session(route, client);
        assert.ok(outcome.ok < CALLS, `${route} ${client}: ${JSON.stringify(outcome)}`);
      }
    }
  });

  it('Traefik cookie stickiness: the Python client keeps its session, the TypeScript client does not (the evidence)', async () => {
    const ts = await session('cookie', 'typescript');
    const py = await session('cookie', 'python');
    assert.ok(ts.ok < CALLS, JSON.stringify(ts));
    assert.equal(py.ok, CALLS, JSON.stringify(py));
  });

  for (const route of ['admitted', 'gwadmitted'] as const) {
    it(`through mcp-admission (${route === 'admitted' ? 'Ingress' : 'HTTPRoute'}): ${CALLS} of ${CALLS} for both SDK clients`, async () => {
      for (const client of ['typescript', 'python'] as const) {
        const outcome = await session(route, client);
        assert.deepEqual([outcome.connected, outcome.ok], [true, CALLS], JSON.stringify(outcome));
        assert.equal(Object.keys(outcome.replicas).length, 1, 'one replica for the whole session');
      }
    });
  }

  it('a stream idle longer than the entry point readTimeout (2 s by config) survives: 5 s of silence, then every call answered', async () => {
    for (const client of ['typescript', 'python'] as const) {
      const outcome = await session('admitted', client, 5);
      assert.deepEqual([outcome.connected, outcome.ok], [true, CALLS], JSON.stringify(outcome));
    }
  });

  it('events are not buffered: the endpoint event arrives through Traefik about as fast as from the replica', async () => {
    const direct = await firstByte(`${peers[0]!.baseUrl}/sse`);
    const proxied = await firstByte(traefik!.url('admitted'));
    process.stderr.write(`first byte of the SSE stream: direct ${direct.ms.toFixed(1)} ms, through Traefik ${proxied.ms.toFixed(1)} ms\n`);
    assert.match(proxied.chunk, /event: endpoint/);
    assert.ok(proxied.ms < 1000, `${proxied.ms} ms`);
  });
});

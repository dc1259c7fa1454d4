/**
 * Pod addresses for prober tests, and the pods and EndpointSlices behind
 * them, on the harness's API server.
 *
 * EndpointSlices refuse loopback addresses, so a prober test runs inside a
 * network of its own (test/support/harness/netns.ts, `runInNetwork`) and
 * gives each pod an address there: {@link addPodAddress} puts it on the
 * node namespace's loopback device, where an in-process MCP server listens
 * on it. Nothing outside the test's namespaces is touched.
 *
 * No kubelet runs here: {@link runPod} creates the Pod object through the
 * API server and writes its status through `pods/status` as the kubelet
 * would (Running, Ready, pod and host IP). The EndpointSlice controller's
 * part is `syncEndpointSlices` (test/support/harness/endpoint-slices.ts);
 * {@link tenantEndpointSlice} is what a tenant with EndpointSlice rights can
 * write by hand.
 */
import { execFileSync } from 'node:child_process';
import { currentNetwork } from './harness/netns.ts';
import { manifest, mustSucceed, type Kubectl } from './harness.ts';

/**
 * Adds `10.252.1.N` to the node namespace's loopback device and returns it.
 * Only inside a test network (throws otherwise).
 */
export function addPodAddress(n: number): string {
  currentNetwork();
  const address = `10.252.1.${n}`;
  try {
    execFileSync('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    if (!String((err as { stderr?: Buffer }).stderr ?? '').includes('File exists')) throw err;
  }
  return address;
}

/** A pod to create, and the status the kubelet would report for it. */
export interface PodOptions {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  podIP: string;
  /** The node's address; a host-network pod has podIP = hostIP. Default 10.252.0.1. */
  hostIP?: string;
  hostNetwork?: boolean;
  /** Container port named `mcp`. Default 8080. */
  containerPort?: number;
}

/** Creates a pod and writes the status a kubelet would: Running, Ready, with its IP. */
export async function runPod(kubectl: Kubectl, options: PodOptions): Promise<void> {
  const { namespace, name, labels, podIP } = options;
  await mustSucceed(kubectl, ['apply', '-f', '-'], {
    input: manifest({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels },
      spec: {
        ...(options.hostNetwork ? { hostNetwork: true } : {}),
        containers: [
          { name: 'server', image: 'ghcr.io/example/mcp-server:1.0.0', ports: [{ name: 'mcp', containerPort: options.containerPort ?? 8080 }] },
        ],
      },
    }),
  });
  const hostIP = options.hostIP ?? '10.252.0.1';
  await mustSucceed(kubectl, [
    'patch', 'pod', name, '-n', namespace, '--subresource=status', '--type=merge', '-p',
    JSON.stringify({
      status: {
        phase: 'Running',
        podIP,
        podIPs: [{ ip: podIP }],
        hostIP,
        hostIPs: [{ ip: hostIP }],
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    }),
  ]);
}

/**
 * An EndpointSlice written by a tenant, dressed as the controller's: the
 * Service-name and managed-by labels, any address, a claimed pod.
 */
export async function tenantEndpointSlice(
  kubectl: Kubectl,
  options: { namespace: string; service: string; name: string; port: number; portName?: string; address: string; pod?: string },
): Promise<void> {
  const { namespace, service } = options;
  await mustSucceed(kubectl, ['apply', '-f', '-'], {
    input: manifest({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: options.name,
        namespace,
        labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      },
      addressType: 'IPv4',
      ports: [{ name: options.portName ?? 'mcp', port: options.port, protocol: 'TCP' }],
      endpoints: [
        {
          addresses: [options.address],
          conditions: { ready: true, serving: true, terminating: false },
          ...(options.pod ? { targetRef: { kind: 'Pod', namespace, name: options.pod } } : {}),
        },
      ],
    }),
  });
}

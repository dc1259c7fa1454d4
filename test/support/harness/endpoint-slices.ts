/**
 * The EndpointSlice controller's job, done by the test: the harness has no
 * kube-controller-manager, so after a stand-in pod turns ready (or goes
 * away) the slices of every Service selecting it are written as
 * kube-controller-manager's endpointslice controller would write them
 * (pkg/controller/endpointslice: label `kubernetes.io/service-name`,
 * `endpointslice.kubernetes.io/managed-by`, one endpoint per pod with its
 * IP, ready/serving/terminating conditions and a targetRef, and the Service's
 * ports with named target ports resolved against each pod's containers).
 * kube-apiserver with `--enable-aggregator-routing=true` reads exactly these
 * to reach a webhook Service.
 */
import { getJson, mustSucceed, type Kubectl } from './kubectl.ts';

type Json = Record<string, any>;

/** The managed-by value of the real controller. */
export const ENDPOINTSLICE_CONTROLLER = 'endpointslice-controller.k8s.io';

const selects = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

const isReady = (pod: Json): boolean =>
  (pod.status?.conditions as Json[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** A Service port's target port on `pod`: a number, or a named container port. */
function targetPort(servicePort: Json, pod: Json): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  for (const container of (pod.spec?.containers ?? []) as Json[]) {
    const port = ((container.ports ?? []) as Json[]).find((p) => p.name === target);
    if (port) return port.containerPort as number;
  }
  return undefined;
}

/** The slice the controller would write for `service` over `pods`. */
export function endpointSliceFor(service: Json, pods: Json[]): Json {
  const selector = service.spec.selector as Record<string, string>;
  const members = pods.filter((pod) => pod.status?.podIP && selects(selector, pod.metadata.labels));
  const first = members[0];
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${service.metadata.name}-standin`,
      namespace: service.metadata.namespace,
      labels: {
        'kubernetes.io/service-name': service.metadata.name,
        'endpointslice.kubernetes.io/managed-by': ENDPOINTSLICE_CONTROLLER,
      },
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Service', name: service.metadata.name, uid: service.metadata.uid, controller: true, blockOwnerDeletion: true },
      ],
    },
    addressType: 'IPv4',
    endpoints: members.map((pod) => ({
      addresses: [pod.status.podIP],
      conditions: { ready: isReady(pod), serving: isReady(pod), terminating: Boolean(pod.metadata.deletionTimestamp) },
      targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
    })),
    // The controller groups endpoints by resolved ports; stand-in pods share
    // one template, so one group is enough.
    ports: ((service.spec.ports ?? []) as Json[]).flatMap((p) => {
      const port = first ? targetPort(p, first) : undefined;
      return port === undefined ? [] : [{ name: p.name ?? '', port, protocol: p.protocol ?? 'TCP' }];
    }),
  };
}

/**
 * Writes the slices of every Service with a selector in `namespace` from the
 * pods there now. Server-side apply with a field manager of its own, so a
 * second sync replaces the first.
 */
export async function syncEndpointSlices(kubectl: Kubectl, namespace: string): Promise<Json[]> {
  const [services, pods] = await Promise.all([
    getJson<{ items: Json[] }>(kubectl, ['services', '-n', namespace]),
    getJson<{ items: Json[] }>(kubectl, ['pods', '-n', namespace]),
  ]);
  const slices = services.items.filter((s) => s.spec.selector).map((s) => endpointSliceFor(s, pods.items));
  if (slices.length > 0) {
    await mustSucceed(kubectl, ['apply', '--server-side', '--force-conflicts', '--field-manager', ENDPOINTSLICE_CONTROLLER, '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: slices }),
    });
  }
  return slices;
}

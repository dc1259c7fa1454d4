/**
 * Where the prober may send a probe: the address of a pod the Service
 * selects, proven by what a tenant cannot forge (DESIGN.md, "The prober":
 * only ClusterIP Services with a selector, never ExternalName or hand-made
 * endpoints).
 *
 * Threat model. The tenant owns its namespace's Services (type, selector,
 * ports, `externalName`), its pods' spec and labels, and, where RBAC lets it,
 * EndpointSlices: it can create one carrying `kubernetes.io/service-name`,
 * `endpointslice.kubernetes.io/managed-by` or any other label, an owner
 * reference to its Service, any address, target reference, port or
 * condition. kube-proxy merges such slices into the Service's routing, so
 * even the Service's cluster IP can lead anywhere. What the tenant cannot
 * forge:
 * - a pod's `status.podIP`: written by the kubelet through `pods/status`,
 *   which tenants are not granted, and reset by the API server when a pod is
 *   created;
 * - the namespace an object lives in.
 *
 * So a probe goes only to an address that the API server itself confirms
 * is the `status.podIP` of a pod in the Service's namespace that the
 * Service's selector matches, that is Running, not being deleted and not on
 * the host network (whose pod IP is the node's). The check is a
 * metadata-only list with field and label selectors: the prober never reads
 * a pod's spec. EndpointSlices supply only candidates and the port number;
 * a forged port reaches nothing but another port of the tenant's own pod.
 * The address is confirmed just before the probe; a pod IP freed and reused
 * in another namespace in between is a race of the probe's own duration.
 */
import { isIP } from 'node:net';
import type { V1EndpointSlice, V1Service, V1ServicePort } from '@kubernetes/client-node';

/** The label the EndpointSlice controller puts on a Service's slices. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Candidates tried per Service before giving up: each costs one API call. */
export const MAX_ENDPOINT_CANDIDATES = 5;

/** Service types that select pods; ExternalName names a host instead. */
const POD_SERVICE_TYPES = new Set(['ClusterIP', 'NodePort', 'LoadBalancer']);

/**
 * Why `service` is not probed, or undefined when it may be. NodePort and
 * LoadBalancer Services are ClusterIP Services with more on top; what
 * matters is that traffic goes to the pods a selector picks.
 */
export function ineligibleReason(service: V1Service): string | undefined {
  const type = service.spec?.type ?? 'ClusterIP';
  if (type === 'ExternalName') return 'ExternalName Service: it names a host outside the cluster, not probed';
  if (!POD_SERVICE_TYPES.has(type)) return 'Service of an unknown type: not probed';
  if (Object.keys(service.spec?.selector ?? {}).length === 0) {
    return 'Service without a selector: its endpoints are made by hand, not probed';
  }
  return undefined;
}

/** An address and port to confirm, then probe. */
export interface EndpointCandidate {
  address: string;
  port: number;
}

/**
 * The addresses the Service's EndpointSlices offer for `servicePort`, ready
 * ones first, then in address order so a pass is repeatable. Slices are
 * matched by the Service-name label and the port by the Service port's name,
 * as the EndpointSlice controller writes them (unnamed: `""`). At most
 * {@link MAX_ENDPOINT_CANDIDATES}. None of this is trusted: see the file
 * comment.
 */
export function endpointCandidates(
  service: V1Service,
  servicePort: V1ServicePort,
  slices: readonly V1EndpointSlice[],
): EndpointCandidate[] {
  const name = service.metadata?.name;
  const portName = servicePort.name ?? '';
  const ready: EndpointCandidate[] = [];
  const others: EndpointCandidate[] = [];
  for (const slice of slices) {
    if (slice.metadata?.labels?.[SERVICE_NAME_LABEL] !== name) continue;
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const port = slice.ports?.find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === 'TCP')?.port;
    if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    for (const endpoint of slice.endpoints ?? []) {
      const address = endpoint.addresses?.[0];
      if (!address || endpoint.conditions?.terminating === true) continue;
      (endpoint.conditions?.ready === false ? others : ready).push({ address, port });
    }
  }
  const byAddress = (a: EndpointCandidate, b: EndpointCandidate) =>
    a.address === b.address ? a.port - b.port : a.address < b.address ? -1 : 1;
  const seen = new Set<string>();
  return [...ready.sort(byAddress), ...others.sort(byAddress)]
    .filter((c) => {
      const key = `${c.address}:${c.port}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .slice(0, MAX_ENDPOINT_CANDIDATES);
}

/** `k=v,k2=v2` for a Service selector (label values are validated by the API server). */
export function labelSelectorOf(selector: Record<string, string>): string {
  return Object.entries(selector)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/**
 * The field selector that makes the API server confirm `address`: a Running
 * pod with that pod IP, not on the host network. Field selectors are
 * exact-match, so no escaping is needed beyond refusing what is not an IP.
 */
export function podAtAddressSelector(address: string): string | undefined {
  if (isIP(address) === 0) return undefined;
  return `status.podIP=${address},spec.hostNetwork=false,status.phase=Running`;
}

/** `http://ADDRESS:PORT/path`, with IPv6 in brackets. */
export function podUrl(scheme: 'http' | 'https', candidate: EndpointCandidate, path: string): string {
  const host = candidate.address.includes(':') ? `[${candidate.address}]` : candidate.address;
  return `${scheme}://${host}:${candidate.port}${path}`;
}

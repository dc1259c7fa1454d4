/**
 * An in-memory {@link ClusterApi} for prober tests: resourceVersion checks
 * (409 on a stale write), injectable failures, recorded Events, and the
 * real mutating webhook code run on every write, as the API server would
 * call it (DESIGN.md, "The prober": the settings follow the UPDATE that
 * records `detected-protocol: sse`).
 */
import type { CoreV1Event, KubernetesObject, V1Deployment, V1EndpointSlice, V1Ingress, V1ObjectMeta, V1Service } from '@kubernetes/client-node';
import fastJsonPatch from 'fast-json-patch';
import { mutateRequest } from '../../src/admission/admission.ts';
import { Annotations } from '../../src/contract.ts';
import type { AnnotationPatch, ClusterApi, JsonPatchOperation } from '../../src/prober/cluster-api.ts';
import { staticSettings } from '../../src/settings/static-source.ts';
import { mcpDeployment, mcpService, type Manifest } from './objects.ts';

export class ApiError extends Error {
  code: number;
  constructor(code: number, message = `HTTP ${code}`) {
    super(message);
    this.code = code;
  }
}

/** An MCP Service as the API server stores it (test/support/objects.ts), selecting pods labelled `app: NAME`. */
export function service(namespace: string, name: string, extra: Partial<V1Service['spec']> = {}, annotations: Record<string, string> = {}): V1Service {
  const object = mcpService(name, { namespace, annotations, podLabels: { app: name } }, { ports: [{ name: 'http', port: 8080 }], ...extra });
  return stored(object) as V1Service;
}

/** An MCP Deployment as the API server stores it (test/support/objects.ts), its pods labelled `app: APP`. */
export function deployment(namespace: string, name: string, app: string, annotations: Record<string, string> = {}): V1Deployment {
  const object = stored(mcpDeployment(name, { namespace, annotations, podLabels: { app }, defaulted: true }));
  return { ...object, metadata: { ...object.metadata, generation: 1 } } as V1Deployment;
}

/** The metadata the API server adds on create. */
function stored(object: Manifest): Manifest {
  return { ...object, metadata: { ...object.metadata, uid: `uid-${object.metadata.name}`, resourceVersion: '1' } };
}

type Key = string;
const keyOf = (ns: string, name: string): Key => `${ns}/${name}`;

/** A pod as the prober may see it: metadata, and the status fields its field selector reads. */
export interface FakePod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  podIP: string;
  phase: string;
  hostNetwork: boolean;
  deleting?: boolean;
}

/** Which Service each pod address was made for, so scripted detect functions can answer by Service. */
const servicesByAddress = new Map<string, string>();
let nextAddress = 1;

/** The name of the Service whose pod has `address` (a fake pod IP), or undefined. */
export function serviceAtAddress(address: string): string | undefined {
  return servicesByAddress.get(address);
}

/** `k=v,k2=v2` selectors, as the prober sends them. */
function parseSelector(selector: string): Array<[string, string]> {
  return selector
    .split(',')
    .filter(Boolean)
    .map((term) => {
      const at = term.indexOf('=');
      return [term.slice(0, at), term.slice(at + 1)];
    });
}

export class FakeCluster implements ClusterApi {
  services = new Map<Key, V1Service>();
  deployments = new Map<Key, V1Deployment>();
  /** Events as stored: a name is unique per namespace (409 on a second create), as on the API server. */
  events: CoreV1Event[] = [];
  /** Every route, for the unlabelled-route finding (kubeClusterApi answers none for HTTPRoutes without the CRDs). */
  ingresses: V1Ingress[] = [];
  httpRoutes: KubernetesObject[] = [];
  /** Pods and EndpointSlices; {@link add} makes one running pod and its slice per Service with a selector. */
  pods: FakePod[] = [];
  slices: V1EndpointSlice[] = [];
  /** Calls that listed pods, as (namespace, labelSelector, fieldSelector). */
  podQueries: Array<[string, string, string]> = [];
  patches: Array<{ kind: string; key: Key; patch: AnnotationPatch }> = [];
  /** Errors thrown by the next calls of a given operation (`patchService ns/name`, `listDeployments ns`...). */
  failures = new Map<string, unknown[]>();
  /** Run the mutating webhook on writes. */
  webhook = true;
  #version = 100;

  add(...objects: Array<V1Service | V1Deployment>): this {
    for (const object of objects) {
      const key = keyOf(object.metadata!.namespace!, object.metadata!.name!);
      if (object.kind === 'Service') {
        this.services.set(key, structuredClone(object as V1Service));
        this.#runPodFor(object as V1Service);
      } else this.deployments.set(key, structuredClone(object as V1Deployment));
    }
    return this;
  }

  /** What the kubelet and the EndpointSlice controller would make for a Service: one ready pod. */
  #runPodFor(svc: V1Service): void {
    const selector = svc.spec?.selector ?? {};
    if (Object.keys(selector).length === 0 || (svc.spec?.type ?? 'ClusterIP') === 'ExternalName') return;
    const n = nextAddress++;
    const podIP = `10.244.${n >> 8}.${n & 255}`;
    const { namespace, name } = svc.metadata as { namespace: string; name: string };
    servicesByAddress.set(podIP, name);
    this.pods.push({ namespace, name: `${name}-pod`, labels: { ...selector }, podIP, phase: 'Running', hostNetwork: false });
    this.slices.push({
      addressType: 'IPv4',
      metadata: { namespace, name: `${name}-abcde`, labels: { 'kubernetes.io/service-name': name } },
      ports: (svc.spec?.ports ?? []).map((p) => ({ name: p.name ?? '', port: typeof p.targetPort === 'number' ? p.targetPort : p.port, protocol: 'TCP' })),
      endpoints: [{ addresses: [podIP], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace, name: `${name}-pod` } }],
    });
  }

  /** A change made by someone else: bumps resourceVersion. */
  touch(kind: 'Service' | 'Deployment', ns: string, name: string, change: (o: V1Service & V1Deployment) => void): void {
    const map = kind === 'Service' ? this.services : this.deployments;
    const object = map.get(keyOf(ns, name)) as V1Service & V1Deployment;
    change(object);
    object.metadata!.resourceVersion = String(++this.#version);
  }

  #fail(operation: string): void {
    const queue = this.failures.get(operation);
    const err = queue?.shift();
    if (err !== undefined) throw err;
  }

  async listServices(): Promise<V1Service[]> {
    this.#fail('listServices');
    return [...this.services.values()].map((s) => structuredClone(s));
  }

  async listDeployments(namespace?: string): Promise<V1Deployment[]> {
    this.#fail(`listDeployments ${namespace ?? '*'}`);
    return [...this.deployments.values()]
      .filter((d) => namespace === undefined || d.metadata?.namespace === namespace)
      .map((d) => structuredClone(d));
  }

  async readService(namespace: string, name: string): Promise<V1Service> {
    const found = this.services.get(keyOf(namespace, name));
    if (!found) throw new ApiError(404);
    return structuredClone(found);
  }

  async readDeployment(namespace: string, name: string): Promise<V1Deployment> {
    const found = this.deployments.get(keyOf(namespace, name));
    if (!found) throw new ApiError(404);
    return structuredClone(found);
  }

  #applyPatch<T extends V1Service | V1Deployment>(map: Map<Key, T>, kind: string, namespace: string, name: string, patch: AnnotationPatch): T {
    const key = keyOf(namespace, name);
    this.#fail(`patch${kind} ${key}`);
    const object = map.get(key);
    if (!object) throw new ApiError(404);
    if (patch.resourceVersion && patch.resourceVersion !== object.metadata!.resourceVersion) throw new ApiError(409, 'the object has been modified');
    this.patches.push({ kind, key, patch: structuredClone(patch) });
    const annotations = JSON.stringify(object.metadata!.annotations ?? {});
    const spec = JSON.stringify(object.spec);
    object.metadata!.annotations = { ...object.metadata!.annotations, ...patch.annotations };
    object.metadata!.resourceVersion = String(++this.#version);
    if (this.webhook) runMutatingWebhook(object);
    // The generation moves on a spec change and, for a Deployment, on an
    // annotation change too: its annotations are copied to its ReplicaSets
    // (kubernetes pkg/registry/apps/deployment/strategy.go, PrepareForUpdate).
    const annotationsChanged = JSON.stringify(object.metadata!.annotations) !== annotations;
    if (JSON.stringify(object.spec) !== spec || (kind === 'Deployment' && annotationsChanged)) {
      object.metadata!.generation = (object.metadata!.generation ?? 1) + 1;
    }
    return structuredClone(object);
  }

  async patchService(namespace: string, name: string, patch: AnnotationPatch): Promise<V1Service> {
    return this.#applyPatch(this.services, 'Service', namespace, name, patch);
  }

  async patchDeployment(namespace: string, name: string, patch: AnnotationPatch): Promise<V1Deployment> {
    return this.#applyPatch(this.deployments, 'Deployment', namespace, name, patch);
  }

  async createEvent(namespace: string, event: CoreV1Event): Promise<void> {
    this.#fail('createEvent');
    const stored = structuredClone(event);
    const metadata = (stored.metadata ??= {});
    metadata.namespace = namespace;
    if (!metadata.name) metadata.name = `${metadata.generateName ?? ''}${(++this.#version).toString(36)}`;
    if (this.#event(namespace, metadata.name)) throw new ApiError(409, `events "${metadata.name}" already exists`);
    metadata.resourceVersion = String(++this.#version);
    this.events.push(stored);
  }

  #event(namespace: string, name: string): CoreV1Event | undefined {
    return this.events.find((e) => e.metadata?.namespace === namespace && e.metadata.name === name);
  }

  /** A JSON patch as the API server applies it: a failed `test` is 422 and changes nothing; an unchanged object keeps its resourceVersion. */
  async patchEvent(namespace: string, name: string, operations: JsonPatchOperation[]): Promise<CoreV1Event> {
    this.#fail('patchEvent');
    const event = this.#event(namespace, name);
    if (!event) throw new ApiError(404);
    // JSON, as on the wire: Dates become strings, so `test` compares what the API server would.
    const before = JSON.parse(JSON.stringify(event)) as CoreV1Event;
    let after: CoreV1Event;
    try {
      after = fastJsonPatch.applyPatch(structuredClone(before), operations as fastJsonPatch.Operation[], true, false).newDocument;
    } catch (err) {
      throw new ApiError(422, `the server rejected our request: ${(err as Error).message}`);
    }
    if (JSON.stringify(after) !== JSON.stringify(before)) after.metadata!.resourceVersion = String(++this.#version);
    this.events[this.events.indexOf(event)] = after;
    return structuredClone(after);
  }

  async listIngresses(): Promise<V1Ingress[]> {
    this.#fail('listIngresses');
    return structuredClone(this.ingresses);
  }

  async listHTTPRoutes(): Promise<KubernetesObject[]> {
    this.#fail('listHTTPRoutes');
    return structuredClone(this.httpRoutes);
  }

  async listEndpointSlices(namespace: string, serviceName: string): Promise<V1EndpointSlice[]> {
    this.#fail(`listEndpointSlices ${namespace}`);
    return this.slices
      .filter((s) => s.metadata?.namespace === namespace && s.metadata.labels?.['kubernetes.io/service-name'] === serviceName)
      .map((s) => structuredClone(s));
  }

  /** Answers as the API server does: exact-match label and field selectors, metadata only. */
  async listPodMetadata(namespace: string, { labelSelector, fieldSelector }: { labelSelector: string; fieldSelector: string }): Promise<V1ObjectMeta[]> {
    this.#fail(`listPodMetadata ${namespace}`);
    this.podQueries.push([namespace, labelSelector, fieldSelector]);
    const fields = (pod: FakePod): Record<string, string> => ({
      'status.podIP': pod.podIP,
      'status.phase': pod.phase,
      'spec.hostNetwork': String(pod.hostNetwork),
    });
    return this.pods
      .filter((pod) => pod.namespace === namespace)
      .filter((pod) => parseSelector(labelSelector).every(([k, v]) => Object.hasOwn(pod.labels, k) && pod.labels[k] === v))
      .filter((pod) => parseSelector(fieldSelector).every(([k, v]) => fields(pod)[k] === v))
      .map((pod) => ({
        namespace: pod.namespace,
        name: pod.name,
        labels: { ...pod.labels },
        ...(pod.deleting ? { deletionTimestamp: new Date(0) } : {}),
      }));
  }

  status(kind: 'Service' | 'Deployment', ns: string, name: string): Record<string, unknown> | undefined {
    const map = kind === 'Service' ? this.services : this.deployments;
    const raw = map.get(keyOf(ns, name))?.metadata?.annotations?.[Annotations.transportStatus];
    return raw ? JSON.parse(raw) : undefined;
  }
}

/**
 * The mutating webhook on a write, as the API server calls it: the real
 * admission code with built-in settings, its patch applied to the object
 * (the caller moves `generation` as the API server does).
 */
function runMutatingWebhook(object: V1Service | V1Deployment): void {
  const kind = object.kind === 'Service' ? { group: '', version: 'v1', kind: 'Service' } : { group: 'apps', version: 'v1', kind: 'Deployment' };
  const { result } = mutateRequest(
    { uid: 'fake-cluster', kind, namespace: object.metadata!.namespace!, name: object.metadata!.name!, operation: 'UPDATE', object },
    { settings: staticSettings(), ownNamespace: 'mcp-admission' },
  );
  if (!result.patch) return;
  fastJsonPatch.applyPatch(object, result.patch, true, true);
}

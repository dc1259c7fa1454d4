/**
 * An in-memory {@link ClusterApi} for prober tests: resourceVersion checks
 * (409 on a stale write), injectable failures, recorded Events, and a
 * stand-in for the mutating webhook that applies the SSE settings on the
 * UPDATE that records `detected-protocol: sse` (DESIGN.md, "The prober").
 */
import type { CoreV1Event, V1Deployment, V1Service } from '@kubernetes/client-node';
import { Annotations, MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../../src/contract.ts';
import type { AnnotationPatch, ClusterApi } from '../../src/prober/cluster-api.ts';

export class ApiError extends Error {
  code: number;
  constructor(code: number, message = `HTTP ${code}`) {
    super(message);
    this.code = code;
  }
}

export function service(namespace: string, name: string, extra: Partial<V1Service['spec']> = {}, annotations: Record<string, string> = {}): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name, uid: `uid-${name}`, resourceVersion: '1', labels: { [MCP_COMPONENT_LABEL]: MCP_COMPONENT_VALUE }, annotations },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 8080 }], ...extra },
  };
}

export function deployment(namespace: string, name: string, app: string, annotations: Record<string, string> = {}): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace, name, uid: `uid-${name}`, resourceVersion: '1', generation: 1, labels: { [MCP_COMPONENT_LABEL]: MCP_COMPONENT_VALUE }, annotations },
    spec: {
      selector: { matchLabels: { app } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      template: { metadata: { labels: { app } }, spec: { terminationGracePeriodSeconds: 30, containers: [{ name: 'mcp', image: 'x' }] } },
    },
  };
}

type Key = string;
const keyOf = (ns: string, name: string): Key => `${ns}/${name}`;

export class FakeCluster implements ClusterApi {
  services = new Map<Key, V1Service>();
  deployments = new Map<Key, V1Deployment>();
  events: CoreV1Event[] = [];
  patches: Array<{ kind: string; key: Key; patch: AnnotationPatch }> = [];
  /** Errors thrown by the next calls of a given operation (`patchService ns/name`, `listDeployments ns`...). */
  failures = new Map<string, unknown[]>();
  /** Simulate the mutating webhook on Deployment writes. */
  webhook = true;
  #version = 100;

  add(...objects: Array<V1Service | V1Deployment>): this {
    for (const object of objects) {
      const key = keyOf(object.metadata!.namespace!, object.metadata!.name!);
      if (object.kind === 'Service') this.services.set(key, structuredClone(object as V1Service));
      else this.deployments.set(key, structuredClone(object as V1Deployment));
    }
    return this;
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

  async listDeployments(namespace: string): Promise<V1Deployment[]> {
    this.#fail(`listDeployments ${namespace}`);
    return [...this.deployments.values()].filter((d) => d.metadata?.namespace === namespace).map((d) => structuredClone(d));
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
    object.metadata!.annotations = { ...object.metadata!.annotations, ...patch.annotations };
    object.metadata!.resourceVersion = String(++this.#version);
    if (this.webhook && object.metadata!.annotations[Annotations.detectedProtocol] === 'sse') applySseSettings(object);
    return structuredClone(object);
  }

  async patchService(namespace: string, name: string, patch: AnnotationPatch): Promise<V1Service> {
    return this.#applyPatch(this.services, 'Service', namespace, name, patch);
  }

  async patchDeployment(namespace: string, name: string, patch: AnnotationPatch): Promise<V1Deployment> {
    return this.#applyPatch(this.deployments, 'Deployment', namespace, name, patch);
  }

  async createEvent(_namespace: string, event: CoreV1Event): Promise<void> {
    this.#fail('createEvent');
    this.events.push(event);
  }

  status(kind: 'Service' | 'Deployment', ns: string, name: string): Record<string, unknown> | undefined {
    const map = kind === 'Service' ? this.services : this.deployments;
    const raw = map.get(keyOf(ns, name))?.metadata?.annotations?.[Annotations.transportStatus];
    return raw ? JSON.parse(raw) : undefined;
  }
}

/** What the mutating webhook does to an SSE server (DESIGN.md, mode mutate). */
function applySseSettings(object: V1Service | V1Deployment): void {
  if (object.kind === 'Service') {
    const svc = object as V1Service;
    if (svc.spec!.sessionAffinity !== 'ClientIP') {
      svc.spec!.sessionAffinity = 'ClientIP';
      svc.metadata!.annotations![Annotations.applied] = 'sessionAffinity: ClientIP';
    }
    return;
  }
  const dep = object as V1Deployment;
  const spec = dep.spec!;
  if (spec.strategy?.rollingUpdate?.maxUnavailable === 0 && (spec.template.spec!.terminationGracePeriodSeconds ?? 30) >= 120) return;
  spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } };
  spec.template.spec!.terminationGracePeriodSeconds = 120;
  dep.metadata!.generation = (dep.metadata!.generation ?? 1) + 1;
  dep.metadata!.annotations![Annotations.applied] = 'strategy RollingUpdate maxUnavailable 0; grace 120s';
}

/**
 * {@link ClusterFacts} for the webhook, from informer caches: Services and
 * Deployments carrying the MCP label only (a label selector on the watch, so
 * the cache stays the size of the MCP servers, not of the cluster), and the
 * small cluster objects that say which controller serves a route
 * (IngressClasses, Gateways, GatewayClasses). A cluster without the Gateway
 * API CRDs lists no Gateways (a 404 is an empty list, and the watch retries
 * until the CRDs appear). Lookups read the caches and never wait.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import { ANNOTATION_PREFIX, MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../contract.ts';
import { DEFAULT_INGRESS_CLASS_ANNOTATION } from '../admission/object-facts.ts';
import { checkingShape } from '../admission/shape-check.ts';
import type { ClusterFacts } from '../policy/front-door.ts';
import { DeploymentFactsShape, ServiceShape, type DeploymentFacts, type Service } from '../policy/objects.ts';
import { statusCode } from './api-error.ts';
import type { KubeClient } from './kube-client.ts';
import { ListWatchInformer, type CachedObject } from './list-watch.ts';
import type { Members } from './picked-members.ts';

type Cached = CachedObject & { metadata?: { annotations?: Record<string, string> } };
type WithSpec = Cached & { spec?: Record<string, unknown> };

const LABEL_SELECTOR = `${MCP_COMPONENT_LABEL}=${MCP_COMPONENT_VALUE}`;
const GATEWAY_API = { group: 'gateway.networking.k8s.io', version: 'v1' };

/** kubectl's copy of the last applied manifest: the whole object again, as an annotation. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the caches keep of an object: all but its bookkeeping, which no
 * lookup reads and which is most of a stored object's size (the field
 * managers' record, kubectl's last-applied copy of the manifest, the
 * status). controller-runtime's cache drops managed fields the same way
 * (cache.TransformStripManagedFields). Changed in place: the object was
 * just parsed from the API server's answer.
 */
export function withoutBookkeeping<T extends Cached & { status?: unknown }>(object: T): T {
  const metadata = object.metadata as (Cached['metadata'] & { managedFields?: unknown }) | undefined;
  if (metadata) {
    delete metadata.managedFields;
    if (metadata.annotations) delete metadata.annotations[LAST_APPLIED];
  }
  delete object.status;
  return object;
}

type CachedDeployment = Cached & { metadata: NonNullable<Cached['metadata']>; spec: { template: { metadata: { labels?: unknown } } } };

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What the Deployment cache keeps of a labelled Deployment: what the front
 * door reads (objects.ts DeploymentFactsShape: the mcp-admission
 * annotations and the pod template's labels) and the informer's keys. A
 * stored Deployment is some 4 KiB on the heap once parsed; the cache holds
 * one per labelled Deployment of the cluster, and what it holds outlives a
 * young-generation collection, which copies it and then promotes it
 * (BENCHMARKS.md, "Garbage collection and the per-call layers"). Built as
 * new objects, so the parsed Deployment is left to the next scavenge whole.
 * A value that is not a map is kept as it is, for the shape check to refuse.
 */
export function deploymentFacts(object: { metadata?: unknown; spec?: unknown }): CachedDeployment {
  const metadata: Record<string, unknown> = isMap(object.metadata) ? object.metadata : {};
  const spec = isMap(object.spec) ? object.spec : {};
  const template = isMap(spec.template) ? spec.template : {};
  const templateMetadata = isMap(template.metadata) ? template.metadata : {};
  return {
    metadata: {
      name: metadata.name as string | undefined,
      namespace: metadata.namespace as string | undefined,
      resourceVersion: metadata.resourceVersion as string | undefined,
      annotations: ours(metadata.annotations) as Record<string, string> | undefined,
    },
    spec: { template: { metadata: { labels: templateMetadata.labels } } },
  };
}

/**
 * The members of a Deployment watch event that the informer and
 * {@link deploymentFacts} read: the Deployment watch parses only these
 * (picked-members.ts). A Status in an ERROR event is read for its code and
 * message (list-watch.ts).
 */
export const DEPLOYMENT_FACTS_MEMBERS: Members = {
  type: true,
  object: {
    code: true,
    message: true,
    metadata: { name: true, namespace: true, resourceVersion: true, annotations: true },
    spec: { template: { metadata: { labels: true } } },
  },
};

/** The annotations under mcp-admission's prefix, or none; a value that is not a map, as it is. */
function ours(annotations: unknown): unknown {
  if (!isMap(annotations)) return annotations;
  let kept: Record<string, unknown> | undefined;
  for (const key of Object.keys(annotations)) {
    if (key.startsWith(ANNOTATION_PREFIX)) (kept ??= {})[key] = annotations[key];
  }
  return kept;
}

/**
 * The shapes' checking twins (shape-check.ts): a lookup hands out the cached
 * object itself, which the shape parses into the same JSON (no defaults, no
 * transforms: test/unit/policy/objects.test.ts), so zod's copy is not needed.
 */
const checkDeployment = checkingShape(DeploymentFactsShape);
const checkService = checkingShape(ServiceShape);

export interface ClusterFactsOptions {
  client: KubeClient;
  logger: Logger;
  restartDelayMs?: number;
}

export class InformerClusterFacts implements ClusterFacts {
  private readonly informers: Record<'services' | 'deployments' | 'ingressClasses' | 'gateways' | 'gatewayClasses', ListWatchInformer<Cached>>;
  private synced = false;
  private stopped = false;
  /**
   * Whether each cached object matches its shape, by object: the informer
   * replaces an object on every change, so an entry is current for as long
   * as the object is cached, and a lookup checks only what changed since
   * the last one. Without it every route review checked, and copied, every
   * labelled Deployment of its backends' namespaces again (as the policy
   * checks in settings/cluster-source.ts).
   */
  private readonly matches = new WeakMap<object, boolean>();

  constructor(options: ClusterFactsOptions) {
    const watch = (
      path: string,
      {
        labelSelector,
        absentIsEmpty = false,
        transform = withoutBookkeeping,
        members,
      }: { labelSelector?: string; absentIsEmpty?: boolean; transform?: (object: Cached) => Cached; members?: Members } = {},
    ): ListWatchInformer<Cached> =>
      new ListWatchInformer<Cached>({
        client: options.client,
        path,
        ...(labelSelector ? { labelSelector } : {}),
        absentIsEmpty,
        restartDelayMs: options.restartDelayMs ?? 1000,
        transform,
        // Both transforms drop them: the watch spares parsing them (managed-fields.ts).
        withoutManagedFields: true,
        ...(members ? { members } : {}),
      });
    const gatewayApi = `/apis/${GATEWAY_API.group}/${GATEWAY_API.version}`;
    this.informers = {
      services: watch('/api/v1/services', { labelSelector: LABEL_SELECTOR }),
      // Every labelled Deployment admitted is also an event here: parsed for what deploymentFacts keeps.
      deployments: watch('/apis/apps/v1/deployments', { labelSelector: LABEL_SELECTOR, transform: deploymentFacts, members: DEPLOYMENT_FACTS_MEMBERS }),
      ingressClasses: watch('/apis/networking.k8s.io/v1/ingressclasses'),
      // No Gateway API CRDs: no Gateways, and the informer retries until they appear.
      gateways: watch(`${gatewayApi}/gateways`, { absentIsEmpty: true }),
      gatewayClasses: watch(`${gatewayApi}/gatewayclasses`, { absentIsEmpty: true }),
    };
    for (const [kind, informer] of Object.entries(this.informers)) {
      // The informer starts again by itself after a failure.
      informer.on('error', (err) => {
        if (!this.stopped && statusCode(err) !== 404) {
          options.logger.warn({ err, kind }, 'lost a watch of the front-door facts; keeping the last known objects and retrying');
        }
      });
    }
  }

  /** Lists every kind once, then watches; resolves when all have synced. */
  async start(): Promise<void> {
    await Promise.all(Object.values(this.informers).map((i) => i.start()));
    this.synced = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(Object.values(this.informers).map((i) => i.stop()));
  }

  ready(): boolean {
    return this.synced;
  }

  service(namespace: string, name: string): Service | undefined {
    const cached = this.informers.services.get(name, namespace);
    return cached && this.matchesShape(cached, checkService) ? (cached as Service) : undefined;
  }

  deployments(namespace: string): readonly DeploymentFacts[] {
    return this.informers.deployments.list(namespace).filter((d) => this.matchesShape(d, checkDeployment)) as DeploymentFacts[];
  }

  private matchesShape(object: Cached, check: z.ZodType): boolean {
    let matches = this.matches.get(object);
    if (matches === undefined) {
      matches = check.safeParse(object).success;
      this.matches.set(object, matches);
    }
    return matches;
  }

  ingressClassController(name: string): string | undefined {
    const controller = (this.informers.ingressClasses.get(name) as WithSpec | undefined)?.spec?.controller;
    return typeof controller === 'string' ? controller : undefined;
  }

  defaultIngressClass(): { name: string; controller: string } | undefined {
    const defaults = this.informers.ingressClasses.list().filter((c) => c.metadata?.annotations?.[DEFAULT_INGRESS_CLASS_ANNOTATION] === 'true');
    const only = defaults.length === 1 ? (defaults[0] as WithSpec) : undefined;
    const controller = only?.spec?.controller;
    return only?.metadata?.name && typeof controller === 'string' ? { name: only.metadata.name, controller } : undefined;
  }

  gatewayClassName(namespace: string, name: string): string | undefined {
    const className = (this.informers.gateways.get(name, namespace) as WithSpec | undefined)?.spec?.gatewayClassName;
    return typeof className === 'string' ? className : undefined;
  }

  gatewayClassController(name: string): string | undefined {
    const controller = (this.informers.gatewayClasses.get(name) as WithSpec | undefined)?.spec?.controllerName;
    return typeof controller === 'string' ? controller : undefined;
  }
}

/**
 * What the front-door rules (src/policy/ingress.ts, src/policy/http-route.ts)
 * share: the facts they read about the rest of the cluster, which
 * controller serves a route, which of its backends speak SSE, and the
 * words for controllers mcp-admission cannot configure.
 *
 * Why the front door needs its own settings (DESIGN.md "The front door"): an
 * ingress controller or Gateway sends requests straight to pod endpoints, so
 * the Service's ClientIP affinity does not apply there, and proxies buffer
 * event streams and cut idle ones.
 *
 * Stickiness is by client address, not by cookie, from evidence: through
 * Traefik v3.6 with cookie stickiness the official TypeScript SDK's
 * SSEClientTransport loses its session (its fetch never sends the cookie
 * back: the first POST lands on the other replica and gets 400 "No transport
 * found for sessionId"), while the official Python SDK client keeps it
 * (httpx keeps cookies). test/e2e/front-door.test.ts records the table.
 */
import { Annotations, type Transport } from '../contract.ts';
import type { Finding } from './finding.ts';
import type { DeploymentFacts, Service } from './objects.ts';
import type { EffectiveProtocol } from './protocol.ts';
import type { TransportSettings } from './transport-settings.ts';
import { describeWorkload } from './workload.ts';

/**
 * What the front-door rules know about the rest of the cluster. The webhook
 * answers from informer caches (src/kubernetes/cluster-facts.ts: labelled
 * Services and Deployments only, IngressClasses, Gateways, GatewayClasses);
 * `review` from the objects in its input. Lookups never fail: what is not
 * known is undefined.
 */
export interface ClusterFacts {
  /** A Service carrying the MCP label. */
  service(namespace: string, name: string): Service | undefined;
  /** Deployments carrying the MCP label in `namespace`: what the front door reads of them. */
  deployments(namespace: string): readonly DeploymentFacts[];
  /** `spec.controller` of an IngressClass. */
  ingressClassController(name: string): string | undefined;
  /** The IngressClass annotated `ingressclass.kubernetes.io/is-default-class: "true"`, if exactly one is. */
  defaultIngressClass(): { name: string; controller: string } | undefined;
  /** `spec.gatewayClassName` of a Gateway. */
  gatewayClassName(namespace: string, name: string): string | undefined;
  /** `spec.controllerName` of a GatewayClass. */
  gatewayClassController(name: string): string | undefined;
}

/** Facts for a webhook that knows nothing else: every backend is judged by policy alone. */
export const NO_FACTS: ClusterFacts = {
  service: () => undefined,
  deployments: () => [],
  ingressClassController: () => undefined,
  defaultIngressClass: () => undefined,
  gatewayClassName: () => undefined,
  gatewayClassController: () => undefined,
};

/** The proxies mcp-admission tells apart. */
export type ControllerId = 'ingress-nginx' | 'traefik' | 'envoy-gateway' | 'istio' | 'aws-alb' | 'gke' | 'haproxy' | 'unknown';

/** The proxy serving a route, and how it was found (for messages). */
export interface Controller {
  id: ControllerId;
  /** The controller string (`k8s.io/ingress-nginx`), or why there is none. */
  name: string;
}

/**
 * IngressClass `spec.controller` and GatewayClass `spec.controllerName`
 * values, from each project's documentation and install manifests.
 */
const CONTROLLERS: Record<string, ControllerId> = {
  'k8s.io/ingress-nginx': 'ingress-nginx',
  'traefik.io/ingress-controller': 'traefik',
  'traefik.io/gateway-controller': 'traefik',
  'gateway.envoyproxy.io/gatewayclass-controller': 'envoy-gateway',
  'istio.io/gateway-controller': 'istio',
  'istio.io/ingress-controller': 'istio',
  'ingress.k8s.aws/alb': 'aws-alb',
  'k8s.io/ingress-gce': 'gke',
  'networking.gke.io/gateway': 'gke',
  'haproxy.org/ingress-controller': 'haproxy',
  'haproxy-ingress.github.io/controller': 'haproxy',
};

/** The deprecated `kubernetes.io/ingress.class` annotation's usual values. */
const LEGACY_CLASS_NAMES: Record<string, ControllerId> = {
  nginx: 'ingress-nginx',
  traefik: 'traefik',
  alb: 'aws-alb',
  gce: 'gke',
  haproxy: 'haproxy',
  istio: 'istio',
};

export function controllerFor(name: string): Controller {
  return { id: CONTROLLERS[name] ?? 'unknown', name };
}

/** Which controller serves an Ingress: `spec.ingressClassName`, the legacy annotation, then the default IngressClass. */
export function ingressController(
  className: string | null | undefined,
  annotations: Readonly<Record<string, string>> | null | undefined,
  facts: ClusterFacts,
): Controller {
  if (className) {
    const controller = facts.ingressClassController(className);
    return controller ? controllerFor(controller) : { id: 'unknown', name: `IngressClass "${className}" (not found)` };
  }
  const legacy = annotations?.['kubernetes.io/ingress.class'];
  if (legacy) return { id: LEGACY_CLASS_NAMES[legacy] ?? 'unknown', name: `kubernetes.io/ingress.class "${legacy}"` };
  const fallback = facts.defaultIngressClass();
  return fallback ? controllerFor(fallback.controller) : { id: 'unknown', name: 'no IngressClass (none named, no default)' };
}

/** A Service a route sends traffic to, and whether it speaks SSE. */
export interface Backend {
  namespace: string;
  name: string;
  /** Field path of the reference in the route. */
  field: string;
  /** The labelled Service, when mcp-admission knows it. */
  service?: Service;
  protocol: EffectiveProtocol;
}

const selects = (selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>> | null | undefined): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/**
 * The effective protocol of a backend Service, as for the Service itself
 * (DESIGN.md "Effective protocol"): what the Service declares or the prober
 * found on it, else what the Deployments it selects declare or were found
 * to speak (SSE first: the safe side), else the policy's `undetectedProtocol`.
 * A Service mcp-admission does not know (not labelled, or not created yet)
 * is judged by policy too, and says so.
 */
export function backendOf(namespace: string, name: string, field: string, facts: ClusterFacts, settings: TransportSettings): Backend {
  const service = facts.service(namespace, name);
  if (!service) return { namespace, name, field, protocol: { protocol: settings.undetectedProtocol, source: 'policy' } };
  const own = describeWorkload('service', service.metadata, settings).protocol;
  if (own.source !== 'policy') return { namespace, name, field, service, protocol: own };
  const selector = service.spec?.selector ?? {};
  const found = facts
    .deployments(namespace)
    .filter((d) => selects(selector, d.spec.template.metadata?.labels))
    .map((d) => describeWorkload('deployment', d.metadata, settings).protocol)
    .filter((p) => p.source !== 'policy');
  const protocol = found.find((p) => p.protocol === 'sse') ?? found[0] ?? own;
  return { namespace, name, field, service, protocol };
}

/** A warning for each SSE backend mcp-admission does not know, saying what it assumed. */
export function unknownBackendWarnings(backends: readonly Backend[], settings: TransportSettings): Finding[] {
  return backends
    .filter((b) => !b.service && b.protocol.protocol === 'sse')
    .map((b) => ({
      rule: 'route-backend-unknown' as const,
      field: b.field,
      message:
        `Service "${b.name}" in namespace "${b.namespace}" is not a labelled MCP Service mcp-admission knows (not created yet, or ` +
        `without the label), so it is treated as ${settings.undetectedProtocol} (policy undetectedProtocol) and the front-door ` +
        `settings are applied for it.`,
    }));
}

/** Whether mode `mutate` may change this route (policy `bounds.allowFrontDoorMutation`). */
export function mayMutateFrontDoor(settings: TransportSettings): boolean {
  return settings.mode === 'mutate' && settings.allowFrontDoorMutation;
}

/** The protocol a route's backends make it: SSE if any backend is. */
export function routesSse(backends: readonly Backend[]): boolean {
  return backends.some((b) => b.protocol.protocol === ('sse' satisfies Transport));
}

/**
 * Traefik's Kubernetes Ingress and Gateway API providers offer no
 * client-address hashing (only cookie stickiness, read from the Service's
 * annotations; `hrw` exists only on its own IngressRoute and TraefikService
 * CRDs; github.com/traefik/traefik/v3 pkg/provider/kubernetes/ingress
 * annotations.go, gateway features.go). `nativeLB` makes Traefik send to the
 * Service's ClusterIP instead of the pod endpoints, so the Service's ClientIP
 * affinity (which mcp-admission sets) holds for every client, cookies or not.
 * The trade-off: kube-proxy then sees the Traefik pod as the client, so all
 * sessions through one Traefik instance land on one replica.
 */
export const TRAEFIK_NATIVE_LB = {
  ingress: 'traefik.ingress.kubernetes.io/service.nativelb',
  gateway: 'traefik.io/service.nativelb',
} as const;

export const TRAEFIK_TRADE_OFF =
  'Traefik then sends to the ClusterIP, where the ClientIP affinity holds for every client (cookie stickiness fails for the ' +
  'official TypeScript SDK client, which keeps no cookies); kube-proxy sees the Traefik pod as the client, so all sessions ' +
  'through one Traefik instance share one replica';

/** What to do by hand, for a controller mcp-admission cannot configure from the route. */
export function unconfigurableControllerFinding(field: string, controller: Controller, settings: TransportSettings): Finding {
  const stream = settings.streamTimeoutSeconds;
  const how: Partial<Record<ControllerId, string>> = {
    'aws-alb':
      `the AWS Load Balancer Controller offers only cookie stickiness (the official TypeScript SDK client keeps no cookies) ` +
      `and a 60 s idle timeout by default. Fix: put SSE MCP servers behind a Network Load Balancer (Service type LoadBalancer ` +
      `with target group attribute stickiness.type=source_ip), or at least set ` +
      `alb.ingress.kubernetes.io/load-balancer-attributes: idle_timeout.timeout_seconds=${stream}`,
    gke:
      `GKE's load balancer takes session affinity and timeouts from a BackendConfig, a separate object. Fix: apply a ` +
      `BackendConfig with spec.sessionAffinity.affinityType: CLIENT_IP and spec.timeoutSec: ${stream}, and annotate the ` +
      `Service cloud.google.com/backend-config: '{"default": "<its name>"}'`,
    haproxy:
      `mcp-admission does not configure HAProxy. Fix: balance by source address and keep tunnels open: the controller's ` +
      `load-balance "source" and a server/tunnel timeout of at least ${stream}s (see its annotation reference)`,
  };
  return {
    rule: 'route-controller-unconfigurable',
    field,
    message:
      `${controller.name} serves this route and ${how[controller.id] ??
        `mcp-admission does not know how to configure it. Fix: make it send each client to one pod for the whole session by ` +
        `client address (the official TypeScript SDK client keeps no cookies), pass text/event-stream through unbuffered, and ` +
        `keep idle streams open for at least ${stream}s`}.`,
  };
}

/** The `applied` annotation key, re-exported so the route rules read one contract. */
export const APPLIED = Annotations.applied;

/**
 * Rules for labelled Gateway API HTTPRoutes that route to SSE MCP Services
 * (DESIGN.md "The front door"). The implementation is found from each
 * parent Gateway's GatewayClass `spec.controllerName`.
 *
 * - Timeouts (GEP-1742, `rules[].timeouts`): `request` covers the whole
 *   response, so on an SSE stream it is the stream's lifetime. Envoy Gateway
 *   applies Envoy's 15 s route timeout when it is unset (gateway.envoyproxy.io
 *   "HTTP Request Timeouts"), which cuts every SSE stream after 15 s: where
 *   the implementation is not known to leave it unlimited, mutate sets it to
 *   the policy's stream timeout. A value shorter than that is refused; `0s`
 *   means no timeout and is kept.
 * - One client on one pod: `sessionPersistence` is cookie- or header-based,
 *   and the official TypeScript SDK client sends neither back, so it is not
 *   what mcp-admission sets. Client-address hashing lives in separate objects
 *   a webhook cannot create: Envoy Gateway's BackendTrafficPolicy and Istio's
 *   DestinationRule; the warning carries the exact YAML. Traefik has neither;
 *   its Service carries `nativeLB` (see TRAEFIK_NATIVE_LB and traefik-route.ts).
 */
import type { Finding, Verdict } from './finding.ts';
import { APPLIED, backendOf, controllerFor, mayMutateFrontDoor, routesSse, TRAEFIK_NATIVE_LB } from './front-door.ts';
import { unconfigurableControllerFinding, unknownBackendWarnings } from './front-door.ts';
import type { Backend, ClusterFacts, Controller } from './front-door.ts';
import type { HTTPRoute } from './objects.ts';
import { traefikRouteFindings } from './traefik-route.ts';
import type { TransportSettings } from './transport-settings.ts';
import type { Mutation } from './workload.ts';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** Implementations whose route timeout is unlimited when unset: setting one would only add a limit. */
const NO_DEFAULT_REQUEST_TIMEOUT = new Set(['istio', 'traefik']);

/** Seconds of a Gateway API Duration (GEP-2257: `1h`, `30m`, `3600s`, `500ms`, combined), or undefined when it does not parse. */
export function durationSeconds(duration: string): number | undefined {
  if (!/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(duration)) return undefined;
  const unit = { h: 3600, m: 60, s: 1, ms: 0.001 } as const;
  let total = 0;
  for (const [, n, u] of duration.matchAll(/([0-9]+)(ms|h|m|s)/g)) total += Number(n) * unit[u as keyof typeof unit];
  return total;
}

/** A Gateway API Duration for whole seconds, in the largest unit that divides it (at most 5 digits, as GEP-2257 allows). */
export function formatDuration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** The distinct implementations behind a route's parent Gateways. */
function controllers(route: HTTPRoute, facts: ClusterFacts): Controller[] {
  const namespace = route.metadata.namespace ?? 'default';
  const found = new Map<string, Controller>();
  for (const parent of route.spec?.parentRefs ?? []) {
    if ((parent.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (parent.kind ?? 'Gateway') !== 'Gateway') continue;
    const className = facts.gatewayClassName(parent.namespace ?? namespace, parent.name);
    const controllerName = className ? facts.gatewayClassController(className) : undefined;
    const controller: Controller = controllerName
      ? controllerFor(controllerName)
      : { id: 'unknown', name: `Gateway "${parent.name}" (${className ? `GatewayClass "${className}" not found` : 'not found'})` };
    found.set(controller.name, controller);
  }
  return [...found.values()];
}

/** The Service backends of an HTTPRoute, every rule, with where each is referenced and its effective protocol. */
export function httpRouteBackends(route: HTTPRoute, facts: ClusterFacts, settings: TransportSettings): Backend[] {
  const namespace = route.metadata.namespace ?? 'default';
  return (route.spec?.rules ?? []).flatMap((rule, index) =>
    (rule.backendRefs ?? []).flatMap((ref, b) =>
      (ref.group ?? '') === '' && (ref.kind ?? 'Service') === 'Service'
        ? [backendOf(ref.namespace ?? namespace, ref.name, `spec.rules[${index}].backendRefs[${b}]`, facts, settings)]
        : [],
    ),
  );
}

interface SseRule {
  index: number;
  backends: Backend[];
  /** `timeouts.request` this rule must have, when mutate may set one. */
  request?: string;
  problems: Finding[];
}

/** Per rule with an SSE backend: the timeout it needs and what contradicts the stream. */
function sseRules(route: HTTPRoute, facts: ClusterFacts, settings: TransportSettings, implementations: Controller[]): SseRule[] {
  const namespace = route.metadata.namespace ?? 'default';
  const stream = settings.streamTimeoutSeconds;
  const needsExplicit = implementations.length === 0 || implementations.some((c) => !NO_DEFAULT_REQUEST_TIMEOUT.has(c.id));
  const name = route.metadata.name ?? '<name>';
  const out: SseRule[] = [];
  (route.spec?.rules ?? []).forEach((rule, index) => {
    const backends = (rule.backendRefs ?? [])
      .map((ref, b) => ({ ref, b }))
      .filter(({ ref }) => (ref.group ?? '') === '' && (ref.kind ?? 'Service') === 'Service')
      .map(({ ref, b }) => backendOf(ref.namespace ?? namespace, ref.name, `spec.rules[${index}].backendRefs[${b}]`, facts, settings));
    if (!routesSse(backends)) return;
    const problems: Finding[] = [];
    const timeouts = rule.timeouts ?? {};
    const backendRequest = timeouts.backendRequest === undefined ? undefined : durationSeconds(timeouts.backendRequest);
    // The CRD refuses a backendRequest longer than request, so request never goes below it.
    const wanted = Math.max(stream, backendRequest ?? 0);
    const fix =
      `Fix:\n  spec:\n    rules:\n    - # rules[${index}]\n      timeouts:\n        request: ${formatDuration(wanted)}\n` +
      `or: kubectl patch httproute/${name} -n ${namespace} --type=json -p '[{"op":"add","path":"/spec/rules/${index}/timeouts",` +
      `"value":{"request":"${formatDuration(wanted)}"}}]'`;
    for (const key of ['request', 'backendRequest'] as const) {
      const value = timeouts[key];
      if (value === undefined) continue;
      const seconds = durationSeconds(value);
      if (seconds === 0) continue; // 0s disables the timeout (GEP-1742).
      if (seconds === undefined || seconds < stream) {
        problems.push({
          rule: 'httproute-timeout',
          field: `spec.rules[${index}].timeouts.${key}`,
          message:
            `${JSON.stringify(value)} ends every SSE stream of this rule after that long (the timeout covers the whole response, and ` +
            `an SSE response lasts as long as the session); policy asks for at least ${stream}s. ${key === 'request' ? fix : `Fix: remove timeouts.backendRequest, or set it to ${formatDuration(stream)} or more.`}`,
        });
      }
    }
    const sseRule: SseRule = { index, backends, problems };
    if (timeouts.request === undefined && needsExplicit) {
      sseRule.request = formatDuration(wanted);
      problems.push({
        rule: 'httproute-timeout',
        field: `spec.rules[${index}].timeouts.request`,
        message:
          `unset: ${implementations.map((c) => c.name).join(', ') || 'the implementation'} may apply its own route timeout (Envoy ` +
          `Gateway: 15 s), which ends every SSE stream after that long; policy asks for at least ${stream}s. ${fix}`,
      });
    }
    out.push(sseRule);
  });
  return out;
}

/** Sets `timeouts.request` on SSE rules that lack one; a present value is the user's and is left to validation. */
export function mutateHTTPRoute(route: HTTPRoute, settings: TransportSettings, facts: ClusterFacts): Mutation<HTTPRoute> {
  if (!mayMutateFrontDoor(settings)) return { object: route, changes: [] };
  const rules = sseRules(route, facts, settings, controllers(route, facts)).filter((r) => r.request !== undefined);
  if (rules.length === 0) return { object: route, changes: [] };
  // Structural copy: new objects only along the paths that change; see mutateDeployment.
  const routeRules = [...route.spec!.rules!];
  const copy: HTTPRoute = { ...route, metadata: { ...route.metadata }, spec: { ...route.spec, rules: routeRules } };
  const changes: string[] = [];
  for (const { index, request } of rules) {
    const rule = routeRules[index]!;
    routeRules[index] = { ...rule, timeouts: { ...rule.timeouts, request: request! } };
    changes.push(`rules[${index}].timeouts.request (unset) -> ${request}`);
  }
  copy.metadata.annotations = {
    ...copy.metadata.annotations,
    [APPLIED]: `front door (Gateway API): timeouts.request ${rules[0]!.request} on SSE rules ${rules.map((r) => r.index).join(', ')}, so the route never ends a stream sooner`,
  };
  return { object: copy, changes };
}

/** The BackendTrafficPolicy that makes Envoy Gateway hash this route's traffic by client address. */
function envoyGatewayPolicy(route: HTTPRoute): string {
  const name = route.metadata.name ?? '<name>';
  return (
    `apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: BackendTrafficPolicy\nmetadata:\n  name: ${name}-mcp-sse\n` +
    `  namespace: ${route.metadata.namespace ?? 'default'}\nspec:\n  targetRefs:\n  - group: ${GATEWAY_GROUP}\n    kind: HTTPRoute\n` +
    `    name: ${name}\n  loadBalancer:\n    type: ConsistentHash\n    consistentHash:\n      type: SourceIP\n`
  );
}

/** The DestinationRule that makes Istio hash a Service's traffic by client address. */
function istioDestinationRule(backend: Backend): string {
  return (
    `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: ${backend.name}-mcp-sse\n  namespace: ${backend.namespace}\n` +
    `spec:\n  host: ${backend.name}.${backend.namespace}.svc.cluster.local\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        useSourceIp: true\n`
  );
}

/** Judges an HTTPRoute as it will be stored: every setting that breaks SSE sessions, with the fix. */
export function validateHTTPRoute(route: HTTPRoute, settings: TransportSettings, facts: ClusterFacts): Verdict {
  const implementations = controllers(route, facts);
  const rules = sseRules(route, facts, settings, implementations);
  if (rules.length === 0) return { denials: [], warnings: [] };
  const backends = rules.flatMap((r) => r.backends).filter((b) => b.protocol.protocol === 'sse');
  const denials: Finding[] = rules.flatMap((r) => r.problems);
  const warnings: Finding[] = unknownBackendWarnings(backends, settings);
  const stickiness =
    'without it each request is balanced over the pod endpoints on its own, so an SSE client\'s POSTs land on pods that do not hold its stream';
  for (const controller of implementations) {
    if (controller.id === 'traefik') {
      const traefik = traefikRouteFindings(backends, TRAEFIK_NATIVE_LB.gateway, 'spec.parentRefs', settings);
      denials.push(...traefik.denials);
      warnings.push(...traefik.warnings);
    } else if (controller.id === 'envoy-gateway') {
      warnings.push({
        rule: 'httproute-client-address-hashing',
        field: 'spec.parentRefs',
        message:
          `Envoy Gateway (${controller.name}) hashes by client address only through a BackendTrafficPolicy, a separate object ` +
          `mcp-admission cannot create from a webhook; ${stickiness}. Fix: apply\n${envoyGatewayPolicy(route)}`,
      });
    } else if (controller.id === 'istio') {
      const unique = [...new Map(backends.map((b) => [`${b.namespace}/${b.name}`, b])).values()];
      warnings.push({
        rule: 'httproute-client-address-hashing',
        field: 'spec.parentRefs',
        message:
          `Istio (${controller.name}) hashes by client address only through a DestinationRule, a separate object mcp-admission ` +
          `cannot create from a webhook; ${stickiness}. Fix: apply\n${unique.map(istioDestinationRule).join('---\n')}`,
      });
    } else warnings.push(unconfigurableControllerFinding('spec.parentRefs', controller, settings));
  }
  return { denials, warnings };
}

/**
 * Routes that reach SSE MCP servers without the MCP label (DESIGN.md "The
 * front door": "Unlabelled routes to SSE servers are reported by the prober
 * and by `audit`"). The webhook never sees them (its objectSelector asks for
 * the label), so nothing configures their controller for SSE sessions; this
 * is the finding the prober's Warning Event and `audit` line carry.
 *
 * Only backends mcp-admission knows count: a labelled Service whose
 * effective protocol is `sse`. A Service it does not know says nothing about
 * MCP, so a route to it is never reported.
 */
import { MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../contract.ts';
import type { Finding } from './finding.ts';
import type { ClusterFacts } from './front-door.ts';
import { httpRouteBackends } from './http-route.ts';
import { ingressBackends } from './ingress.ts';
import { HTTPRouteShape, IngressShape } from './objects.ts';
import type { TransportSettings } from './transport-settings.ts';

/** Services named in the finding; a route to more says how many more. */
const MAX_NAMED_SERVICES = 3;

/** The finding for an unlabelled Ingress or HTTPRoute that routes to a known SSE MCP Service; undefined otherwise. */
export function unlabelledRouteFinding(route: unknown, facts: ClusterFacts, settings: TransportSettings): Finding | undefined {
  const kind = (route as { kind?: unknown } | null)?.kind;
  const parsed = kind === 'Ingress' ? IngressShape.safeParse(route) : kind === 'HTTPRoute' ? HTTPRouteShape.safeParse(route) : undefined;
  if (!parsed?.success) return undefined;
  const { metadata } = parsed.data;
  if (metadata.labels?.[MCP_COMPONENT_LABEL] === MCP_COMPONENT_VALUE) return undefined;
  const backends =
    kind === 'Ingress'
      ? ingressBackends(IngressShape.parse(route), facts, settings)
      : httpRouteBackends(HTTPRouteShape.parse(route), facts, settings);
  const sse = [...new Set(backends.filter((b) => b.service && b.protocol.protocol === 'sse').map((b) => `"${b.name}"`))];
  if (sse.length === 0) return undefined;
  // Bounded, so the fix at the end is never cut (the prober's Event holds 1 KiB).
  const named = sse.length > MAX_NAMED_SERVICES ? `${sse.slice(0, MAX_NAMED_SERVICES).join(', ')} and ${sse.length - MAX_NAMED_SERVICES} more` : sse.join(', ');
  const target = `${String(kind).toLowerCase()}/${metadata.name ?? '<name>'} -n ${metadata.namespace ?? 'default'}`;
  return {
    rule: 'route-unlabelled',
    field: 'metadata.labels',
    message:
      `routes to SSE MCP Service ${named} without the label ${MCP_COMPONENT_LABEL}: ${MCP_COMPONENT_VALUE}, so ` +
      `mcp-admission never sees it and its controller is not set up to keep each client on one pod or the stream open: ` +
      `SSE sessions through it break. Fix: kubectl label ${target} ${MCP_COMPONENT_LABEL}=${MCP_COMPONENT_VALUE}`,
  };
}

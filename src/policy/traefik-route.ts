/**
 * Traefik as the front door, judged from the route (Ingress or HTTPRoute):
 * nothing on the route can keep an SSE client on its pod, the backend
 * Service's `nativeLB` annotation does (see TRAEFIK_NATIVE_LB in
 * front-door.ts), and the Service rules add it in mode mutate.
 *
 * A Service stored before that (created under an earlier version, or under
 * another mode) lacks it until its next write through the webhook. In mode
 * mutate that is no reason to refuse the route: the route is right, and the
 * Service only needs the write mutate would make. The route is admitted with
 * a warning that says why sessions are not sticky yet and the one command
 * that fixes it; `audit` lists the Service as would-mutate meanwhile. Where
 * the webhook would not add it (mode validate, policy without front-door
 * mutation, a Service whose affinity is off, a value the user set), the
 * route is refused with that command.
 *
 * Once every SSE Service has it, the route draws one warning with the
 * trade-off of nativeLB, since the person writing the route is the one who
 * meets it: kube-proxy sees the Traefik pod as the client, so every session
 * through one Traefik instance lands on one replica.
 */
import type { Finding, Verdict } from './finding.ts';
import { mayMutateFrontDoor, TRAEFIK_TRADE_OFF, type Backend } from './front-door.ts';
import type { Service } from './objects.ts';
import { mutateService } from './service.ts';
import type { TransportSettings } from './transport-settings.ts';

/** Whether the Service webhook adds `annotation` to this Service on its next write. */
function webhookAdds(service: Service, annotation: string, settings: TransportSettings): boolean {
  if (!mayMutateFrontDoor(settings) || service.metadata.annotations?.[annotation] !== undefined) return false;
  return mutateService(service, settings).object.metadata.annotations?.[annotation] === 'true';
}

/**
 * The Traefik findings of a route: per known SSE backend Service without
 * `annotation: "true"`, a warning (mode mutate adds it on the Service's next
 * write) or a refusal; else the trade-off, as a warning at `controllerField`.
 * A backend in another namespace (HTTPRoute with a ReferenceGrant) is judged
 * under the route's settings: the only ones the rules are given.
 */
export function traefikRouteFindings(backends: readonly Backend[], annotation: string, controllerField: string, settings: TransportSettings): Verdict {
  // One finding per Service, at its first reference.
  const seen = new Set<string>();
  const services = backends.filter((b) => {
    const key = `${b.namespace}/${b.name}`;
    if (!b.service || b.protocol.protocol !== 'sse' || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const denials: Finding[] = [];
  const warnings: Finding[] = [];
  for (const b of services) {
    const value = b.service!.metadata.annotations?.[annotation];
    if (value === 'true') continue;
    if (webhookAdds(b.service!, annotation, settings)) {
      const fix = `kubectl annotate service/${b.name} -n ${b.namespace} ${annotation}=true, or re-apply the Service (mcp-admission adds it)`;
      warnings.push({
        rule: 'route-traefik-native-lb',
        field: b.field,
        message:
          `Service "${b.name}" was stored without ${annotation} (mcp-admission adds it to SSE Services on their next write), so ` +
          `SSE sessions through Traefik are not sticky yet: Traefik balances each request over the pods itself, and a client's ` +
          `POSTs land on pods that do not hold its stream. Fix: ${fix}`,
        fix,
      });
      continue;
    }
    const fix = `kubectl annotate service/${b.name} -n ${b.namespace} --overwrite ${annotation}=true`;
    denials.push({
      rule: 'route-traefik-native-lb',
      field: b.field,
      message:
        `Traefik balances each request over the pods of Service "${b.name}" on its own (round robin), so an SSE client's POSTs ` +
        `land on pods that do not hold its stream ("No transport found for sessionId"). The Service needs ${annotation}: "true" ` +
        `(it has ${value === undefined ? 'none' : JSON.stringify(value)}): ${TRAEFIK_TRADE_OFF}. Fix: ${fix}`,
      fix,
    });
  }
  const pinned = services.filter((b) => b.service!.metadata.annotations?.[annotation] === 'true');
  if (denials.length === 0 && warnings.length === 0 && pinned.length > 0) {
    const names = pinned.map((b) => `"${b.name}"`).join(', ');
    warnings.push({
      rule: 'route-traefik-shared-replica',
      field: controllerField,
      message:
        `every session through one Traefik instance lands on one replica of Service ${names}: with nativeLB Traefik sends to the ` +
        `ClusterIP, and kube-proxy's ClientIP affinity sees the Traefik pod as the client (Traefik offers no client-address ` +
        `hashing for Ingress or HTTPRoute, and its cookie stickiness fails the TypeScript SDK client).`,
    });
  }
  return { denials, warnings };
}

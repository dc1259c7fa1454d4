/**
 * Rules for MCP Services: an SSE session lives in the pod holding its
 * stream, so the client's POSTs must reach that same pod. ClientIP session
 * affinity does that for traffic through the Service's virtual IP.
 */
import { Annotations } from '../contract.ts';
import { annotationField, type Finding, type Verdict } from './finding.ts';
import { TRAEFIK_NATIVE_LB, TRAEFIK_TRADE_OFF } from './front-door.ts';
import type { Service } from './objects.ts';
import type { TransportSettings } from './transport-settings.ts';
import { describeWorkload, kubectlMergePatch, type Mutation, type Workload } from './workload.ts';

type ServiceSpec = NonNullable<Service['spec']>;

/** Why affinity cannot apply to a Service, or undefined when it can. */
function affinityNotApplicable(spec: ServiceSpec): string | undefined {
  if (spec.type === 'ExternalName') return 'an ExternalName Service is a DNS alias: there is no proxy to hold affinity';
  if (spec.clusterIP === 'None') return 'a headless Service hands out pod IPs directly: clients pick the pod, not kube-proxy';
  return undefined;
}

/** Whether the Service should carry ClientIP affinity, given annotations and policy. */
function wantsAffinity(workload: Workload): boolean {
  return workload.protocol.protocol === 'sse' && workload.annotations.values.sessionAffinity !== false;
}

function affinityTimeout(spec: ServiceSpec, workload: Workload): number {
  return (
    workload.annotations.values.sessionAffinityTimeoutSeconds ??
    (spec.sessionAffinity === 'ClientIP' ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds : undefined) ??
    workload.settings.sessionAffinityTimeoutSeconds
  );
}

/**
 * The Traefik annotations an SSE Service lacks (see TRAEFIK_NATIVE_LB in
 * front-door.ts): inert unless Traefik routes to the Service, and then the
 * only Traefik setting that keeps cookie-less SSE clients on their pod. Only
 * where the Service's affinity applies, and only when policy lets mutate
 * change the front door; a value the user set is theirs.
 */
function missingTraefikAnnotations(service: Service, settings: TransportSettings): string[] {
  if (!settings.allowFrontDoorMutation) return [];
  const annotations = service.metadata.annotations ?? {};
  return [TRAEFIK_NATIVE_LB.ingress, TRAEFIK_NATIVE_LB.gateway].filter((key) => annotations[key] === undefined);
}

/** Applies ClientIP affinity to a copy of an SSE Service; returns the input when nothing changes. */
export function mutateService(service: Service, settings: TransportSettings): Mutation<Service> {
  const workload = describeWorkload('service', service.metadata, settings);
  const spec: ServiceSpec = service.spec ?? {};
  if (!wantsAffinity(workload) || workload.annotations.denials.length > 0 || affinityNotApplicable(spec)) {
    return { object: service, changes: [] };
  }
  const timeoutSeconds = affinityTimeout(spec, workload);
  const current = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  const traefik = missingTraefikAnnotations(service, settings);
  const affinityInPlace = spec.sessionAffinity === 'ClientIP' && current === timeoutSeconds;
  if (affinityInPlace && traefik.length === 0) return { object: service, changes: [] };

  // Structural copy: only the object and its metadata are new (spec is replaced whole below); see mutateDeployment.
  const copy: Service = { ...service, metadata: { ...service.metadata } };
  const changes: string[] = [];
  if (!affinityInPlace) {
    copy.spec = {
      ...copy.spec,
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { ...copy.spec?.sessionAffinityConfig, clientIP: { ...copy.spec?.sessionAffinityConfig?.clientIP, timeoutSeconds } },
    };
    changes.push(
      spec.sessionAffinity === 'ClientIP'
        ? `session affinity timeout ${current ?? '(unset)'} -> ${timeoutSeconds}s`
        : `sessionAffinity ${spec.sessionAffinity ?? '(unset)'} -> ClientIP (timeout ${timeoutSeconds}s)`,
    );
  }
  const traefikAnnotations = Object.fromEntries(traefik.map((key) => [key, 'true']));
  changes.push(...traefik.map((key) => `${key} (unset) -> true`));
  // The settings in force, not the delta: see describeSettingsInForce in deployment.ts.
  const nativeLB = (copy.metadata.annotations?.[TRAEFIK_NATIVE_LB.ingress] ?? traefikAnnotations[TRAEFIK_NATIVE_LB.ingress]) === 'true';
  copy.metadata.annotations = {
    ...copy.metadata.annotations,
    ...traefikAnnotations,
    [Annotations.applied]:
      `SSE settings: sessionAffinity ClientIP (timeout ${timeoutSeconds}s)` + (nativeLB ? `; Traefik nativeLB (${TRAEFIK_TRADE_OFF})` : ''),
  };
  return { object: copy, changes };
}

/** Judges a Service as it will be stored. Reports every problem. */
export function validateService(service: Service, settings: TransportSettings): Verdict {
  const workload = describeWorkload('service', service.metadata, settings);
  const denials: Finding[] = [...workload.annotations.denials];
  const warnings: Finding[] = [...workload.annotations.warnings];
  const spec: ServiceSpec = service.spec ?? {};
  const ports = spec.ports ?? [];
  const port = workload.annotations.values.port;

  if (port !== undefined && ports.length > 0 && !ports.some((p) => p.port === port || p.name === port)) {
    const available = ports.map((p) => (p.name ? `${p.name} (${p.port})` : String(p.port))).join(', ');
    denials.push({
      rule: 'service-port',
      field: annotationField(Annotations.port),
      message:
        `"${port}" matches no port of this Service (it has: ${available}), so the prober cannot find the MCP endpoint. ` +
        `Fix: set it to one of those port names or numbers, e.g. kubectl annotate ${workload.kubectlTarget} --overwrite ` +
        `${Annotations.port}=${ports[0]?.name ?? ports[0]?.port}`,
    });
  }

  if (!wantsAffinity(workload)) return { denials, warnings };
  for (const key of [TRAEFIK_NATIVE_LB.ingress, TRAEFIK_NATIVE_LB.gateway]) {
    const value = service.metadata.annotations?.[key];
    if (value !== undefined && value !== 'true') {
      denials.push({
        rule: 'service-traefik-native-lb',
        field: annotationField(key),
        message:
          `${JSON.stringify(value)} makes Traefik balance each request over the pod endpoints itself, so an SSE client's POSTs land ` +
          `on pods that do not hold its stream; Traefik offers no client-address hashing for Ingress or HTTPRoute, and its cookie ` +
          `stickiness fails for the official TypeScript SDK client, which keeps no cookies. With "true", ${TRAEFIK_TRADE_OFF}. ` +
          `Fix: kubectl annotate ${workload.kubectlTarget} --overwrite ${key}=true`,
      });
    }
  }
  const notApplicable = affinityNotApplicable(spec);
  if (notApplicable) {
    warnings.push({
      rule: 'service-affinity-not-applicable',
      field: 'spec.sessionAffinity',
      message: `${notApplicable}, so mcp-admission cannot pin SSE clients to their pod here; make sure the client or gateway does.`,
    });
    return { denials, warnings };
  }

  const timeoutSeconds = affinityTimeout(spec, workload);
  if (spec.sessionAffinity !== 'ClientIP') {
    denials.push({
      rule: 'service-session-affinity',
      field: 'spec.sessionAffinity',
      message:
        `${JSON.stringify(spec.sessionAffinity ?? 'None')} spreads a client's POSTs over all pods, but an SSE session ` +
        `lives only in the pod holding its stream: other pods answer "session not found". Fix:\n` +
        `  spec:\n    sessionAffinity: ClientIP\n    sessionAffinityConfig:\n      clientIP:\n        timeoutSeconds: ${timeoutSeconds}\n` +
        `or: ${kubectlMergePatch(workload, { spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds } } } })}`,
    });
  } else {
    const current = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (workload.annotations.values.sessionAffinityTimeoutSeconds !== undefined && current !== timeoutSeconds) {
      denials.push({
        rule: 'service-affinity-timeout',
        field: 'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
        message:
          `${current ?? '(unset)'} differs from the ${timeoutSeconds}s asked for by ${Annotations.sessionAffinityTimeoutSeconds}. Fix: ` +
          kubectlMergePatch(workload, { spec: { sessionAffinityConfig: { clientIP: { timeoutSeconds } } } }),
      });
    }
    const type = spec.type ?? 'ClusterIP';
    if (type === 'LoadBalancer' && (spec.externalTrafficPolicy ?? 'Cluster') === 'Cluster') {
      warnings.push({
        rule: 'service-external-traffic-policy',
        field: 'spec.externalTrafficPolicy',
        message:
          'Cluster on a LoadBalancer rewrites the client\'s source address to a node\'s, so ClientIP affinity pins by node, ' +
          'not by client, and external SSE clients can still lose their session. Use externalTrafficPolicy: Local, or put the ' +
          'server behind an ingress with sticky sessions.',
      });
    }
  }
  return { denials, warnings };
}

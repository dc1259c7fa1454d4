/**
 * Rules for labelled Ingresses that route to SSE MCP Services (DESIGN.md
 * "The front door"). The controller is found from the IngressClass; what
 * keeps one client on one pod and the stream open depends on it:
 *
 * - ingress-nginx: annotations on the Ingress (kubernetes.github.io/
 *   ingress-nginx "Annotations"): `upstream-hash-by: $remote_addr` (consistent
 *   hashing by client address; a cookie would be lost on the TypeScript SDK
 *   client), `proxy-read-timeout` and `proxy-send-timeout` of at least the
 *   policy's stream timeout (default 60 s cuts an idle stream), and
 *   `proxy-buffering: off` (a buffered event stream reaches the client late).
 * - Traefik: nothing on the Ingress can do it; the Service carries `nativeLB`
 *   (see TRAEFIK_NATIVE_LB; the route's side is traefik-route.ts). Traefik's entry points do not cut idle streams by
 *   default (readTimeout covers reading the request only) and it flushes
 *   text/event-stream at once.
 * - AWS ALB, GKE, HAProxy, anything else: a warning naming it, with the fix.
 */
import { annotationField, type Finding, type RuleId, type Verdict } from './finding.ts';
import {
  APPLIED,
  backendOf,
  ingressController,
  mayMutateFrontDoor,
  routesSse,
  TRAEFIK_NATIVE_LB,
  unconfigurableControllerFinding,
  unknownBackendWarnings,
  type Backend,
  type ClusterFacts,
  type Controller,
} from './front-door.ts';
import type { Ingress } from './objects.ts';
import { traefikRouteFindings } from './traefik-route.ts';
import type { TransportSettings } from './transport-settings.ts';
import type { Mutation } from './workload.ts';

const NGINX = 'nginx.ingress.kubernetes.io/';
export const NginxAnnotations = {
  upstreamHashBy: `${NGINX}upstream-hash-by`,
  proxyReadTimeout: `${NGINX}proxy-read-timeout`,
  proxySendTimeout: `${NGINX}proxy-send-timeout`,
  proxyBuffering: `${NGINX}proxy-buffering`,
  affinity: `${NGINX}affinity`,
} as const;

/** Hash keys that are the client's address (nginx variables), whatever else ingress-nginx is told about real IPs. */
const CLIENT_ADDRESS_KEYS = ['$remote_addr', '$binary_remote_addr', '$realip_remote_addr'];

/** One ingress-nginx setting: the value mcp-admission sets, and whether a present value keeps SSE sessions working. */
interface NginxSetting {
  rule: RuleId;
  key: string;
  value: string;
  accepts(present: string): boolean;
  why: string;
}

function nginxSettings(settings: TransportSettings): NginxSetting[] {
  const stream = settings.streamTimeoutSeconds;
  // ingress-nginx reads these as whole seconds; anything else falls back to its 60 s default.
  const atLeastStream = (present: string): boolean => /^[0-9]+$/.test(present.trim()) && Number(present) >= stream;
  return [
    {
      rule: 'ingress-nginx-upstream-hash',
      key: NginxAnnotations.upstreamHashBy,
      value: '$remote_addr',
      accepts: (present) => CLIENT_ADDRESS_KEYS.includes(present.trim()),
      why:
        'ingress-nginx balances each request over the pod endpoints, so an SSE client\'s POSTs land on pods that do not hold ' +
        'its stream; hashing by client address keeps one client on one pod (clients behind one NAT share a pod, and behind a ' +
        'load balancer ingress-nginx must see real client addresses: use-forwarded-headers or the PROXY protocol)',
    },
    {
      rule: 'ingress-nginx-read-timeout',
      key: NginxAnnotations.proxyReadTimeout,
      value: String(stream),
      accepts: atLeastStream,
      why: `ingress-nginx cuts a stream that sends nothing for proxy-read-timeout (60 s by default); SSE streams idle between events, and policy asks for ${stream}s`,
    },
    {
      rule: 'ingress-nginx-send-timeout',
      key: NginxAnnotations.proxySendTimeout,
      value: String(stream),
      accepts: atLeastStream,
      why: `ingress-nginx cuts a connection it cannot write to for proxy-send-timeout (60 s by default); policy asks for ${stream}s`,
    },
    {
      rule: 'ingress-nginx-buffering',
      key: NginxAnnotations.proxyBuffering,
      value: 'off',
      accepts: (present) => present.trim() === 'off',
      why: 'a buffered event stream reaches the client only when the buffer fills, so events and the endpoint event arrive late or never',
    },
  ];
}

/** The Service backends of an Ingress, with where each is referenced and its effective protocol. */
export function ingressBackends(ingress: Ingress, facts: ClusterFacts, settings: TransportSettings): Backend[] {
  const namespace = ingress.metadata.namespace ?? 'default';
  const out: Backend[] = [];
  const spec = ingress.spec ?? {};
  if (spec.defaultBackend?.service) out.push(backendOf(namespace, spec.defaultBackend.service.name, 'spec.defaultBackend.service.name', facts, settings));
  (spec.rules ?? []).forEach((rule, r) =>
    (rule.http?.paths ?? []).forEach((path, p) => {
      if (path.backend.service) {
        out.push(backendOf(namespace, path.backend.service.name, `spec.rules[${r}].http.paths[${p}].backend.service.name`, facts, settings));
      }
    }),
  );
  return out;
}

interface Judged {
  controller: Controller;
  backends: Backend[];
}

function judge(ingress: Ingress, facts: ClusterFacts, settings: TransportSettings): Judged | undefined {
  const found = ingressBackends(ingress, facts, settings);
  if (!routesSse(found)) return undefined;
  return { controller: ingressController(ingress.spec?.ingressClassName, ingress.metadata.annotations, facts), backends: found };
}

const target = (ingress: Ingress): string =>
  `ingress/${ingress.metadata.name ?? '<name>'}${ingress.metadata.namespace ? ` -n ${ingress.metadata.namespace}` : ''}`;

/** The `applied` annotation: the front-door settings in force, and their trade-off. */
function describeApplied(settings: TransportSettings): string {
  const stream = settings.streamTimeoutSeconds;
  return (
    `front door (ingress-nginx): upstream-hash-by $remote_addr (one client address, one pod); proxy-read-timeout and ` +
    `proxy-send-timeout ${stream}s; proxy-buffering off`
  );
}

/** Adds the ingress-nginx annotations an SSE route lacks; a present value is the user's and is left to validation. */
export function mutateIngress(ingress: Ingress, settings: TransportSettings, facts: ClusterFacts): Mutation<Ingress> {
  const judged = judge(ingress, facts, settings);
  if (!judged || judged.controller.id !== 'ingress-nginx' || !mayMutateFrontDoor(settings)) return { object: ingress, changes: [] };
  const annotations = ingress.metadata.annotations ?? {};
  if (annotations[NginxAnnotations.affinity] === 'cookie') return { object: ingress, changes: [] };
  const missing = nginxSettings(settings).filter((s) => annotations[s.key] === undefined);
  if (missing.length === 0) return { object: ingress, changes: [] };
  // Structural copy: only the object and its metadata are new; see mutateDeployment.
  const copy: Ingress = { ...ingress, metadata: { ...ingress.metadata } };
  copy.metadata.annotations = {
    ...copy.metadata.annotations,
    ...Object.fromEntries(missing.map((s) => [s.key, s.value])),
    [APPLIED]: describeApplied(settings),
  };
  return { object: copy, changes: missing.map((s) => `${s.key} (unset) -> ${s.value}`) };
}

/** Judges an Ingress as it will be stored: every setting that breaks SSE sessions, with the fix. */
export function validateIngress(ingress: Ingress, settings: TransportSettings, facts: ClusterFacts): Verdict {
  const judged = judge(ingress, facts, settings);
  if (!judged) return { denials: [], warnings: [] };
  const denials: Finding[] = [];
  const warnings: Finding[] = unknownBackendWarnings(judged.backends, settings);
  const { controller } = judged;
  const annotations = ingress.metadata.annotations ?? {};

  if (controller.id === 'ingress-nginx') {
    const all = nginxSettings(settings);
    if (annotations[NginxAnnotations.affinity] === 'cookie') {
      denials.push({
        rule: 'ingress-nginx-cookie-affinity',
        field: annotationField(NginxAnnotations.affinity),
        message:
          'cookie affinity replaces hashing by client address in ingress-nginx, and the official TypeScript SDK client keeps no ' +
          'cookies: each of its POSTs may land on a pod that does not hold its SSE stream. Fix: remove it, e.g. ' +
          `kubectl annotate ${target(ingress)} ${NginxAnnotations.affinity}- ${NginxAnnotations.upstreamHashBy}=$remote_addr`,
      });
    }
    const wrong = all.filter((s) => annotations[s.key] === undefined || !s.accepts(annotations[s.key]!));
    for (const s of wrong) {
      const present = annotations[s.key];
      denials.push({
        rule: s.rule,
        field: annotationField(s.key),
        message:
          `${present === undefined ? 'unset' : JSON.stringify(present)}: ${s.why}. Fix:\n  metadata:\n    annotations:\n` +
          wrong.map((w) => `      ${w.key}: "${w.value}"\n`).join('') +
          `or: kubectl annotate ${target(ingress)} --overwrite ${wrong.map((w) => `'${w.key}=${w.value}'`).join(' ')}`,
      });
    }
    return { denials, warnings };
  }
  const controllerField = ingress.spec?.ingressClassName ? 'spec.ingressClassName' : 'spec';
  if (controller.id === 'traefik') {
    const traefik = traefikRouteFindings(judged.backends, TRAEFIK_NATIVE_LB.ingress, controllerField, settings);
    return { denials: [...denials, ...traefik.denials], warnings: [...warnings, ...traefik.warnings] };
  }
  warnings.push(unconfigurableControllerFinding(controllerField, controller, settings));
  return { denials, warnings };
}

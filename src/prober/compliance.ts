/**
 * What the prober pass records about objects the webhook would judge
 * differently now (issue 12, "Audit of what already exists"): a Warning
 * Event on each non-compliant object and the counts behind
 * `mcp_admission_noncompliant_objects{namespace,kind,reason}`.
 *
 * The prober stands apart from admission (README "Contributing"): the
 * verdicts come from an injected {@link Judge}, which the composition root
 * builds from the webhook's own `auditObjects`; nothing here decides.
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import { DEFAULT_NAMESPACE } from '../kubernetes/api-server.ts';
import { proberEvent } from './events.ts';

/** The webhook's verdict on one existing object, as `audit` gives it. */
export interface Judgement {
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  /** `compliant`, `would-mutate`, `would-refuse`, `would-warn` or `not-judged`. */
  verdict: string;
  /** One line for a person: the fixes or the changes. */
  detail: string;
}

/** An Ingress or HTTPRoute without the MCP label that routes to an SSE MCP Service (audit's `unlabelled-route`). */
export interface RouteFinding {
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  /** The finding of rule `route-unlabelled`: our own words, ending with the label to add. */
  message: string;
}

/** What a pass hands the judge: the labelled Services and Deployments, and every route. */
export interface JudgeInput {
  objects: readonly unknown[];
  routes: readonly unknown[];
}

/** The judge's answer: one judgement per object, and the unlabelled routes to SSE servers. */
export interface Verdicts {
  judgements: Judgement[];
  routes: RouteFinding[];
}

/**
 * Judges existing objects as the webhook would on their next write, and
 * finds unlabelled routes to SSE servers, under one reading of the policies.
 */
export type Judge = (input: JudgeInput) => Promise<Verdicts>;

/**
 * Verdicts that make an object non-compliant. `would-refuse` and
 * `would-warn` contradict the policy (mode validate refuses them on the next
 * write); `would-mutate` runs today without the settings mode mutate gives
 * every new object (it predates the install or the policy). `compliant` and
 * `not-judged` (exempt, mode off, system namespace) are never reported.
 */
export const NONCOMPLIANT_VERDICTS: ReadonlySet<string> = new Set(['would-refuse', 'would-warn', 'would-mutate']);

/** Event reason on a non-compliant object. */
export const NONCOMPLIANT_EVENT_REASON = 'NonCompliant';

/** True when the judgement is reported. */
export function isNoncompliant(judgement: Judgement): boolean {
  return NONCOMPLIANT_VERDICTS.has(judgement.verdict);
}

/** The Warning Event for a non-compliant object. */
export function noncompliantEvent(judgement: Judgement, now: Date, instance: string): CoreV1Event {
  const namespace = judgement.namespace || DEFAULT_NAMESPACE;
  const message = `mcp-admission ${judgement.verdict.replace('-', ' ')} this ${judgement.kind} on its next write: ${judgement.detail}`;
  return proberEvent(
    {
      apiVersion: judgement.kind === 'Deployment' ? 'apps/v1' : 'v1',
      kind: judgement.kind,
      name: judgement.name,
      namespace,
      ...(judgement.uid ? { uid: judgement.uid } : {}),
    },
    { type: 'Warning', reason: NONCOMPLIANT_EVENT_REASON, message },
    now,
    instance,
  );
}

/** Event reason on an unlabelled route to an SSE MCP Service. */
export const UNLABELLED_ROUTE_EVENT_REASON = 'UnlabelledRoute';

/** API versions of the routes the prober reports. */
const ROUTE_API_VERSIONS: Record<string, string> = { Ingress: 'networking.k8s.io/v1', HTTPRoute: 'gateway.networking.k8s.io/v1' };

/**
 * The Warning Event on an unlabelled route. The finding's text is ours
 * (src/policy/unlabelled-route.ts: a template, the names of at most a few
 * Services, the route's own name); nothing of the route's spec is copied.
 */
export function unlabelledRouteEvent(route: RouteFinding, now: Date, instance: string): CoreV1Event {
  return proberEvent(
    {
      apiVersion: ROUTE_API_VERSIONS[route.kind] ?? 'v1',
      kind: route.kind,
      name: route.name,
      namespace: route.namespace || DEFAULT_NAMESPACE,
      ...(route.uid ? { uid: route.uid } : {}),
    },
    { type: 'Warning', reason: UNLABELLED_ROUTE_EVENT_REASON, message: `This ${route.kind} ${route.message}` },
    now,
    instance,
  );
}

/** One sample of `mcp_admission_noncompliant_objects`. */
export interface NoncompliantCount {
  namespace: string;
  kind: string;
  reason: string;
  count: number;
}

/** The gauge's samples: non-compliant objects per namespace, kind and verdict. */
export function noncompliantCounts(judgements: readonly Judgement[]): NoncompliantCount[] {
  const counts = new Map<string, NoncompliantCount>();
  for (const j of judgements.filter(isNoncompliant)) {
    const key = `${j.namespace}\u0000${j.kind}\u0000${j.verdict}`;
    const entry = counts.get(key) ?? { namespace: j.namespace, kind: j.kind, reason: j.verdict, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  return [...counts.values()];
}

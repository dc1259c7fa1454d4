/**
 * What the webhook would do now to objects that already exist: created
 * before the install, under another mode, or before a policy changed.
 * Decided by {@link decideOffline}, the webhook's own functions.
 */
import type { Operation } from 'fast-json-patch';
import { SYSTEM_NAMESPACES } from '../contract.ts';
import type { AdmissionDeps } from './admission.ts';
import { decideOffline } from './offline.ts';
import { factsFromObjects } from './object-facts.ts';
import { unlabelledRouteFinding } from '../policy/unlabelled-route.ts';

/**
 * - `compliant`: the webhook would change and refuse nothing.
 * - `would-mutate`: mode `mutate` would patch it (the patch is given).
 * - `would-refuse`: the webhook would refuse it (each problem with its fix).
 * - `would-warn`: mode `warn` lets through what `validate` would refuse (the fixes are given).
 * - `not-judged`: the webhook does not look at it (exempt, mode off, system namespace).
 * - `unlabelled-route`: an Ingress or HTTPRoute to an SSE MCP Service without the label (the fix adds it).
 */
export type AuditVerdict = 'compliant' | 'would-mutate' | 'would-refuse' | 'would-warn' | 'not-judged' | 'unlabelled-route';

export interface AuditEntry {
  kind: string;
  namespace: string;
  name: string;
  verdict: AuditVerdict;
  mode: string;
  /** Why an object is not judged. */
  reason?: string;
  /** The JSON patch mode `mutate` would apply. */
  patch: Operation[];
  changes: string[];
  /** What would be refused, each with its field path and fix. */
  fixes: Array<{ field: string; message: string }>;
  warnings: string[];
}

/** Audits each object as the webhook would judge it on its next write. */
export function auditObjects(objects: readonly unknown[], deps: AdmissionDeps): AuditEntry[] {
  return objects.map((listed) => {
    // As JSON, the way the webhook receives it: a client library's listing
    // keeps absent fields as undefined (client-node's ObjectSerializer gives a
    // ClusterIP Service status.loadBalancer.ingress: undefined), which the
    // patch diff would turn into a `remove` of a path that does not exist.
    const object: unknown = JSON.parse(JSON.stringify(listed));
    const meta = ((object as { metadata?: unknown }).metadata ?? {}) as { name?: string; namespace?: string };
    const namespace = meta.namespace ?? 'default';
    const entry: AuditEntry = {
      kind: String((object as { kind?: unknown }).kind ?? ''),
      namespace,
      name: meta.name ?? '',
      verdict: 'compliant',
      mode: '',
      patch: [],
      changes: [],
      fixes: [],
      warnings: [],
    };
    const decision = decideOffline(object, deps, `audit-${namespace}-${entry.name}`);
    if (!decision.judged) {
      entry.verdict = 'not-judged';
      entry.reason = notJudgedReason(namespace, deps);
      entry.mode = deps.settings.settingsFor(namespace).mode;
      return entry;
    }
    entry.mode = decision.mode ?? '';
    entry.patch = decision.patch;
    entry.changes = decision.changes;
    entry.warnings = decision.warnings;
    if (!decision.allowed) [entry.verdict, entry.fixes] = ['would-refuse', decision.denials];
    else if (decision.wouldDeny.length > 0) [entry.verdict, entry.fixes] = ['would-warn', decision.wouldDeny];
    else if (decision.patch.length > 0) entry.verdict = 'would-mutate';
    return entry;
  });
}

function notJudgedReason(namespace: string, deps: AdmissionDeps): string {
  if ((SYSTEM_NAMESPACES as readonly string[]).includes(namespace)) return 'system namespace';
  if (namespace === deps.ownNamespace) return "the webhook's own namespace";
  const settings = deps.settings.settingsFor(namespace);
  if (settings.exempt) return `exempt (MCPTransportPolicy ${(settings.exemptBy ?? []).join(', ')})`;
  if (settings.mode === 'off') return 'mode off';
  return 'not an MCP object (label)';
}

/** One line a person reads at the end of a table. */
export function auditSummary(entries: readonly AuditEntry[]): string {
  const count = (verdict: AuditVerdict) => entries.filter((e) => e.verdict === verdict).length;
  return (
    `${entries.length} object${entries.length === 1 ? '' : 's'}: ${count('compliant')} compliant, ${count('would-mutate')} would be mutated, ` +
    `${count('would-refuse')} would be refused, ${count('would-warn')} would be warned, ${count('not-judged')} not judged` +
    (count('unlabelled-route') > 0 ? `, ${count('unlabelled-route')} unlabelled route${count('unlabelled-route') === 1 ? '' : 's'} to SSE servers` : '')
  );
}

/** An unlabelled Ingress or HTTPRoute that routes to an SSE MCP Service: the label to add. */
export interface UnlabelledRoute {
  kind: string;
  namespace: string;
  name: string;
  /** The finding of rule `route-unlabelled`, its fix the `kubectl label` command. */
  message: string;
}

/**
 * Unlabelled routes among `routes` that reach SSE MCP Services among
 * `objects` (labelled Services and Deployments), by `unlabelledRouteFinding`
 * under each route's namespace settings. Exempt namespaces and mode off are skipped.
 */
export function unlabelledRoutes(routes: readonly unknown[], objects: readonly unknown[], deps: AdmissionDeps): UnlabelledRoute[] {
  const facts = factsFromObjects(objects);
  const found: UnlabelledRoute[] = [];
  for (const route of routes) {
    const meta = ((route as { metadata?: unknown }).metadata ?? {}) as { name?: string; namespace?: string };
    const namespace = meta.namespace ?? 'default';
    if ((SYSTEM_NAMESPACES as readonly string[]).includes(namespace) || namespace === deps.ownNamespace) continue;
    const settings = deps.settings.settingsFor(namespace);
    if (settings.exempt || settings.mode === 'off') continue;
    const finding = unlabelledRouteFinding(route, facts, settings);
    if (finding) found.push({ kind: String((route as { kind?: unknown }).kind), namespace, name: meta.name ?? '', message: finding.message });
  }
  return found;
}

/**
 * The prober's {@link Judge}, composed from the webhook's own `auditObjects`
 * and `unlabelledRoutes` (src/admission/audit.ts). It lives in the
 * composition root because the prober may not import admission (README
 * "Contributing"): the prober gets only this narrow function.
 */
import type { AdmissionDeps } from '../admission/admission.ts';
import { auditObjects, unlabelledRoutes, type AuditEntry } from '../admission/audit.ts';
import type { Judge, Judgement } from '../prober/compliance.ts';

/**
 * A judge that reads the settings once per call (`settings`) and audits with
 * them; `toJson` turns a client-node model into the API server's JSON
 * (default: as given).
 */
export function auditJudge(settings: () => Promise<AdmissionDeps>, toJson: (object: { kind: string }) => unknown = (o) => o): Judge {
  return async ({ objects, routes }) => {
    const deps = await settings();
    const uidOf = (o: unknown) => (o as { metadata?: { uid?: string } }).metadata?.uid;
    const json = objects.map((o) => toJson(o as { kind: string }));
    const judgements = auditObjects(json, deps).map((entry, i) => judgementOf(entry, uidOf(objects[i])));
    const uids = new Map(
      routes.map((r) => {
        const { kind, metadata } = r as { kind?: string; metadata?: { namespace?: string; name?: string; uid?: string } };
        return [`${kind}/${metadata?.namespace ?? 'default'}/${metadata?.name ?? ''}`, metadata?.uid];
      }),
    );
    const found = unlabelledRoutes(routes.map((r) => toJson(r as { kind: string })), json, deps).map((route) => {
      const uid = uids.get(`${route.kind}/${route.namespace}/${route.name}`);
      return { ...route, ...(uid ? { uid } : {}) };
    });
    return { judgements, routes: found };
  };
}

/**
 * `settings` read at most once per `ttlMs`: `probe --watch` asks before each
 * probe whether the Service's namespace is judged, and a burst of new
 * Services must not cost a burst of policy and namespace lists. A failed
 * read is not kept.
 */
export function readAtMostEvery<T>(ttlMs: number, read: () => Promise<T>, now: () => number = () => performance.now()): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (cached && now() - cached.at < ttlMs) return cached.value;
    const value = read();
    const entry = { at: now(), value };
    cached = entry;
    value.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return value;
  };
}

/**
 * A denial on one line for an Event message: fixes are often a manifest
 * snippet or a command on the lines after "Fix:", and an Event is read as one
 * line (`kubectl get events`), so line breaks and their indentation become
 * one space. The whole fix is kept; the Event's own size cap still applies.
 */
function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/** One audit entry as the prober reports it. */
export function judgementOf(entry: AuditEntry, uid?: string): Judgement {
  const detail =
    entry.verdict === 'would-mutate'
      ? entry.changes.join('; ')
      : entry.verdict === 'would-refuse' || entry.verdict === 'would-warn'
        ? entry.fixes.map((f) => `${f.field}: ${oneLine(f.message)}`).join('; ')
        : (entry.reason ?? '');
  return {
    kind: entry.kind,
    namespace: entry.namespace,
    name: entry.name,
    ...(uid ? { uid } : {}),
    verdict: entry.verdict,
    detail: `${detail} (mode ${entry.mode}; see mcp-admission audit -n ${entry.namespace})`,
  };
}

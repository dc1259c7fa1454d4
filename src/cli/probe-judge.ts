/**
 * The prober's {@link Judge}, composed from the webhook's own `auditObjects`
 * (src/admission/audit.ts). It lives in the composition root because the
 * prober may not import admission (README "Contributing"): the prober gets
 * only this narrow function.
 */
import type { AdmissionDeps } from '../admission/admission.ts';
import { auditObjects, type AuditEntry } from '../admission/audit.ts';
import type { Judge, Judgement } from '../prober/compliance.ts';

/**
 * A judge that reads the settings once per pass (`settings`) and audits with
 * them; `toJson` turns a client-node model into the API server's JSON
 * (default: as given).
 */
export function auditJudge(settings: () => Promise<AdmissionDeps>, toJson: (object: { kind: string }) => unknown = (o) => o): Judge {
  return async (objects) => {
    const deps = await settings();
    const uids = objects.map((o) => (o as { metadata?: { uid?: string } }).metadata?.uid);
    const json = objects.map((o) => toJson(o as { kind: string }));
    return auditObjects(json, deps).map((entry, i) => judgementOf(entry, uids[i]));
  };
}

/** One audit entry as the prober reports it. */
export function judgementOf(entry: AuditEntry, uid?: string): Judgement {
  const detail =
    entry.verdict === 'would-mutate'
      ? entry.changes.join('; ')
      : entry.verdict === 'would-refuse' || entry.verdict === 'would-warn'
        ? entry.fixes.map((f) => `${f.field}: ${f.message.split('\n')[0]}`).join('; ')
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

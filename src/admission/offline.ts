/**
 * One object through both webhooks as the API server chains them, without
 * an API server: the mutating webhook's patch, applied, then the validating
 * webhook on the result. `review` (manifests) and `audit` (what is stored)
 * decide with this, so they can never disagree with `serve`.
 */
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { mutateRequest, validateRequest, type AdmissionDeps, type CountedFinding, type Outcome } from './admission.ts';
import type { AdmissionRequest } from './admission-review.ts';
import { findResource, type ResourceKind } from './resources.ts';

export interface OfflineDecision {
  /** False when the webhook would not look at the object (unknown kind, system or exempt namespace, unlabelled, mode off). */
  judged: boolean;
  allowed: boolean;
  patch: Operation[];
  /** What the patch changes, in words. */
  changes: string[];
  /** The object after the patch. */
  object: unknown;
  denials: Array<{ field: string; message: string }>;
  /** In mode `warn`: what mode `validate` would refuse, with the whole fix. */
  wouldDeny: Array<{ field: string; message: string }>;
  warnings: string[];
  findings: CountedFinding[];
  mode: Outcome['mode'];
}

export class OfflineInputError extends Error {}

/** The group/version/kind of a manifest, or undefined when it has no apiVersion or kind. */
export function kindOf(object: unknown): ResourceKind | undefined {
  const { apiVersion, kind } = (object ?? {}) as { apiVersion?: unknown; kind?: unknown };
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  return { group: group ?? '', version: version ?? '', kind };
}

/**
 * Decides on `input` as a CREATE of it would be decided now. A CREATE, not an
 * UPDATE: an update that changes nothing is waved through for the prober's
 * sake (prober-update.ts), and the question is what the object itself is worth.
 */
export function decideOffline(input: unknown, deps: AdmissionDeps, uid = 'offline'): OfflineDecision {
  const kind = kindOf(input);
  if (!kind) throw new OfflineInputError('the object has no apiVersion or kind');
  const metadata = ((input as { metadata?: unknown }).metadata ?? {}) as { name?: string; namespace?: string };
  const decision: OfflineDecision = { judged: false, allowed: true, patch: [], changes: [], object: input, denials: [], wouldDeny: [], warnings: [], findings: [], mode: undefined };
  // Kinds the webhook is not configured for never reach it: allowed as they are.
  if (!findResource(kind)) return decision;
  const request = (object: unknown): AdmissionRequest => ({
    uid,
    kind: { ...kind },
    operation: 'CREATE',
    ...(metadata.namespace !== undefined && { namespace: metadata.namespace }),
    ...(metadata.name !== undefined && { name: metadata.name }),
    object,
  });
  const mutation = mutateRequest(request(input), deps);
  if (mutation.decision === 'invalid') throw new OfflineInputError(mutation.result.status?.message ?? 'invalid object');
  if (mutation.decision === 'skipped') return decision;
  decision.judged = true;
  decision.patch = mutation.result.patch ?? [];
  decision.changes = mutation.changes ?? [];
  decision.object = fastJsonPatch.applyPatch(structuredClone(input), decision.patch, true, false).newDocument;
  const validation = validateRequest(request(decision.object), deps);
  decision.allowed = validation.result.allowed;
  decision.denials = (validation.result.status?.details?.causes ?? []).map(({ field, message }) => ({ field, message }));
  decision.wouldDeny = (validation.wouldDeny ?? []).map(({ field, message }) => ({ field, message }));
  decision.warnings = validation.result.warnings ?? [];
  decision.findings = validation.findings ?? [];
  decision.mode = validation.mode;
  return decision;
}

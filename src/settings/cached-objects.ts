/**
 * What the cluster settings source keeps of each MCPTransportPolicy and
 * Namespace its informers cache: what the policy checks, the settings, the
 * status plan and its Events read, and the resource version the informer
 * compares. managedFields were half of a stored policy's JSON (1.1 of 2.2
 * MB for 1,001 policies created by POST with their status written), and
 * what a `kubectl apply` adds (the last-applied annotation) repeats the
 * whole spec; 1,001 parsed policies held 4.1 MB of heap, 1.3 MB as kept
 * here, 504 namespaces 0.44 MB and 0.09 (`npm run bench:policy-cache`).
 *
 * Fields are copied as they are, odd values included: a policy stored
 * invalid must be reported with the same problems as before.
 */
import type { CachedObject } from '../kubernetes/list-watch.ts';

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Copies the named keys that are present, as they are. */
function pick(from: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (Object.hasOwn(from, key)) out[key] = from[key];
  return out;
}

/**
 * A policy as kept: apiVersion, kind, spec and status, and of its metadata
 * the name (the policy's identity), uid and resourceVersion (Events name
 * them), generation (observedGeneration, and whether an update changed the
 * spec).
 */
export function policyKept<T extends CachedObject>(object: T): T {
  const stored = object as unknown as Record<string, unknown>;
  const kept = pick(stored, ['apiVersion', 'kind', 'spec', 'status']);
  if (Object.hasOwn(stored, 'metadata')) kept.metadata = isMap(stored.metadata) ? pick(stored.metadata, ['name', 'uid', 'resourceVersion', 'generation']) : stored.metadata;
  return kept as unknown as T;
}

/** A namespace as kept: its name, labels (what selectors read) and resourceVersion. */
export function namespaceKept<T extends CachedObject>(object: T): T {
  const stored = object as unknown as Record<string, unknown>;
  const kept: Record<string, unknown> = {};
  if (Object.hasOwn(stored, 'metadata')) kept.metadata = isMap(stored.metadata) ? pick(stored.metadata, ['name', 'labels', 'resourceVersion']) : stored.metadata;
  return kept as unknown as T;
}

/**
 * Records the prober's Events once per object and reason, across passes and
 * CronJob runs, the way the kubelet's event recorder keeps a repeated Event
 * to one object with a rising `count` (client-go tools/record,
 * events_cache.go): the Event's name is derived from the object's uid and
 * the reason, so a second pass finds it taken (409 AlreadyExists) and
 * PATCHes `count`, `lastTimestamp` and the message instead of creating
 * another. A pass every 10 minutes over a non-compliant object thus leaves
 * one Event, not 144 a day.
 *
 * Only `patch` is granted on Events (deploy/prober/rbac.yaml), so the
 * current count is read through the API server's answer to a JSON patch of
 * `test` operations alone, which changes nothing (RFC 6902 section 4.6),
 * then raised by a second JSON patch that tests the resourceVersion it read:
 * two writers never lose a count.
 *
 * A tenant can create an Event under the name we would use. We never bump
 * an Event that is not ours (the `test` operations check the reporting
 * component, the reason and the object), and never leave one of ours
 * unrecorded because of it: then a new Event is created under a generated
 * name, as before deduplication.
 */
import { createHash } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import type { ClusterApi, JsonPatchOperation } from './cluster-api.ts';
import { apiStatus, withRetry, type RetryPolicy, type Sleep } from './retry.ts';

/** The longest Kubernetes object name (a DNS subdomain). */
const MAX_NAME_LENGTH = 253;
/** Hex digits of the digest in a name: 64 bits, so two (uid, reason) pairs never meet by chance. */
const DIGEST_LENGTH = 16;
/** Reads and bumps tried before giving up on a contended Event. */
const MAX_BUMP_ATTEMPTS = 3;

/**
 * The Event name for `reason` about the object with `uid` (or, without a
 * uid, its kind, namespace and name): the object's name, so `kubectl get
 * events` still reads, then a digest. Always a valid DNS subdomain.
 */
export function eventName(subject: { kind: string; namespace: string; name: string; uid?: string }, reason: string): string {
  // The kind too: a uid is unique in a cluster, but tests and stand-ins reuse them.
  const identity = `${subject.kind}/${subject.uid ?? `${subject.namespace}/${subject.name}`}`;
  const digest = createHash('sha256').update(`${identity}\u0000${reason}`).digest('hex').slice(0, DIGEST_LENGTH);
  // Each dot-separated part must end alphanumeric; a cut name may not.
  const base = subject.name.slice(0, MAX_NAME_LENGTH - DIGEST_LENGTH - 1).replace(/[-.]+$/, '') || 'mcp';
  return `${base}.${digest}`;
}

/** The Kubernetes `Time` format: RFC 3339, whole seconds. */
function apiTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What became of one Event. */
export type EventRecord = 'created' | 'counted' | 'created-unnamed';

/** What the recorder is built from. */
export interface EventRecorderDeps {
  api: Pick<ClusterApi, 'createEvent' | 'patchEvent'>;
  retry: RetryPolicy;
  sleep: Sleep;
}

/**
 * Records `event` (named by {@link eventName}): created when new, counted
 * when an Event of ours with that name exists. Throws what the API server
 * answered when neither works; the caller logs it (Events are best-effort).
 */
export async function recordEvent(deps: EventRecorderDeps, event: CoreV1Event): Promise<EventRecord> {
  const { api, retry, sleep } = deps;
  const namespace = event.metadata?.namespace ?? '';
  const name = event.metadata?.name;
  if (!name) {
    await withRetry(() => api.createEvent(namespace, event), retry, sleep);
    return 'created-unnamed';
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await withRetry(() => api.createEvent(namespace, event), retry, sleep);
      return 'created';
    } catch (err) {
      if (apiStatus(err) !== 409) throw err;
    }
    const ours = ownershipTests(event);
    let current: CoreV1Event;
    try {
      current = await withRetry(() => api.patchEvent(namespace, name, ours), retry, sleep);
    } catch (err) {
      const status = apiStatus(err);
      // Gone since the 409 (Events expire, an hour by default): create it again.
      if (status === 404 && attempt < MAX_BUMP_ATTEMPTS) continue;
      // A `test` failed: the name is held by an Event that is not ours.
      if (status === 422) return await createUnnamed(deps, event);
      throw err;
    }
    const resourceVersion = current.metadata?.resourceVersion;
    const bump: JsonPatchOperation[] = [
      ...(resourceVersion ? [{ op: 'test' as const, path: '/metadata/resourceVersion', value: resourceVersion }] : []),
      ...ours,
      { op: 'add', path: '/count', value: (current.count ?? 1) + 1 },
      { op: 'add', path: '/lastTimestamp', value: apiTime(event.lastTimestamp ?? new Date()) },
      // The newest words: a fix that changed is said as it is now.
      { op: 'add', path: '/message', value: event.message ?? '' },
    ];
    try {
      await withRetry(() => api.patchEvent(namespace, name, bump), retry, sleep);
      return 'counted';
    } catch (err) {
      const status = apiStatus(err);
      // Another writer counted first (resourceVersion moved), or the Event expired: again.
      if ((status === 422 || status === 404) && attempt < MAX_BUMP_ATTEMPTS) continue;
      throw err;
    }
  }
}

/** `test` operations that hold only for an Event this prober would have written about the same object. */
function ownershipTests(event: CoreV1Event): JsonPatchOperation[] {
  const object = event.involvedObject;
  return [
    { op: 'test', path: '/reportingComponent', value: event.reportingComponent ?? '' },
    { op: 'test', path: '/reason', value: event.reason ?? '' },
    { op: 'test', path: '/involvedObject/kind', value: object.kind ?? '' },
    { op: 'test', path: '/involvedObject/name', value: object.name ?? '' },
    ...(object.uid ? [{ op: 'test' as const, path: '/involvedObject/uid', value: object.uid }] : []),
  ];
}

async function createUnnamed(deps: EventRecorderDeps, event: CoreV1Event): Promise<EventRecord> {
  const { name, ...metadata } = event.metadata ?? {};
  const unnamed = { ...event, metadata: { ...metadata, generateName: `${(name ?? 'mcp').split('.')[0]}.` } };
  await withRetry(() => deps.api.createEvent(metadata.namespace ?? '', unnamed), deps.retry, deps.sleep);
  return 'created-unnamed';
}

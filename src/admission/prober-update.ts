/**
 * Recognises the prober's own writes: an UPDATE whose only change is to the
 * annotations the prober owns. Such an update leaves the object as it was
 * stored, so judging it again could only refuse the status write, never make
 * the object safer: in `validate` mode that refusal made every prober pass
 * fail. Nothing a user can change rides along, since any other difference
 * makes the update an ordinary one.
 */
import { isDeepStrictEqual } from 'node:util';
import { PROBER_ANNOTATIONS } from '../contract.ts';

/**
 * Metadata the API server writes itself; never a change of the object's
 * content. `generation` included: a Deployment's moves with any annotation
 * change, since annotations are copied to its ReplicaSets
 * (pkg/registry/apps/deployment/strategy.go, PrepareForUpdate); a spec
 * change that bumps it shows in the spec anyway.
 */
const SERVER_WRITTEN_METADATA = ['resourceVersion', 'managedFields', 'generation'];

type Json = Record<string, unknown>;

/**
 * The object without what the prober and the API server write: a shallow
 * copy with its own metadata, which leaves the annotations out (they are
 * compared by {@link sameAnnotationsBesideProber}, without a copy: a review
 * may carry megabytes of them).
 */
function withoutWrites(object: Json, metadata: Json): Json {
  const rest = { ...metadata };
  for (const key of SERVER_WRITTEN_METADATA) delete rest[key];
  delete rest.annotations;
  return { ...object, metadata: rest };
}

/** Whether two annotation maps hold the same entries once the prober's are left out (an absent map holds none). */
function sameAnnotationsBesideProber(a: Json, b: Json): boolean {
  let count = 0;
  for (const key of Object.keys(a)) {
    if (PROBER_ANNOTATIONS.includes(key)) continue;
    if (!Object.hasOwn(b, key) || !isDeepStrictEqual(a[key], b[key])) return false;
    count++;
  }
  for (const key of Object.keys(b)) if (!PROBER_ANNOTATIONS.includes(key)) count--;
  return count === 0;
}

/**
 * The same comparison over copies, for metadata or annotations that are not
 * JSON objects (never sent by the API server; spread as JavaScript spreads
 * them, so such objects are judged exactly as before).
 */
function withoutProberWrites(object: Json): Json {
  const metadata = { ...((object.metadata ?? {}) as Json) };
  for (const key of SERVER_WRITTEN_METADATA) delete metadata[key];
  const annotations = { ...((metadata.annotations ?? {}) as Json) };
  for (const key of PROBER_ANNOTATIONS) delete annotations[key];
  delete metadata.annotations;
  // An object without annotations and one left with none compare equal.
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  return { ...object, metadata };
}

/** True when `object` differs from `oldObject` only in the prober's annotations. */
export function onlyProberAnnotationsChanged(object: unknown, oldObject: unknown): boolean {
  if (!isObject(object) || !isObject(oldObject)) return false;
  const metadata = object.metadata ?? {};
  const oldMetadata = oldObject.metadata ?? {};
  const annotations = isObject(metadata) ? (metadata.annotations ?? {}) : undefined;
  const oldAnnotations = isObject(oldMetadata) ? (oldMetadata.annotations ?? {}) : undefined;
  if (!isObject(annotations) || !isObject(oldAnnotations)) {
    return isDeepStrictEqual(withoutProberWrites(object), withoutProberWrites(oldObject));
  }
  return (
    sameAnnotationsBesideProber(annotations, oldAnnotations) &&
    isDeepStrictEqual(withoutWrites(object, metadata as Json), withoutWrites(oldObject, oldMetadata as Json))
  );
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

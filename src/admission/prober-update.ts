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
  return isDeepStrictEqual(withoutProberWrites(object), withoutProberWrites(oldObject));
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

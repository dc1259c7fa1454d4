/**
 * A zod shape turned into a check that copies as little as it can.
 *
 * The shapes in src/policy/objects.ts and the AdmissionRequest envelope are
 * loose objects: every field they do not name passes through. zod builds its
 * output as it checks, and a loose object copies every field it does not name
 * into that output (zod v4 core `handleCatchall`: a `for…in` over the input,
 * the catch-all run on each value, each result assigned to a new object).
 * The webhook never uses that output: the rules get the object as received,
 * and the patch is diffed against it (resources.ts). So on every review the
 * copy of the whole object, some 12 KiB for a 3 KB Deployment, was garbage
 * the moment it was made (`npm run bench:request-path`).
 *
 * The same shape with every loose object made a stripping one (zod's
 * default: named fields are checked, others neither checked nor copied)
 * accepts and refuses exactly what the loose shape does, with the same
 * issues in the same order: a loose object's catch-all is `z.unknown()`,
 * which never fails, so the fields it covers can add no issue.
 * test/unit/admission/shape-check.test.ts holds the two to that over random
 * objects.
 */
import { z } from 'zod';

/**
 * The checking twin of `shape`: loose objects, at any depth (inside
 * optional, nullable, arrays, unions and records), become stripping ones.
 * Anything else is kept as it is, and so is an object or array that carries
 * checks of its own (a refinement sees the output, which stripping changes).
 * Use its `safeParse` for success and issues only, never for the value.
 */
export function checkingShape<S extends z.ZodType>(shape: S): z.ZodType {
  return twin(shape as z.ZodType);
}

function twin(schema: z.ZodType): z.ZodType {
  const def = schema._zod.def as { type: string; checks?: unknown[] };
  const hasChecks = (def.checks?.length ?? 0) > 0;
  if (schema instanceof z.ZodObject) {
    const catchall = schema._zod.def.catchall;
    // Only a loose object (catch-all `unknown`) can drop its catch-all without changing what it accepts.
    if (hasChecks || (catchall !== undefined && catchall._zod.def.type !== 'unknown')) return schema;
    const shape: Record<string, z.ZodType> = {};
    for (const [key, value] of Object.entries(schema.shape as Record<string, z.ZodType>)) shape[key] = twin(value);
    return z.object(shape);
  }
  if (hasChecks) return schema;
  if (schema instanceof z.ZodOptional) return z.optional(twin(schema.unwrap() as z.ZodType));
  if (schema instanceof z.ZodNullable) return z.nullable(twin(schema.unwrap() as z.ZodType));
  if (schema instanceof z.ZodArray) return z.array(twin(schema.element as z.ZodType));
  if (schema instanceof z.ZodUnion) return z.union((schema.options as z.ZodType[]).map(twin) as [z.ZodType, z.ZodType, ...z.ZodType[]]);
  if (schema instanceof z.ZodRecord) return z.record(schema.keyType as z.ZodString, twin(schema.valueType as z.ZodType));
  return schema;
}

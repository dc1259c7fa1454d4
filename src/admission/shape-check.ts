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

/**
 * A predicate true only for values `shape` accepts; false means "ask zod".
 * Compiled once from the shape's definition, it reads a value without
 * building anything, where zod, even through the checking twin, builds an
 * output for every object, array and record the shape names (7-9 KiB for
 * the 3 KB Deployment of `npm run bench:request-path`): the largest single
 * part of what `serve` spent per review over the blocks floor in its own
 * code (BENCHMARKS.md, "What serve spends per review over the blocks floor").
 *
 * It covers the kinds of schema the resource shapes and the envelope are
 * made of (objects, optional, nullable, arrays, unions, string records,
 * strings and their minimum length, enums, finite numbers, safe integers,
 * booleans, unknown) with zod's rules for each
 * (zod v4 core schemas.js: `isObject` for objects, `Reflect.ownKeys` with
 * `__proto__` and non-enumerable keys left out for records, finite numbers,
 * `Number.isSafeInteger` for `.int()`); anything else, anything unusual in
 * the value (a symbol key, a `__proto__` key that is not a string, an object with another
 * prototype for a record), answers false and zod decides, with its issues.
 * So zod still decides every review it refuses, word for word, and never
 * one is accepted that zod would refuse (test/unit/admission/shape-check.test.ts).
 */
export function acceptor(shape: z.ZodType): (value: unknown) => boolean {
  const never = () => false;
  const def = shape._zod.def as { type: string; checks?: Array<{ _zod: { def: { check?: string; format?: string } } }> };
  const checks = def.checks ?? [];
  if (shape instanceof z.ZodNumber) {
    if (checks.length === 0) return (v) => typeof v === 'number' && Number.isFinite(v);
    if (checks.every((c) => c._zod.def.check === 'number_format' && c._zod.def.format === 'safeint')) return (v) => Number.isSafeInteger(v);
    return never;
  }
  if (shape instanceof z.ZodString && checks.length > 0) {
    // `.min(n)` alone (the envelope's non-empty uid): zod's min_length, on the string's length.
    if (!checks.every((c) => c._zod.def.check === 'min_length')) return never;
    const minimum = Math.max(...checks.map((c) => (c._zod.def as { minimum?: number }).minimum ?? Number.POSITIVE_INFINITY));
    return (v) => typeof v === 'string' && v.length >= minimum;
  }
  if (checks.length > 0) return never;
  if (shape instanceof z.ZodString) return (v) => typeof v === 'string';
  if (shape instanceof z.ZodEnum) {
    // zod's enum accepts exactly its values (the envelope's operations).
    const values = new Set<unknown>(shape.options as unknown[]);
    return (v) => values.has(v);
  }
  if (shape instanceof z.ZodBoolean) return (v) => typeof v === 'boolean';
  if (shape instanceof z.ZodUnknown || shape instanceof z.ZodAny) return () => true;
  if (shape instanceof z.ZodOptional) {
    const inner = acceptor(shape.unwrap() as z.ZodType);
    return (v) => v === undefined || inner(v);
  }
  if (shape instanceof z.ZodNullable) {
    const inner = acceptor(shape.unwrap() as z.ZodType);
    return (v) => v === null || inner(v);
  }
  if (shape instanceof z.ZodArray) {
    const element = acceptor(shape.element as z.ZodType);
    return (v) => {
      if (!Array.isArray(v)) return false;
      for (let i = 0; i < v.length; i++) if (!element(v[i])) return false;
      return true;
    };
  }
  if (shape instanceof z.ZodUnion) {
    const options = (shape.options as z.ZodType[]).map(acceptor);
    return (v) => {
      for (let i = 0; i < options.length; i++) if (options[i]!(v)) return true;
      return false;
    };
  }
  if (shape instanceof z.ZodObject) {
    const catchall = shape._zod.def.catchall;
    // A strict object refuses unnamed keys, a typed catch-all checks them: zod decides.
    if (catchall !== undefined && catchall._zod.def.type !== 'unknown') return never;
    const keys = Object.keys(shape.shape as Record<string, z.ZodType>);
    const accepts = keys.map((key) => acceptor((shape.shape as Record<string, z.ZodType>)[key]!));
    return (v) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
      const object = v as Record<string, unknown>;
      for (let i = 0; i < keys.length; i++) if (!accepts[i]!(object[keys[i]!])) return false;
      return true;
    };
  }
  if (shape instanceof z.ZodRecord) {
    const keyDef = (shape.keyType as z.ZodType)._zod;
    if (!(shape.keyType instanceof z.ZodString) || (keyDef.def as { checks?: unknown[] }).checks?.length || keyDef.values) return never;
    const value = acceptor(shape.valueType as z.ZodType);
    return (v) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
      const proto: unknown = Object.getPrototypeOf(v);
      if ((proto !== Object.prototype && proto !== null) || Object.hasOwn(v, 'constructor')) return false;
      const record = v as Record<string, unknown>;
      // Every enumerable string key zod reads (and any __proto__ it skips) holds a value zod accepts; a symbol key zod refuses.
      for (const key in record) if (!value(record[key])) return false;
      return Object.getOwnPropertySymbols(record).length === 0;
    };
  }
  return never;
}

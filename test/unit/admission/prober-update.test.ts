/**
 * `onlyProberAnnotationsChanged` compares a review's object and oldObject
 * without copying their annotations (a review may carry megabytes of them).
 * Property test: it answers exactly as the comparison of stripped copies
 * does (the reference below), on random pairs that differ in the prober's
 * annotations, in other annotations, in server-written metadata, elsewhere,
 * or not at all, including metadata and annotations that are not objects.
 */
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { onlyProberAnnotationsChanged } from '../../../src/admission/prober-update.ts';
import { Annotations, PROBER_ANNOTATIONS } from '../../../src/contract.ts';

const RUNS = Number(process.env.MCP_ADMISSION_FUZZ_RUNS ?? 2000);

type Json = Record<string, unknown>;

/** The comparison over stripped copies, as the webhook first made it. */
function reference(object: unknown, oldObject: unknown): boolean {
  const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
  const strip = (o: Json): Json => {
    const metadata = { ...((o.metadata ?? {}) as Json) };
    for (const key of ['resourceVersion', 'managedFields', 'generation']) delete metadata[key];
    const annotations = { ...((metadata.annotations ?? {}) as Json) };
    for (const key of PROBER_ANNOTATIONS) delete annotations[key];
    delete metadata.annotations;
    if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
    return { ...o, metadata };
  };
  if (!isObject(object) || !isObject(oldObject)) return false;
  return isDeepStrictEqual(strip(object), strip(oldObject));
}

const value = fc.oneof(fc.string({ maxLength: 3 }), fc.constantFrom<unknown>(null, 1, true, [], {}, ['x']));
const annotationKey = fc.constantFrom(...PROBER_ANNOTATIONS, Annotations.protocol, 'example.com/a', 'example.com/b');
const annotations = fc.oneof(
  { weight: 8, arbitrary: fc.dictionary(annotationKey, fc.oneof({ weight: 5, arbitrary: fc.constantFrom('sse', 'ok', '') }, { weight: 1, arbitrary: value })) },
  { weight: 1, arbitrary: value },
);
const metadata = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record(
      { name: fc.constant('weather'), annotations, resourceVersion: fc.constantFrom('1', '2'), generation: fc.constantFrom(1, 2), labels: fc.constantFrom({}, { a: 'b' }) },
      { requiredKeys: ['name'] },
    ),
  },
  { weight: 1, arbitrary: value },
);
const object = fc.record({ kind: fc.constant('Deployment'), metadata, spec: fc.constantFrom({ replicas: 1 }, { replicas: 2 }) }, { requiredKeys: ['kind'] });

/** A pair: a random object and, most of the time, a small edit of it, so that "only the prober changed" comes up often. */
const pair = fc.oneof(
  fc.tuple(object, object),
  fc.tuple(object, fc.constantFrom(...PROBER_ANNOTATIONS), fc.option(fc.constantFrom('sse', 'ok'), { nil: undefined }), fc.boolean()).map(([o, key, v, other]) => {
    const edited = structuredClone(o) as Json;
    const meta = edited.metadata;
    if (typeof meta === 'object' && meta !== null && !Array.isArray(meta)) {
      const m = meta as Json;
      const current = typeof m.annotations === 'object' && m.annotations !== null && !Array.isArray(m.annotations) ? (m.annotations as Json) : {};
      const next: Json = { ...current };
      if (v === undefined) delete next[key];
      else next[key] = v;
      if (other) next['example.com/a'] = 'changed';
      m.annotations = next;
      m.resourceVersion = '9';
    }
    return [o, edited] as const;
  }),
);

describe('onlyProberAnnotationsChanged', () => {
  it('answers as the comparison of stripped copies does', () => {
    let yes = 0;
    fc.assert(
      fc.property(pair, fc.boolean(), ([a, b], swap) => {
        const [object, oldObject] = swap ? [b, a] : [a, b];
        const expected = reference(object, oldObject);
        assert.equal(onlyProberAnnotationsChanged(object, oldObject), expected);
        if (expected) yes++;
      }),
      { numRuns: RUNS },
    );
    assert.ok(yes > RUNS / 10, `${yes} of ${RUNS} pairs changed only the prober's annotations`);
  });
});

/**
 * The checking twin of a shape (src/admission/shape-check.ts) accepts and
 * refuses exactly what the shape does, with the same issues in the same
 * order, so a review is answered word for word as before. Property test over
 * every shape the webhook checks a review with: valid objects (MCP
 * Deployments, Services, Ingresses, HTTPRoutes, AdmissionRequests) with
 * random fields replaced, removed or added at any depth, and arbitrary JSON.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { z } from 'zod';
import { AdmissionRequestShape } from '../../../src/admission/admission-review.ts';
import { acceptor, checkingShape } from '../../../src/admission/shape-check.ts';
import { DeploymentShape, HTTPRouteShape, IngressShape, ObjectMetaShape, ServiceShape } from '../../../src/policy/objects.ts';
import { mcpDeployment, mcpHTTPRoute, mcpIngress, mcpService, type Manifest } from '../../support/objects.ts';

const RUNS = Number(process.env.MCP_ADMISSION_FUZZ_RUNS ?? 600);

const deployment = mcpDeployment('weather', { namespace: 'tools', annotations: { protocol: 'sse' } }, {
  strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } },
});
const service = mcpService('weather', { namespace: 'tools' });
const ingress = mcpIngress('weather', 'traefik', { namespace: 'tools' });
const route = mcpHTTPRoute('weather', 'gateway', { namespace: 'tools' });
const request = {
  uid: 'b2c5b6c6-1f0e-4a56-9f5e-2f1f3f0c7a11',
  kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
  resource: { group: 'apps', version: 'v1', resource: 'deployments' },
  namespace: 'tools',
  name: 'weather',
  operation: 'CREATE',
  userInfo: { username: 'alice', groups: ['system:authenticated'] },
  object: deployment,
  oldObject: null,
  dryRun: false,
  options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
};

const SHAPES: Array<[string, z.ZodType, Manifest]> = [
  ['Deployment', DeploymentShape, deployment],
  ['Service', ServiceShape, service],
  ['Ingress', IngressShape, ingress],
  ['HTTPRoute', HTTPRouteShape, route],
  ['ObjectMeta', ObjectMetaShape, deployment.metadata as Manifest],
  ['AdmissionRequest', AdmissionRequestShape, request],
];

/** Every path to a value in `value`, objects and arrays included, root first. */
function paths(value: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  const out = [at];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...at, i])));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]));
  return out;
}

type Edit = { at: number; action: 'set' | 'delete' | 'add'; key: string; value: unknown };
const edit: fc.Arbitrary<Edit> = fc.record({
  at: fc.nat(),
  action: fc.constantFrom('set', 'delete', 'add'),
  key: fc.constantFrom('name', 'extra', 'containers', 'ports', 'spec', '0', 'labels', 'kind', 'uid', '__proto__'),
  value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(null, 1.5, -1, '', 'x', [], {}, true)),
});

/** `base` (as JSON gives it) with the edits applied, each at a path picked among those present. */
function edited(base: Manifest, edits: Edit[]): unknown {
  let root: unknown = JSON.parse(JSON.stringify(base));
  for (const edit of edits) {
    // Each edit gets its own copy of its value: fast-check may hand the same object to several, which would make the tree cyclic.
    const e = { ...edit, value: edit.value === undefined ? undefined : JSON.parse(JSON.stringify(edit.value)) };
    const all = paths(root);
    const path = all[e.at % all.length]!;
    if (path.length === 0) {
      if (e.action === 'set') root = e.value;
      continue;
    }
    const parent = path.slice(0, -1).reduce<any>((node, key) => node[key], root);
    const key = path[path.length - 1]!;
    if (e.action === 'set') parent[key] = e.value;
    else if (e.action === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else {
      const target = parent[key];
      if (typeof target === 'object' && target !== null && !Array.isArray(target)) Object.defineProperty(target, e.key, { value: e.value, enumerable: true, writable: true, configurable: true });
    }
  }
  return root;
}

/** What a parse says, without its output: success, and each issue's code, path and message. */
function verdict(schema: z.ZodType, value: unknown) {
  const parsed = schema.safeParse(value);
  return parsed.success ? { success: true as const } : { success: false as const, issues: parsed.error.issues.map((i) => ({ code: i.code, path: i.path, message: i.message })) };
}

describe('a shape and its checking twin', () => {
  for (const [name, shape, base] of SHAPES) {
    const twin = checkingShape(shape);

    it(`${name}: the valid object passes both`, () => {
      assert.deepEqual(verdict(shape, JSON.parse(JSON.stringify(base))), { success: true });
      assert.deepEqual(verdict(twin, JSON.parse(JSON.stringify(base))), { success: true });
    });

    it(`${name}: the same verdict and issues for the object with random edits at any depth`, () => {
      let refused = 0;
      fc.assert(
        fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
          const value = edited(base, edits);
          const expected = verdict(shape, value);
          if (!expected.success) refused++;
          assert.deepEqual(verdict(twin, value), expected);
        }),
        { numRuns: RUNS },
      );
      // The edits reach the fields the shape checks, not only the ones it lets through.
      assert.ok(refused > RUNS / 20, `only ${refused} of ${RUNS} edited objects were refused`);
    });

    it(`${name}: the same verdict and issues for arbitrary JSON`, () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
          assert.deepEqual(verdict(twin, value), verdict(shape, value));
        }),
        { numRuns: RUNS / 4 },
      );
    });
  }

  it('keeps a loose object loose nowhere and copies no field the shape does not name', () => {
    const twin = checkingShape(DeploymentShape);
    const parsed = twin.safeParse(JSON.parse(JSON.stringify(deployment)));
    assert.ok(parsed.success);
    const spec = (parsed.data as Manifest).spec;
    assert.equal((parsed.data as Manifest).status, undefined);
    assert.equal(spec.selector, undefined, 'spec.selector is not named by the shape: not copied');
    assert.ok(Array.isArray(spec.template.spec.containers));
    assert.equal(spec.template.spec.containers[0].image, undefined, 'a container image is not named: not copied');
  });

  it('keeps a schema with checks of its own, and a strict object, as they are', () => {
    const refined = z.looseObject({ a: z.string() }).refine((o) => o.a !== 'no');
    assert.equal(checkingShape(refined), refined);
    const strict = z.strictObject({ a: z.string() });
    assert.equal(checkingShape(strict), strict);
    assert.deepEqual(verdict(checkingShape(z.looseObject({ inner: strict })), { inner: { a: 'x', b: 1 } }), verdict(z.looseObject({ inner: strict }), { inner: { a: 'x', b: 1 } }));
  });
});

/**
 * The acceptor answers true only where the shape accepts (otherwise zod
 * decides, with its issues), and true for the valid objects, so the reviews
 * the webhook judges skip zod's copy.
 */
describe('a shape and its acceptor', () => {
  for (const [name, shape, base] of SHAPES) {
    const accepts = acceptor(shape);

    it(`${name}: accepts the valid object`, () => {
      assert.equal(accepts(JSON.parse(JSON.stringify(base))), true);
    });

    it(`${name}: accepts nothing the shape refuses, for the object with random edits at any depth`, () => {
      let accepted = 0;
      fc.assert(
        fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
          const value = edited(base, edits);
          if (!accepts(value)) return;
          accepted++;
          assert.deepEqual(verdict(shape, value), { success: true });
        }),
        { numRuns: RUNS },
      );
      // Edits that leave the object valid (an extra field, a changed name) are accepted without zod.
      assert.ok(accepted > RUNS / 20, `only ${accepted} of ${RUNS} edited objects were accepted`);
    });

    it(`${name}: accepts nothing the shape refuses, for arbitrary JSON`, () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
          if (accepts(value)) assert.deepEqual(verdict(shape, value), { success: true });
        }),
        { numRuns: RUNS / 4 },
      );
    });
  }

  it('leaves to zod the values it is unsure of, and refuses none zod accepts there', () => {
    const labels = z.looseObject({ labels: z.record(z.string(), z.string()).nullish(), replicas: z.number().int().optional(), ratio: z.number().optional() });
    const accepts = acceptor(labels);
    const proto = JSON.parse('{"labels": {"__proto__": 1, "a": "b"}}') as unknown;
    const symbol = { labels: { a: 'b', [Symbol('s')]: 'c' } };
    const hidden = { labels: Object.defineProperty({ a: 'b' }, 'h', { value: 1, enumerable: false }) };
    const owned = { labels: { constructor: 'x' } };
    const nullProto = { labels: Object.assign(Object.create(null) as object, { a: 'b' }) };
    for (const value of [proto, symbol, owned]) {
      assert.equal(accepts(value), false);
      // Whatever zod says of these, its word stands (some it accepts, some it refuses).
      assert.equal(typeof labels.safeParse(value).success, 'boolean');
    }
    // zod reads neither a non-enumerable key of a record nor its prototype's keys.
    for (const value of [nullProto, hidden]) {
      assert.equal(accepts(value), true);
      assert.equal(labels.safeParse(value).success, true);
    }
    for (const replicas of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '1']) {
      assert.equal(accepts({ replicas }), false);
      assert.equal(labels.safeParse({ replicas }).success, false);
    }
    for (const ratio of [Number.NaN, Number.NEGATIVE_INFINITY]) {
      assert.equal(accepts({ ratio }), false);
      assert.equal(labels.safeParse({ ratio }).success, false);
    }
    for (const value of [{ replicas: -0 }, { replicas: 2 ** 53 - 1 }, { ratio: 0.5 }, { labels: null }, {}]) {
      assert.equal(accepts(value), true);
      assert.equal(labels.safeParse(value).success, true);
    }
    assert.equal(accepts([]), false);
    assert.equal(acceptor(z.strictObject({ a: z.string() }))({ a: 'x' }), false, 'a strict object: zod decides');
    assert.equal(acceptor(z.string().max(3))('x'), false, 'a check other than .int() and a string\'s .min(): zod decides');
    assert.equal(acceptor(z.string().min(1).max(3))('x'), false, 'a minimum with another check: zod decides');
    // A string's minimum length and an enum, as zod reads them.
    const envelope = z.looseObject({ uid: z.string().min(2), operation: z.enum(['CREATE', 'UPDATE']) });
    const acceptsEnvelope = acceptor(envelope);
    for (const value of [{ uid: 'ab', operation: 'CREATE' }, { uid: 'abc', operation: 'UPDATE' }, { uid: 'ab', operation: 'CREATE', extra: 1 }]) {
      assert.equal(acceptsEnvelope(value), true);
      assert.equal(envelope.safeParse(value).success, true);
    }
    for (const value of [{ uid: 'a', operation: 'CREATE' }, { uid: '', operation: 'CREATE' }, { uid: ['a', 'b'], operation: 'CREATE' }, { uid: 'ab', operation: 'create' }, { uid: 'ab' }, { uid: 'ab', operation: 'toString' }]) {
      assert.equal(acceptsEnvelope(value), false);
      assert.equal(envelope.safeParse(value).success, false);
    }
  });
});

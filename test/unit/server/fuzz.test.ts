/**
 * Property-based fuzzing of /mutate and /validate: random bodies and
 * AdmissionReviews with random values planted at random paths. Whatever
 * arrives, the answer is a well-formed AdmissionReview, a client's mistake
 * is a 4xx, and nothing throws (a throw would be a 500 `errored` answer).
 * `npm run soak` runs the same properties over far more bodies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import inject from 'light-my-request';
import { pino } from 'pino';
import { createApp } from '../../../src/server/app.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import { staticSettings } from '../../../src/settings/static-source.ts';
import { fixture } from '../../support/fixtures.ts';

const RUNS = Number(process.env.MCP_ADMISSION_FUZZ_RUNS ?? 1500);

const app = createApp({
  admission: {
    settings: staticSettings([{ name: 'fuzz', spec: { defaults: { preStopSleepSeconds: 5 } } }]),
    ownNamespace: 'mcp-admission',
  },
  logger: pino({ level: 'silent' }),
  metrics: createMetrics({ defaultMetrics: false }),
  ready: () => true,
});

/** Every path into a JSON value, so a mutation can land anywhere. */
function paths(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function plant(root: unknown, path: Array<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  let node: any = root;
  for (const key of path.slice(0, -1)) node = node[key];
  node[path[path.length - 1]!] = value;
  return root;
}

const fixtures = (['deployment-sse', 'service-sse', 'policy'] as const).map((name) => fixture(name) as unknown);
/** Values that hit the rules where they branch, besides anything at all. */
const interesting = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom<unknown>('Recreate', 'RollingUpdate', '0%', '25%', 0, 1, -1, 'sse', 'streamable-http', 'auto', 'ClientIP', 'None', 'LoadBalancer', 'None', 'CREATE', 'UPDATE', 'DELETE', '', null, {}, []),
);
const mutatedReview = fc
  .record({
    base: fc.nat(fixtures.length - 1),
    mutations: fc.array(fc.record({ at: fc.nat(), value: interesting }), { minLength: 1, maxLength: 6 }),
  })
  .map(({ base, mutations }) => {
    let review: unknown = structuredClone(fixtures[base]);
    for (const { at, value } of mutations) {
      const all = paths(review);
      review = plant(review, all[at % all.length]!, value);
    }
    return JSON.stringify(review);
  });
const body = fc.oneof(mutatedReview, mutatedReview, fc.jsonValue().map((v) => JSON.stringify(v)), fc.string());

/** Kinds of answer seen, so the test knows the bodies reached the rules and not only the decoder. */
const seen = new Set<string>();

async function check(path: '/mutate' | '/validate', payload: string): Promise<void> {
  const res = await inject(app, { method: 'POST', url: path, headers: { 'content-type': 'application/json' }, payload });
  const peek = res.json();
  seen.add(res.statusCode === 400 ? 'undecodable' : peek.response.patch ? 'patched' : peek.response.allowed ? 'allowed' : `refused ${peek.response.status?.code}`);
  assert.ok([200, 400].includes(res.statusCode), `HTTP ${res.statusCode} for ${payload.slice(0, 300)}`);
  const answer = res.json();
  assert.equal(answer.kind, 'AdmissionReview');
  assert.ok(['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'].includes(answer.apiVersion));
  assert.equal(typeof answer.response.uid, 'string');
  assert.equal(typeof answer.response.allowed, 'boolean');
  if (res.statusCode === 400) assert.equal(answer.response.uid, '');
  const code = answer.response.status?.code;
  assert.notEqual(code, 500, `no 500 for a client's input: ${answer.response.status?.message}\n${payload.slice(0, 500)}`);
  if (!answer.response.allowed) assert.ok(code === 400 || code === 403, `refusal code ${code}`);
  if (answer.response.patch !== undefined) {
    assert.equal(answer.response.patchType, 'JSONPatch');
    assert.ok(Array.isArray(JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8'))));
  }
}

describe('fuzzing the webhook', () => {
  for (const path of ['/mutate', '/validate'] as const) {
    it(`${path}: ${RUNS} random and mutated bodies, always a well-formed answer`, async () => {
      await fc.assert(fc.asyncProperty(body, (payload) => check(path, payload)), { numRuns: RUNS });
    });
  }

  it('the bodies reached every kind of answer', () => {
    for (const kind of ['undecodable', 'patched', 'allowed', 'refused 400', 'refused 403']) assert.ok(seen.has(kind), `${kind} in ${[...seen].join(', ')}`);
  });
});

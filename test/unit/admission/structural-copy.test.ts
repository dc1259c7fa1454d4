/**
 * The mutation rules return a structural copy: new objects only along the
 * paths they change, every other field shared with the object as received.
 * The patch is diffed against the received object, and fast-json-patch's
 * `compare` skips a subtree it finds identical by reference. Property test
 * over random Deployments and Services (with fields no rule reads at every
 * level, several containers, any strategy, grace period, lifecycle and
 * annotations) under random settings:
 *
 * - the patch from the shared copy equals the patch from a copy that shares
 *   nothing (what the webhook diffed before: a full deep copy), operation
 *   for operation and in order;
 * - the received object is never written to (it is deeply frozen), so what
 *   is shared stays as the API server sent it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import fastJsonPatch from 'fast-json-patch';
import { findResource } from '../../../src/admission/resources.ts';
import { NO_FACTS } from '../../../src/policy/front-door.ts';
import { BUILT_IN_SETTINGS, type TransportSettings } from '../../../src/policy/transport-settings.ts';
import { mcpDeployment, mcpService, type Manifest } from '../../support/objects.ts';

const RUNS = Number(process.env.MCP_ADMISSION_FUZZ_RUNS ?? 600);

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** As the webhook gets every object: parsed from JSON (plain prototypes, no undefined). */
const fromJson = (object: Manifest): Manifest => JSON.parse(JSON.stringify(object)) as Manifest;

/** Fields no rule reads, which must come through untouched and unpatched. */
const extra = fc.dictionary(fc.constantFrom('a', 'b', 'x/y', 'z~1', 'uid', 'status', 'volumes'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
const surge = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom('0%', '10%', '25%', '50%'));
const seconds = fc.integer({ min: 0, max: 300 });

const settings: fc.Arbitrary<TransportSettings> = fc
  .record({
    terminationGracePeriodSeconds: fc.integer({ min: 1, max: 300 }),
    maxSurge: surge.filter((s) => s !== 0 && s !== '0%'),
    preStopSleepSeconds: seconds,
    sessionAffinityTimeoutSeconds: fc.integer({ min: 1, max: 86400 }),
    allowFrontDoorMutation: fc.boolean(),
  })
  .map((s) => ({ ...BUILT_IN_SETTINGS, ...s }));

const annotations = fc.record(
  {
    protocol: fc.constantFrom('sse', 'auto', 'streamable-http'),
    'termination-grace-period-seconds': seconds.map(String),
    'session-affinity-timeout-seconds': fc.integer({ min: 1, max: 86400 }).map(String),
    'traefik.ingress.kubernetes.io/service.nativelb': fc.constantFrom('true', 'false'),
    'example.com/note': fc.string(),
  },
  { requiredKeys: [] },
);

const container = fc.record(
  {
    lifecycle: fc.oneof(fc.constant(null), fc.record({ preStop: fc.oneof(fc.constant(null), fc.record({ sleep: fc.record({ seconds }) })), postStart: fc.constant({}) }, { requiredKeys: [] })),
    readinessProbe: fc.constant({ tcpSocket: { port: 8080 } }),
    env: fc.array(fc.record({ name: fc.string(), value: fc.string() }), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

const deployment = fc
  .record({
    annotations,
    strategy: fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.constant({ type: 'Recreate' }),
      fc.record({ type: fc.constant('RollingUpdate'), rollingUpdate: fc.oneof(fc.constant(null), fc.record({ maxSurge: surge, maxUnavailable: surge }, { requiredKeys: [] })) }, { requiredKeys: ['type'] }),
    ),
    grace: fc.option(seconds, { nil: undefined }),
    containers: fc.array(container, { minLength: 1, maxLength: 3 }),
    extras: fc.array(extra, { minLength: 6, maxLength: 6 }),
  })
  .map(({ annotations, strategy, grace, containers, extras }) => {
    const d = mcpDeployment('weather', { namespace: 'tools', annotations }, { template: { spec: grace === undefined ? {} : { terminationGracePeriodSeconds: grace } } });
    if (strategy !== undefined) d.spec.strategy = strategy;
    const first = d.spec.template.spec.containers[0];
    d.spec.template.spec.containers = containers.map((c, i) => ({ ...(i === 0 ? first : { name: `side-${i}`, image: 'busybox' }), ...c }));
    Object.assign(d, extras[0]);
    Object.assign(d.metadata, extras[1]);
    Object.assign(d.spec, extras[2]);
    Object.assign(d.spec.template, extras[3]);
    Object.assign(d.spec.template.spec, extras[4]);
    Object.assign(d.spec.template.spec.containers[0], extras[5]);
    return fromJson(d);
  });

const service = fc
  .record({
    annotations,
    affinity: fc.option(fc.record({ sessionAffinity: fc.constantFrom('None', 'ClientIP'), timeout: fc.integer({ min: 1, max: 86400 }) }), { nil: undefined }),
    extras: fc.array(extra, { minLength: 3, maxLength: 3 }),
  })
  .map(({ annotations, affinity, extras }) => {
    const s = mcpService('weather', { namespace: 'tools', annotations });
    if (affinity?.sessionAffinity === 'ClientIP') Object.assign(s.spec, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: affinity.timeout } } });
    else if (affinity) s.spec.sessionAffinity = 'None';
    Object.assign(s, extras[0]);
    Object.assign(s.metadata, extras[1]);
    Object.assign(s.spec, extras[2]);
    return fromJson(s);
  });

/** The patch from the shared copy, and from an unshared deep copy of the same result. */
function patches(object: Manifest, kind: { group: string; version: string; kind: string }, settings: TransportSettings) {
  const parsed = findResource(kind)!.parse(object);
  assert.ok(parsed.ok, 'the generated object matches its shape');
  const { object: mutated, changes } = parsed.judge.mutate!(settings, NO_FACTS);
  return { shared: fastJsonPatch.compare(object, mutated as object), unshared: fastJsonPatch.compare(object, structuredClone(mutated) as object), changes };
}

describe('a structural copy patches exactly as a full copy does', () => {
  for (const [name, arbitrary, kind] of [
    ['Deployments', deployment, { group: 'apps', version: 'v1', kind: 'Deployment' }],
    ['Services', service, { group: '', version: 'v1', kind: 'Service' }],
  ] as const) {
    it(`${name}: the same operations, and the received object untouched`, () => {
      let changed = 0;
      fc.assert(
        fc.property(arbitrary, settings, (object, s) => {
          const received = deepFreeze(object);
          const before = structuredClone(received);
          const { shared, unshared, changes } = patches(received, kind, s);
          assert.deepStrictEqual(shared, unshared);
          assert.equal(shared.length > 0, changes.length > 0, 'a patch exactly when something changed');
          assert.deepStrictEqual(received, before);
          if (changes.length > 0) changed++;
        }),
        { numRuns: RUNS },
      );
      // The property says nothing if nothing is ever patched.
      assert.ok(changed > RUNS / 10, `${changed} of ${RUNS} runs patched something`);
    });
  }
});

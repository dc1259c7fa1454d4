/**
 * No patch of ours may yield an object the API server rejects. Property
 * test over random policies x random MCP Deployments and Services, through
 * policy resolution and the mutating webhook as `serve` runs them: every
 * object our patch produces satisfies the constraints kube-apiserver checks
 * that we can check in-process (pkg/apis/apps/validation and
 * pkg/apis/core/validation, v1.37), and a second pass patches nothing.
 * test/e2e/policy.test.ts sends such objects to a real API server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import fastJsonPatch from 'fast-json-patch';
import { mutateRequest } from '../../../src/admission/admission.ts';
import type { AdmissionRequest } from '../../../src/admission/admission-review.ts';
import { Annotations } from '../../../src/contract.ts';
import { DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS } from '../../../src/kubernetes/api-server.ts';
import { validateTransportPolicy, type TransportPolicy } from '../../../src/policy/transport-policy.ts';
import { staticSettings } from '../../../src/settings/static-source.ts';
import { mcpDeployment, mcpService, type Manifest } from '../../support/objects.ts';

const RUNS = Number(process.env.MCP_ADMISSION_FUZZ_RUNS ?? 600);
const INT64_MAX = 2n ** 63n - 1n;
const NAMESPACE = 'tools';

// --- what kube-apiserver checks ----------------------------------------------------------

const isIntOrPercent = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && /^[0-9]+%$/.test(v));
const intOrPercentValue = (v: unknown) => (typeof v === 'number' ? v : Number.parseInt(String(v), 10));

/** Problems kube-apiserver would report for the parts of a Deployment our patch may touch. */
function deploymentProblems(d: Manifest): string[] {
  const problems: string[] = [];
  const podSpec = d.spec.template.spec;
  const grace = podSpec.terminationGracePeriodSeconds;
  if (grace !== undefined) {
    if (!Number.isInteger(grace) || grace < 0 || BigInt(grace) > INT64_MAX) problems.push(`terminationGracePeriodSeconds ${grace}`);
  }
  for (const container of podSpec.containers) {
    const sleep = container.lifecycle?.preStop?.sleep?.seconds;
    // validateSleepAction: 0 <= seconds <= grace; ours must also leave time to drain.
    if (sleep !== undefined && (sleep < 0 || sleep > (grace ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS))) problems.push(`preStop sleep ${sleep} with grace ${grace}`);
  }
  const strategy = d.spec.strategy;
  if (strategy?.type === 'Recreate' && strategy.rollingUpdate) problems.push('rollingUpdate with Recreate');
  if (strategy?.type === 'RollingUpdate') {
    const { maxSurge, maxUnavailable } = strategy.rollingUpdate ?? {};
    if (!isIntOrPercent(maxSurge ?? 0) || !isIntOrPercent(maxUnavailable ?? 0)) problems.push(`strategy values ${maxSurge}/${maxUnavailable}`);
    if (intOrPercentValue(maxSurge ?? 0) === 0 && intOrPercentValue(maxUnavailable ?? 0) === 0) problems.push('maxSurge and maxUnavailable both 0');
    if (typeof maxUnavailable === 'string' && intOrPercentValue(maxUnavailable) > 100) problems.push('maxUnavailable above 100%');
  }
  return problems;
}

/** Problems kube-apiserver would report for the session affinity of a Service. */
function serviceProblems(s: Manifest): string[] {
  const spec = s.spec ?? {};
  if (spec.sessionAffinity === 'ClientIP') {
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 86400) return [`ClientIP timeout ${timeout}`];
  } else if ((spec.sessionAffinity ?? 'None') === 'None' && spec.sessionAffinityConfig) {
    return ['sessionAffinityConfig with sessionAffinity None'];
  }
  return [];
}

// --- generators -----------------------------------------------------------------------------

/** Mostly near the values that interact (grace 30..120, sleeps around them), sometimes anywhere. */
const seconds = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 300 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 86400 }) });
/** A valid value most of the time (so mutation runs), an invalid one sometimes (so it must not). */
const mostly = <T>(valid: fc.Arbitrary<T>, invalid: T) => fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: fc.constant(invalid) });
const surge = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom('0%', '10%', '25%', '50%', '100%'));

const policySpec = fc.record(
  {
    mode: fc.constant('mutate' as const),
    defaults: fc.record(
      {
        terminationGracePeriodSeconds: fc.integer({ min: 1, max: 86400 }),
        maxSurge: surge,
        sessionAffinityTimeoutSeconds: fc.integer({ min: 1, max: 86400 }),
        preStopSleepSeconds: seconds,
      },
      { requiredKeys: [] },
    ),
    bounds: fc.record({ minTerminationGracePeriodSeconds: seconds, maxTerminationGracePeriodSeconds: fc.integer({ min: 1, max: 86400 }) }, { requiredKeys: [] }),
  },
  { requiredKeys: ['mode'] },
);

/**
 * One to three cluster-wide policies that each pass validation, as the
 * webhook would have admitted them; layered by name, so their fields mix
 * (one's minimum under another's maximum, one's sleep over another's grace).
 */
const policies = fc.array(policySpec, { minLength: 1, maxLength: 3 }).map((specs) =>
  specs
    .map((spec, i) => validateTransportPolicy({ apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name: `p${i}` }, spec }).policy)
    .filter((p): p is TransportPolicy => p !== undefined),
);

const annotations = fc.record(
  {
    protocol: fc.constantFrom('sse', 'auto', 'streamable-http'),
    'termination-grace-period-seconds': mostly(seconds.map(String), 'soon'),
    'session-affinity-timeout-seconds': mostly(fc.integer({ min: 1, max: 86400 }).map(String), '0'),
    'session-affinity': fc.constantFrom('true', 'false'),
  },
  { requiredKeys: [] },
);

/** An MCP Deployment as a user could write it (and the API server would accept), after defaulting or not. */
const deployment = fc
  .record({
    annotations,
    strategy: fc.oneof(
      fc.constant(undefined),
      fc.constant({ type: 'Recreate' }),
      fc.record({ maxSurge: surge, maxUnavailable: surge }).filter((r) => intOrPercentValue(r.maxSurge) + intOrPercentValue(r.maxUnavailable) > 0)
        .map((rollingUpdate) => ({ type: 'RollingUpdate', rollingUpdate })),
    ),
    grace: fc.option(seconds, { nil: undefined }),
    userSleep: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
  })
  .map(({ annotations, strategy, grace, userSleep }) => {
    const d = mcpDeployment('weather', { namespace: NAMESPACE, annotations }, {
      ...(strategy && { strategy }),
      template: { spec: grace === undefined ? {} : { terminationGracePeriodSeconds: grace } },
    });
    // A user's own preStop sleep, valid against their own grace period.
    if (userSleep !== undefined && userSleep <= (grace ?? 30)) d.spec.template.spec.containers[0].lifecycle = { preStop: { sleep: { seconds: userSleep } } };
    return d;
  });

const service = fc
  .record({
    annotations,
    type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'headless', 'ExternalName'),
    affinity: fc.option(fc.record({ sessionAffinity: fc.constantFrom('None', 'ClientIP'), timeout: fc.integer({ min: 1, max: 86400 }) }), { nil: undefined }),
    noSpec: fc.boolean(),
  })
  .map(({ annotations, type, affinity, noSpec }) => {
    const s = mcpService('weather', { namespace: NAMESPACE, annotations });
    if (noSpec) delete s.spec;
    else {
      if (type === 'headless') s.spec.clusterIP = 'None';
      else if (type === 'ExternalName') s.spec = { type, externalName: 'mcp.example.com' };
      else s.spec.type = type;
      if (affinity?.sessionAffinity === 'ClientIP') Object.assign(s.spec, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: affinity.timeout } } });
      else if (affinity) s.spec.sessionAffinity = 'None';
    }
    return s;
  });

// --- the property ------------------------------------------------------------------------------

function review(object: Manifest, kind: { group: string; version: string; kind: string }): AdmissionRequest {
  return { uid: 'u', kind, namespace: NAMESPACE, operation: 'CREATE', object };
}

/** The object as our patch leaves it, and whether a second pass would patch it again. */
function mutateTwice(object: Manifest, kind: { group: string; version: string; kind: string }, policySet: TransportPolicy[]) {
  const deps = { settings: staticSettings(policySet), ownNamespace: 'mcp-admission' };
  const first = mutateRequest(review(object, kind), deps);
  assert.notEqual(first.decision, 'invalid', JSON.stringify(first.result));
  const stored = fastJsonPatch.applyPatch(structuredClone(object), first.result.patch ?? [], true, false).newDocument as Manifest;
  const second = mutateRequest(review(stored, kind), deps);
  return { stored, again: second.result.patch ?? [] };
}

describe('every object our patch produces is one the API server accepts', () => {
  it('Deployments, under random policies', () => {
    fc.assert(
      fc.property(policies, deployment, (policySet, d) => {
        const { stored, again } = mutateTwice(d, { group: 'apps', version: 'v1', kind: 'Deployment' }, policySet);
        assert.deepEqual(deploymentProblems(stored), [], JSON.stringify({ policySet, spec: stored.spec }));
        assert.deepEqual(again, [], 'a second pass patches nothing');
        if (stored.metadata.annotations?.[Annotations.applied] !== undefined) {
          const sleep = stored.spec.template.spec.containers[0].lifecycle?.preStop?.sleep?.seconds;
          if (sleep !== undefined && d.spec.template.spec.containers[0].lifecycle === undefined) {
            // An object the API server sends always has a grace period (it
            // defaults 30 before admission); one without stands for that default.
            const grace = stored.spec.template.spec.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
            assert.ok(sleep < grace, `a sleep we add leaves time to drain: sleep ${sleep}, grace ${grace}`);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('Services, under random policies', () => {
    fc.assert(
      fc.property(policies, service, (policySet, s) => {
        const { stored, again } = mutateTwice(s, { group: '', version: 'v1', kind: 'Service' }, policySet);
        assert.deepEqual(serviceProblems(stored), [], JSON.stringify({ policySet, spec: stored.spec }));
        assert.deepEqual(again, [], 'a second pass patches nothing');
      }),
      { numRuns: RUNS },
    );
  });

  it('the checks themselves catch what the API server refuses', () => {
    const d = mcpDeployment('x', { namespace: NAMESPACE }, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } } });
    d.spec.template.spec.terminationGracePeriodSeconds = 120;
    d.spec.template.spec.containers[0].lifecycle = { preStop: { sleep: { seconds: 200 } } };
    assert.deepEqual(deploymentProblems(d), ['preStop sleep 200 with grace 120', 'maxSurge and maxUnavailable both 0']);
    assert.deepEqual(serviceProblems({ spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } } }), ['ClientIP timeout 86401']);
  });
});

/**
 * MCPTransportPolicy is checked by the API server itself (the CRD's schema
 * and CEL rules), with no webhook running at all: installing or changing a
 * policy never waits for webhook pods. Every policy here is also run
 * through the webhook's own validation (src/policy/transport-policy.ts):
 * the two must refuse the same policies.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateTransportPolicy } from '../../src/policy/transport-policy.ts';
import { startE2E, type E2E } from '../support/harness.ts';

const policy = (name: string, spec: unknown) => ({ apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name }, spec });

/** [name, spec, what the API server's refusal says] */
const REFUSED: Array<[string, unknown, RegExp]> = [
  ['min-above-max', { bounds: { minTerminationGracePeriodSeconds: 600, maxTerminationGracePeriodSeconds: 60 } }, /spec\.bounds: Invalid value: .*minTerminationGracePeriodSeconds is above maxTerminationGracePeriodSeconds/],
  ['surge-zero', { defaults: { maxSurge: 0 } }, /spec\.defaults\.maxSurge: Invalid value: .*leaves no room to roll/],
  ['surge-zero-percent', { defaults: { maxSurge: '0%' } }, /spec\.defaults\.maxSurge: Invalid value: .*leaves no room to roll/],
  ['surge-not-a-percentage', { defaults: { maxSurge: 'lots' } }, /spec\.defaults\.maxSurge: Invalid value: .*must be a whole number or a percentage/],
  ['unknown-mode', { mode: 'enforce' }, /spec\.mode: Unsupported value: "enforce"/],
  ['in-without-values', { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In' }] } }, /spec\.namespaceSelector\.matchExpressions\[0\]: Invalid value: .*need at least one value/],
  ['exists-with-values', { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists', values: ['a'] }] } }, /spec\.namespaceSelector\.matchExpressions\[0\]: Invalid value: .*take no values/],
  ['bad-label-key', { namespaceSelector: { matchLabels: { 'bad key!': 'a' } } }, /spec\.namespaceSelector\.matchLabels: Invalid value: .*not a valid label key/],
  ['bad-label-key-prefix', { namespaceSelector: { matchLabels: { 'Example.COM/team': 'a' } } }, /not a valid label key/],
  ['bad-expression-key', { namespaceSelector: { matchExpressions: [{ key: '-team', operator: 'Exists' }] } }, /spec\.namespaceSelector\.matchExpressions\[0\]\.key: Invalid value: .*not a valid label key/],
  ['bad-label-value', { namespaceSelector: { matchLabels: { team: 'a b' } } }, /spec\.namespaceSelector\.matchLabels\[team\]: Invalid value: .*not a valid label value/],
  ['bad-expression-value', { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['-a'] }] } }, /matchExpressions\[0\]\.values\[0\]: Invalid value: .*not a valid label value/],
  ['grace-outside-own-bounds', { defaults: { terminationGracePeriodSeconds: 30 }, bounds: { minTerminationGracePeriodSeconds: 60 } }, /spec: Invalid value: .*outside this policy's own bounds/],
  ['grace-above-own-max', { defaults: { terminationGracePeriodSeconds: 900 }, bounds: { maxTerminationGracePeriodSeconds: 600 } }, /outside this policy's own bounds/],
  ['sleep-as-long-as-grace', { defaults: { terminationGracePeriodSeconds: 30, preStopSleepSeconds: 30 } }, /spec\.defaults: Invalid value: .*uses the whole grace period/],
  ['exempt-not-a-name', { exemptNamespaces: ['ok', 'Not_OK'] }, /spec\.exemptNamespaces\[1\]: Invalid value: .*not a namespace name/],
  ['grace-zero', { defaults: { terminationGracePeriodSeconds: 0 } }, /spec\.defaults\.terminationGracePeriodSeconds: Invalid value: 0/],
  ['affinity-over-a-day', { defaults: { sessionAffinityTimeoutSeconds: 86401 } }, /spec\.defaults\.sessionAffinityTimeoutSeconds: Invalid value: 86401/],
];

const ACCEPTED: Array<[string, unknown]> = [
  ['full', {
    mode: 'validate',
    namespaceSelector: { matchLabels: { team: 'a', 'example.com/tier': 'gold' }, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }, { key: 'legacy', operator: 'DoesNotExist' }] },
    exemptNamespaces: ['legacy'],
    defaults: { terminationGracePeriodSeconds: 300, maxSurge: 1, sessionAffinityTimeoutSeconds: 3600, preStopSleepSeconds: 5, undetectedProtocol: 'streamable-http' },
    bounds: { minTerminationGracePeriodSeconds: 60, maxTerminationGracePeriodSeconds: 900, allowSessionAffinityOptOut: false },
  }],
  ['empty', {}],
  ['percent-surge-and-sleep-without-grace', { defaults: { maxSurge: '10%', preStopSleepSeconds: 5 } }],
  ['grace-on-its-bounds', { defaults: { terminationGracePeriodSeconds: 60 }, bounds: { minTerminationGracePeriodSeconds: 60, maxTerminationGracePeriodSeconds: 60 } }],
];

describe('MCPTransportPolicy validation in the CRD, with no webhook', () => {
  let env: E2E;
  before(async () => {
    env = await startE2E({ webhook: false });
  });
  after(() => env?.stop());

  for (const [name, spec, message] of REFUSED) {
    it(`refuses ${name}`, async () => {
      assert.notDeepEqual(validateTransportPolicy(policy(name, spec)).problems, [], 'the webhook accepts it');
      const result = await env.apply(policy(name, spec));
      assert.notEqual(result.code, 0, result.stdout);
      assert.match(result.stderr, message);
    });
  }

  for (const [name, spec] of ACCEPTED) {
    it(`accepts ${name}`, async () => {
      assert.deepEqual(validateTransportPolicy(policy(name, spec)).problems, []);
      const result = await env.apply(policy(name, spec));
      assert.equal(result.code, 0, result.stderr);
    });
  }

  it('refuses an unknown field by name (kubectl strict field validation)', async () => {
    const result = await env.apply(policy('typo', { defualts: {} }));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /unknown field "spec\.defualts"/);
  });
});

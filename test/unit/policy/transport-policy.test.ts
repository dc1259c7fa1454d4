import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILT_IN_SETTINGS } from '../../../src/policy/transport-settings.ts';
import { resolveSettings, validateTransportPolicy, type TransportPolicy } from '../../../src/policy/transport-policy.ts';

const policyObject = (spec: unknown, name = 'p') => ({
  apiVersion: 'mcp-admission.dev/v1alpha1',
  kind: 'MCPTransportPolicy',
  metadata: { name },
  spec,
});

describe('refusing bad policies', () => {
  const cases: Array<[string, unknown, string[]]> = [
    ['min grace above max', { bounds: { minTerminationGracePeriodSeconds: 600, maxTerminationGracePeriodSeconds: 60 } }, ['spec.bounds.minTerminationGracePeriodSeconds']],
    ['maxSurge 0', { defaults: { maxSurge: 0 } }, ['spec.defaults.maxSurge']],
    ['maxSurge "0%"', { defaults: { maxSurge: '0%' } }, ['spec.defaults.maxSurge']],
    ['maxSurge not a percentage', { defaults: { maxSurge: 'lots' } }, ['spec.defaults.maxSurge']],
    ['unknown mode', { mode: 'enforce' }, ['spec.mode']],
    ['unknown field (a typo)', { defualts: {} }, ['spec']],
    ['In without values', { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In' }] } }, ['spec.namespaceSelector.matchExpressions[0].values']],
    ['Exists with values', { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists', values: ['a'] }] } }, ['spec.namespaceSelector.matchExpressions[0].values']],
    ['bad label key', { namespaceSelector: { matchLabels: { 'bad key!': 'a' } } }, ['spec.namespaceSelector.matchLabels']],
    ['default grace outside its own bounds', { defaults: { terminationGracePeriodSeconds: 30 }, bounds: { minTerminationGracePeriodSeconds: 60 } }, ['spec.defaults.terminationGracePeriodSeconds']],
    ['preStop sleep as long as the grace period', { defaults: { terminationGracePeriodSeconds: 30, preStopSleepSeconds: 30 } }, ['spec.defaults.preStopSleepSeconds']],
    ['exempt namespace that is not a name', { exemptNamespaces: ['ok', 'Not_OK'] }, ['spec.exemptNamespaces[1]']],
    ['grace of zero', { defaults: { terminationGracePeriodSeconds: 0 } }, ['spec.defaults.terminationGracePeriodSeconds']],
    ['affinity timeout over a day', { defaults: { sessionAffinityTimeoutSeconds: 86401 } }, ['spec.defaults.sessionAffinityTimeoutSeconds']],
  ];
  for (const [name, spec, fields] of cases) {
    it(name, () => {
      const { policy, problems } = validateTransportPolicy(policyObject(spec));
      assert.equal(policy, undefined);
      assert.deepEqual(problems.map((p) => p.field), fields);
    });
  }

  it('accepts a full valid policy', () => {
    const { policy, problems } = validateTransportPolicy(
      policyObject({
        mode: 'validate',
        namespaceSelector: { matchLabels: { team: 'a' }, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] },
        exemptNamespaces: ['legacy'],
        defaults: { terminationGracePeriodSeconds: 300, maxSurge: 1, sessionAffinityTimeoutSeconds: 3600, preStopSleepSeconds: 5, undetectedProtocol: 'streamable-http' },
        bounds: { minTerminationGracePeriodSeconds: 60, maxTerminationGracePeriodSeconds: 900, allowSessionAffinityOptOut: false },
      }),
    );
    assert.deepEqual(problems, []);
    assert.equal(policy?.name, 'p');
  });
});

describe('precedence', () => {
  const p = (name: string, spec: TransportPolicy['spec']): TransportPolicy => ({ name, spec });
  const clusterDefault = p('cluster', { mode: 'mutate', defaults: { terminationGracePeriodSeconds: 180, maxSurge: '50%' }, bounds: { maxTerminationGracePeriodSeconds: 1800 } });
  const teamA = p('team-a', { namespaceSelector: { matchLabels: { team: 'a' } }, defaults: { terminationGracePeriodSeconds: 300 } });
  const teamAProd = p('team-a-prod', { namespaceSelector: { matchLabels: { team: 'a', env: 'prod' } }, mode: 'validate' });
  const labels = (extra: Record<string, string>) => ({ 'kubernetes.io/metadata.name': 'ns', ...extra });

  it('built-in defaults with no policy at all', () => {
    assert.deepEqual(resolveSettings([], 'ns', labels({})), { ...BUILT_IN_SETTINGS, sources: [], provenance: {} });
  });

  it('says which policy set each field; unlisted fields are built-in', () => {
    const s = resolveSettings([teamAProd, teamA, clusterDefault], 'ns', labels({ team: 'a', env: 'prod' }));
    assert.deepEqual(s.provenance, {
      mode: 'team-a-prod',
      terminationGracePeriodSeconds: 'team-a',
      maxSurge: 'cluster',
      maxTerminationGracePeriodSeconds: 'cluster',
    });
    const exempting = p('legacy', { exemptNamespaces: ['ns'] });
    assert.deepEqual(resolveSettings([exempting, clusterDefault], 'ns', labels({})).exemptBy, ['legacy']);
  });

  it('a cluster default overrides built-ins, field by field', () => {
    const s = resolveSettings([clusterDefault], 'ns', labels({}));
    assert.equal(s.terminationGracePeriodSeconds, 180);
    assert.equal(s.maxSurge, '50%');
    assert.equal(s.sessionAffinityTimeoutSeconds, BUILT_IN_SETTINGS.sessionAffinityTimeoutSeconds);
    assert.deepEqual(s.sources, ['cluster']);
  });

  it('a matching namespace policy overrides the cluster default; unset fields fall through', () => {
    const s = resolveSettings([teamA, clusterDefault], 'ns', labels({ team: 'a' }));
    assert.equal(s.terminationGracePeriodSeconds, 300);
    assert.equal(s.maxSurge, '50%');
    assert.deepEqual(s.sources, ['cluster', 'team-a']);
  });

  it('the most specific matching policy wins', () => {
    const s = resolveSettings([teamAProd, teamA, clusterDefault], 'ns', labels({ team: 'a', env: 'prod' }));
    assert.equal(s.mode, 'validate');
    assert.equal(s.terminationGracePeriodSeconds, 300);
    assert.deepEqual(s.sources, ['cluster', 'team-a', 'team-a-prod']);
  });

  it('a policy whose selector does not match is ignored', () => {
    assert.equal(resolveSettings([teamA], 'ns', labels({ team: 'b' })).terminationGracePeriodSeconds, 120);
  });

  it('ties go to the name that sorts first, whatever the input order', () => {
    const x = p('b-policy', { namespaceSelector: { matchLabels: { team: 'a' } }, mode: 'warn' });
    const y = p('a-policy', { namespaceSelector: { matchLabels: { team: 'a' } }, mode: 'off' });
    assert.equal(resolveSettings([x, y], 'ns', labels({ team: 'a' })).mode, 'off');
    assert.equal(resolveSettings([y, x], 'ns', labels({ team: 'a' })).mode, 'off');
  });

  it('a default below a bound set by another layer is raised to the bound', () => {
    const floor = p('floor', { bounds: { minTerminationGracePeriodSeconds: 200 } });
    assert.equal(resolveSettings([floor, teamA], 'ns', labels({ team: 'a' })).terminationGracePeriodSeconds, 300);
    assert.equal(resolveSettings([floor], 'ns', labels({})).terminationGracePeriodSeconds, 200);
  });

  it('bounds from two layers that cross: the more specific policy wins, the range stays valid, the conflict is reported', () => {
    const cluster = p('cluster', { bounds: { maxTerminationGracePeriodSeconds: 300 } });
    const team = p('team-a', { namespaceSelector: { matchLabels: { team: 'a' } }, bounds: { minTerminationGracePeriodSeconds: 600 } });
    const s = resolveSettings([cluster, team], 'ns', labels({ team: 'a' }));
    assert.deepEqual([s.minTerminationGracePeriodSeconds, s.maxTerminationGracePeriodSeconds, s.terminationGracePeriodSeconds], [600, 600, 600]);
    assert.equal(s.conflicts.length, 1);
    assert.match(s.conflicts[0]!.message, /team-a.*600.*cluster.*300/);
    const reverse = resolveSettings(
      [p('cluster', { bounds: { minTerminationGracePeriodSeconds: 600 } }), p('team-a', { namespaceSelector: { matchLabels: { team: 'a' } }, bounds: { maxTerminationGracePeriodSeconds: 300 } })],
      'ns',
      labels({ team: 'a' }),
    );
    assert.deepEqual([reverse.minTerminationGracePeriodSeconds, reverse.maxTerminationGracePeriodSeconds, reverse.terminationGracePeriodSeconds], [300, 300, 300]);
    assert.equal(reverse.conflicts.length, 1);
  });

  it('crossed bounds that a later layer overrides are not reported as in force', () => {
    // Three cluster-wide policies: on a tie the name that sorts first is applied
    // last, so cluster-default sets both bounds after conflict-a and conflict-b
    // crossed them, and the range in force is cluster-default's.
    const s = resolveSettings(
      [
        p('conflict-a', { bounds: { minTerminationGracePeriodSeconds: 600 } }),
        p('conflict-b', { bounds: { maxTerminationGracePeriodSeconds: 120 } }),
        p('cluster-default', { bounds: { minTerminationGracePeriodSeconds: 30, maxTerminationGracePeriodSeconds: 3600 } }),
      ],
      'ns',
      labels({}),
    );
    assert.deepEqual([s.minTerminationGracePeriodSeconds, s.maxTerminationGracePeriodSeconds], [30, 3600]);
    assert.deepEqual(s.conflicts, []);
  });

  it('a conflict names the bounds that end up in force', () => {
    // conflict-a and conflict-b cross; cluster-default, applied last, moves
    // only the maximum, which still meets the settled minimum.
    const s = resolveSettings(
      [
        p('conflict-a', { bounds: { minTerminationGracePeriodSeconds: 600 } }),
        p('conflict-b', { bounds: { maxTerminationGracePeriodSeconds: 120 } }),
        p('cluster-default', { defaults: { terminationGracePeriodSeconds: 120 } }),
      ],
      'ns',
      labels({}),
    );
    assert.deepEqual([s.minTerminationGracePeriodSeconds, s.maxTerminationGracePeriodSeconds], [600, 600]);
    assert.equal(s.conflicts.length, 1);
    assert.match(s.conflicts[0]!.message, /the bounds in force are 600 to 600 seconds/);
  });

  it('a preStop sleep from one layer that outlasts the grace period from another is reported', () => {
    const s = resolveSettings([p('cluster', { defaults: { preStopSleepSeconds: 200 } })], 'ns', labels({}));
    assert.equal(s.conflicts.length, 1);
    assert.equal(s.conflicts[0]!.field, 'spec.defaults.preStopSleepSeconds');
    assert.match(s.conflicts[0]!.message, /MCPTransportPolicy cluster/);
    assert.deepEqual(resolveSettings([], 'ns', labels({})).conflicts, []);
  });

  it('any policy can exempt a namespace', () => {
    const exempting = p('legacy', { namespaceSelector: { matchLabels: { team: 'z' } }, exemptNamespaces: ['old-tools'] });
    assert.equal(resolveSettings([exempting], 'old-tools', labels({})).exempt, true);
    assert.equal(resolveSettings([exempting], 'ns', labels({})).exempt, false);
  });

  it('matchExpressions: NotIn matches a namespace without the label; DoesNotExist too', () => {
    const notDev = p('not-dev', { namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] }, mode: 'validate' });
    assert.equal(resolveSettings([notDev], 'ns', labels({})).mode, 'validate');
    assert.equal(resolveSettings([notDev], 'ns', labels({ env: 'dev' })).mode, 'mutate');
  });
});

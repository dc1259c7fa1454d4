import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateTransportPolicy } from '../../../src/policy/transport-policy.ts';
import { planPolicyStatus, type StoredPolicy } from '../../../src/status/policy-status.ts';

const now = new Date('2026-11-24T09:30:00.123Z');
const later = new Date('2026-11-24T10:00:00Z');
const options = { now, ownNamespace: 'mcp-admission' };

function policy(name: string, spec: object, generation = 1, status?: unknown): StoredPolicy {
  return { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name, generation }, spec, ...(status ? { status } : {}) };
}
const condition = (plan: { status: { conditions: Array<{ type: string }> } }, type: string) => plan.status.conditions.find((c) => c.type === type) as any;

describe('planPolicyStatus', () => {
  it('a valid policy is Accepted, not Invalid, not Conflicting, at its generation', () => {
    const [plan] = planPolicyStatus([policy('team-a', { mode: 'validate' }, 4)], [{ name: 'tools', labels: {} }], options);
    assert.equal(plan!.state, 'accepted');
    assert.equal(plan!.changed, true);
    assert.equal(plan!.status.observedGeneration, 4);
    assert.deepEqual(
      plan!.status.conditions.map((c) => [c.type, c.status, c.reason, c.observedGeneration, c.lastTransitionTime]),
      [
        ['Accepted', 'True', 'Valid', 4, '2026-11-24T09:30:00Z'],
        ['Invalid', 'False', 'Valid', 4, '2026-11-24T09:30:00Z'],
        ['Conflicting', 'False', 'NoConflict', 4, '2026-11-24T09:30:00Z'],
      ],
    );
    assert.equal(plan!.invalidEvent, undefined);
  });

  it('an invalid policy is Invalid with every field path and reason, and asks for one Warning Event', () => {
    const stored = policy('broken', { bounds: { minTerminationGracePeriodSeconds: 900, maxTerminationGracePeriodSeconds: 60 }, exemptNamespaces: ['Bad_NS'] });
    const [plan] = planPolicyStatus([stored], [], options);
    assert.equal(plan!.state, 'invalid');
    assert.equal(condition(plan!, 'Accepted').status, 'False');
    const invalid = condition(plan!, 'Invalid');
    assert.equal(invalid.status, 'True');
    assert.equal(invalid.reason, 'InvalidSpec');
    assert.match(invalid.message, /^spec\.exemptNamespaces\[0\]: "Bad_NS" is not a namespace name/m);
    assert.match(invalid.message, /^spec\.bounds\.minTerminationGracePeriodSeconds: 900 is above maxTerminationGracePeriodSeconds \(60\)/m);
    assert.equal(condition(plan!, 'Conflicting').status, 'Unknown');
    assert.match(plan!.invalidEvent!.message, /^MCPTransportPolicy broken is invalid and ignored: spec\./);

    // Written once: the same policy with the planned status needs no write and no second Event.
    const [again] = planPolicyStatus([{ ...stored, status: plan!.status }], [], { ...options, now: later });
    assert.equal(again!.changed, false);
    assert.equal(again!.invalidEvent, undefined);
  });

  it('two policies whose merged bounds cross are both Conflicting, naming the namespace', () => {
    const stored = [
      policy('cluster-default', { bounds: { minTerminationGracePeriodSeconds: 600 } }),
      policy('team-a', { namespaceSelector: { matchLabels: { team: 'a' } }, bounds: { maxTerminationGracePeriodSeconds: 300 } }),
      policy('team-b', { namespaceSelector: { matchLabels: { team: 'b' } }, defaults: { terminationGracePeriodSeconds: 900 } }),
      policy('bystander', { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, defaults: { maxSurge: 2 } }),
    ];
    const plans = planPolicyStatus(stored, [
      { name: 'a-tools', labels: { team: 'a' } },
      { name: 'b-tools', labels: { team: 'b' } },
      { name: 'mcp-admission', labels: { team: 'a' } },
    ], options);
    const byName = Object.fromEntries(plans.map((p) => [p.name, p]));
    assert.equal(byName['team-a']!.state, 'conflicting');
    assert.equal(byName['cluster-default']!.state, 'conflicting');
    assert.equal(byName['team-b']!.state, 'accepted');
    assert.equal(byName['bystander']!.state, 'accepted', 'in force there too, but not part of the conflict');
    const conflicting = condition(byName['team-a']!, 'Conflicting');
    assert.equal(conflicting.status, 'True');
    assert.equal(conflicting.reason, 'BoundsConflict');
    assert.match(conflicting.message, /^In namespace a-tools: MCPTransportPolicy team-a sets maxTerminationGracePeriodSeconds 300/);
    // Accepted still: the policy is in force, the conflict is settled by precedence.
    assert.equal(condition(byName['team-a']!, 'Accepted').status, 'True');
  });

  it('keeps lastTransitionTime while a condition holds, and moves it when the condition turns', () => {
    const [first] = planPolicyStatus([policy('p', {})], [], options);
    const [same] = planPolicyStatus([policy('p', {}, 2, first!.status)], [], { ...options, now: later });
    assert.equal(same!.changed, true, 'a new generation is observed');
    assert.equal(condition(same!, 'Accepted').lastTransitionTime, '2026-11-24T09:30:00Z');
    assert.equal(condition(same!, 'Accepted').observedGeneration, 2);
    const [turned] = planPolicyStatus([policy('p', { defaults: { maxSurge: 0 } }, 3, same!.status)], [], { ...options, now: later });
    assert.equal(condition(turned!, 'Accepted').lastTransitionTime, '2026-11-24T10:00:00Z');
    assert.ok(turned!.invalidEvent);
  });

  it('conflicts in exempt, system and the webhook\'s own namespaces do not count', () => {
    const stored = [
      policy('floor', { bounds: { minTerminationGracePeriodSeconds: 600 }, exemptNamespaces: ['legacy'] }),
      policy('ceiling', { namespaceSelector: { matchLabels: { x: 'y' } }, bounds: { maxTerminationGracePeriodSeconds: 300 } }),
    ];
    const plans = planPolicyStatus(stored, ['legacy', 'kube-system', 'mcp-admission'].map((name) => ({ name, labels: { x: 'y' } })), options);
    assert.deepEqual(plans.map((p) => p.state), ['accepted', 'accepted']);
  });

  it('takes each policy\'s check from the caller when given one, so a memo of it plans the same as checking again', () => {
    const stored = [policy('team-a', { mode: 'validate' }), policy('broken', { exemptNamespaces: ['Bad_NS'] })];
    const checked: string[] = [];
    const validate = (object: StoredPolicy) => {
      checked.push(object.metadata?.name ?? '');
      return validateTransportPolicy(object);
    };
    const remembered = planPolicyStatus(stored, [{ name: 'tools', labels: {} }], { ...options, validate });
    assert.deepEqual(checked, ['team-a', 'broken']);
    assert.deepEqual(remembered, planPolicyStatus(stored, [{ name: 'tools', labels: {} }], options));
  });
});

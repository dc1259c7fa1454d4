import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainNamespace } from '../../../src/policy/explain.ts';
import type { TransportPolicy } from '../../../src/policy/transport-policy.ts';
import { parseNamespaceLabels } from '../../../src/cli/namespace-labels.ts';

const policies: TransportPolicy[] = [
  { name: 'cluster', spec: { defaults: { maxSurge: '50%', terminationGracePeriodSeconds: 200 }, bounds: { minTerminationGracePeriodSeconds: 60 } } },
  { name: 'team-a', spec: { mode: 'validate', namespaceSelector: { matchLabels: { team: 'a' } }, defaults: { terminationGracePeriodSeconds: 20 } } },
];

describe('explainNamespace', () => {
  it('gives each setting with the policy or built-in default it came from', () => {
    const e = explainNamespace(policies, 'tools', { team: 'a' }, { ownNamespace: 'mcp-admission' });
    assert.deepEqual(e.policies, ['cluster', 'team-a']);
    assert.deepEqual(e.mode, { value: 'validate', from: 'MCPTransportPolicy team-a' });
    assert.deepEqual(e.defaults.maxSurge, { value: '50%', from: 'MCPTransportPolicy cluster' });
    assert.deepEqual(e.defaults.sessionAffinityTimeoutSeconds, { value: 10800, from: 'built-in default' });
    assert.deepEqual(e.defaults.terminationGracePeriodSeconds, { value: 60, from: 'MCPTransportPolicy team-a (20, held to the bounds in force)' });
    assert.deepEqual(e.bounds.minTerminationGracePeriodSeconds, { value: 60, from: 'MCPTransportPolicy cluster' });
    assert.equal(e.judged, true);
    assert.equal(e.reason, 'MCP objects here are judged in mode validate');
  });

  it('says when a bound was moved to meet a more specific policy, not that its policy set that value', () => {
    const crossed: TransportPolicy[] = [
      { name: 'cluster', spec: { bounds: { maxTerminationGracePeriodSeconds: 3600 } } },
      { name: 'team-a', spec: { namespaceSelector: { matchLabels: { team: 'a' } }, bounds: { minTerminationGracePeriodSeconds: 4000 } } },
    ];
    const e = explainNamespace(crossed, 'tools', { team: 'a' }, { ownNamespace: 'mcp-admission' });
    assert.deepEqual(e.bounds.minTerminationGracePeriodSeconds, { value: 4000, from: 'MCPTransportPolicy team-a' });
    assert.deepEqual(e.bounds.maxTerminationGracePeriodSeconds, {
      value: 4000,
      from: 'MCPTransportPolicy cluster (3600, moved to meet a more specific policy: see conflicts)',
    });
  });

  it('says when a namespace is never judged, and why', () => {
    assert.equal(explainNamespace([], 'kube-system', {}, { ownNamespace: 'mcp-admission' }).reason, 'kube-system is a system namespace: never judged');
    const exempt = explainNamespace([{ name: 'x', spec: { exemptNamespaces: ['legacy'] } }], 'legacy', {}, { ownNamespace: 'mcp-admission' });
    assert.deepEqual([exempt.judged, exempt.exempt, exempt.reason], [false, { value: true, by: ['x'] }, 'exempted by MCPTransportPolicy x']);
  });
});

describe('--namespace-labels', () => {
  it('parses NS=k=v,k=v, repeatable', () => {
    assert.deepEqual(parseNamespaceLabels(['tools=team=a,env=prod', 'other=', 'tools=tier=1']), new Map([
      ['tools', { team: 'a', env: 'prod', tier: '1' }],
      ['other', {}],
    ]));
  });
  it('refuses what it cannot read', () => {
    assert.throws(() => parseNamespaceLabels(['Tools=a=b']), /not a namespace name/);
    assert.throws(() => parseNamespaceLabels(['tools=team']), /"team" is not key=value/);
  });
});

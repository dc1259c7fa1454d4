/**
 * What the cluster settings source keeps of the policies and namespaces
 * it caches: what it reads, and nothing of managedFields or annotations.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateTransportPolicy } from '../../../src/policy/transport-policy.ts';
import { namespaceKept, policyKept } from '../../../src/settings/cached-objects.ts';

const managedFields = [{ manager: 'kubectl-client-side-apply', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { '.': {} } } }];

describe('cached objects', () => {
  it('a policy keeps apiVersion, kind, spec, status and its name, uid, resourceVersion and generation', () => {
    const stored = {
      apiVersion: 'mcp-admission.dev/v1alpha1',
      kind: 'MCPTransportPolicy',
      metadata: {
        name: 'team-a',
        uid: 'u-1',
        resourceVersion: '42',
        generation: 3,
        creationTimestamp: '2026-11-24T21:00:00Z',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{}}' },
        labels: { owner: 'team-a' },
        managedFields,
      },
      spec: { mode: 'warn', namespaceSelector: { matchLabels: { team: 'a' } } },
      status: { observedGeneration: 3, conditions: [] },
    };
    assert.deepEqual(policyKept(stored), {
      apiVersion: 'mcp-admission.dev/v1alpha1',
      kind: 'MCPTransportPolicy',
      metadata: { name: 'team-a', uid: 'u-1', resourceVersion: '42', generation: 3 },
      spec: { mode: 'warn', namespaceSelector: { matchLabels: { team: 'a' } } },
      status: { observedGeneration: 3, conditions: [] },
    });
    assert.deepEqual(validateTransportPolicy(policyKept(stored)), validateTransportPolicy(stored));
  });

  it('a policy stored invalid is checked with the same problems, odd values and absent fields as they were', () => {
    for (const stored of [
      { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name: 'bad', managedFields }, spec: { defaults: { maxSurge: 0 } } },
      { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name: 'no-spec', managedFields } },
      { apiVersion: 'v1', kind: 'Other', metadata: 'not a map', spec: [] },
    ]) {
      const kept = policyKept(stored as never);
      assert.deepEqual(validateTransportPolicy(kept), validateTransportPolicy(stored), JSON.stringify(stored));
      assert.equal(Object.hasOwn(kept, 'spec'), Object.hasOwn(stored, 'spec'));
    }
  });

  it('a namespace keeps its name, labels and resourceVersion', () => {
    const stored = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'tools', labels: { team: 'a', 'kubernetes.io/metadata.name': 'tools' }, resourceVersion: '7', uid: 'u-2', annotations: { a: 'b' }, managedFields },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    assert.deepEqual(namespaceKept(stored), { metadata: { name: 'tools', labels: { team: 'a', 'kubernetes.io/metadata.name': 'tools' }, resourceVersion: '7' } });
  });
});

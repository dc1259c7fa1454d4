import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withoutBookkeeping } from '../../../src/kubernetes/cluster-facts.ts';

describe('withoutBookkeeping (what the front-door caches keep)', () => {
  it('drops managed fields, kubectl\'s last-applied copy and the status, and keeps everything a lookup reads', () => {
    const stored = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'weather',
        namespace: 'tools',
        resourceVersion: '42',
        labels: { 'app.kubernetes.io/component': 'mcp-server' },
        annotations: {
          'mcp.example/transport': 'sse',
          'traefik.ingress.kubernetes.io/service.nativelb': 'true',
          'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"v1","kind":"Service"}',
        },
        managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
      },
      spec: { selector: { app: 'weather' }, sessionAffinity: 'ClientIP', ports: [{ port: 80 }] },
      status: { loadBalancer: {} },
    };
    const kept = withoutBookkeeping(structuredClone(stored));
    const { managedFields: _managedFields, ...metadata } = stored.metadata;
    const { 'kubectl.kubernetes.io/last-applied-configuration': _lastApplied, ...annotations } = stored.metadata.annotations;
    assert.deepEqual(kept, { apiVersion: 'v1', kind: 'Service', metadata: { ...metadata, annotations }, spec: stored.spec });
  });

  it('takes an object with no metadata or annotations as it is', () => {
    assert.deepEqual(withoutBookkeeping({}), {});
    assert.deepEqual(withoutBookkeeping({ metadata: { name: 'a' } }), { metadata: { name: 'a' } });
  });
});

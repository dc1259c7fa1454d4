import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CoreV1Event } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { PolicyStatus, StoredPolicy } from '../../../src/status/policy-status.ts';
import { PolicyStatusWriter } from '../../../src/status/policy-status-writer.ts';

function setup(leader: { value: boolean }) {
  const policies: StoredPolicy[] = [
    { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name: 'good', generation: 1 }, spec: {} },
    { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name: 'bad', generation: 2, uid: 'u-bad' }, spec: { defaults: { maxSurge: 0 } } },
  ];
  const writes: Array<[string, PolicyStatus]> = [];
  const events: CoreV1Event[] = [];
  const states: string[][] = [];
  const writer = new PolicyStatusWriter({
    api: {
      patchStatus: async (name, status) => {
        writes.push([name, status]);
        // As the API server would: the stored object now carries the status.
        const stored = policies.find((p) => p.metadata?.name === name)!;
        stored.status = status;
      },
      createEvent: async (event) => void events.push(event),
    },
    snapshot: () => ({ policies, namespaces: [] }),
    isLeader: () => leader.value,
    ownNamespace: 'mcp-admission',
    logger: pino({ level: 'silent' }),
    instance: 'webhook-0',
    onPlanned: (plans) => states.push(plans.map((p) => p.state)),
    clock: () => new Date('2026-11-24T09:30:00Z'),
  });
  return { writer, writes, events, states };
}

describe('PolicyStatusWriter', () => {
  it('a replica without the Lease plans (for metrics) but writes nothing', async () => {
    const { writer, writes, events, states } = setup({ value: false });
    await writer.sync();
    assert.deepEqual(writes, []);
    assert.deepEqual(events, []);
    assert.deepEqual(states, [['accepted', 'invalid']]);
  });

  it('the leader writes each status once and one Warning Event for the invalid policy', async () => {
    const { writer, writes, events } = setup({ value: true });
    await writer.sync();
    assert.deepEqual(writes.map(([name]) => name), ['good', 'bad']);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, 'Warning');
    assert.equal(events[0]!.reason, 'InvalidPolicy');
    assert.equal(events[0]!.metadata.namespace, 'default');
    assert.deepEqual(events[0]!.involvedObject, { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', name: 'bad', uid: 'u-bad' });
    assert.match(events[0]!.message!, /spec\.defaults\.maxSurge/);
    await writer.sync();
    assert.equal(writes.length, 2, 'nothing changed, nothing written');
    assert.equal(events.length, 1);
  });

  it('gaining the Lease writes everything once, even what looks current', async () => {
    const leader = { value: true };
    const { writer, writes } = setup(leader);
    await writer.sync();
    leader.value = false;
    await writer.sync();
    leader.value = true;
    await writer.sync();
    assert.equal(writes.length, 4);
  });
});

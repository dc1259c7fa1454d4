import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { CoreV1Event } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { NamespaceInfo, PolicyStatus, StoredPolicy } from '../../../src/status/policy-status.ts';
import { PolicyStatusWriter } from '../../../src/status/policy-status-writer.ts';
import { createMetrics, setPolicyCounts, type PolicyState } from '../../../src/server/metrics.ts';

/** `faults`: what fails while set, a status write or the read a plan starts from. */
function setup(leader: { value: boolean }, timing: { debounceMs?: number; resyncMs?: number; planSliceMs?: number } = {}, faults = { write: false, plan: false }) {
  const policies: StoredPolicy[] = [
    { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name: 'good', generation: 1 }, spec: {} },
    { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name: 'bad', generation: 2, uid: 'u-bad' }, spec: { defaults: { maxSurge: 0 } } },
  ];
  const writes: Array<[string, PolicyStatus]> = [];
  const events: CoreV1Event[] = [];
  const states: string[][] = [];
  const planCpu: number[] = [];
  /** Per plan, whether it resolved every namespace. */
  const wholes: boolean[] = [];
  const namespaces: NamespaceInfo[] = [{ name: 'tools', labels: {} }];
  const writer = new PolicyStatusWriter({
    api: {
      patchStatus: async (name, status) => {
        if (faults.write) throw Object.assign(new Error('etcdserver: request timed out'), { code: 500 });
        writes.push([name, status]);
        // As the API server would: the stored object now carries the status.
        const stored = policies.find((p) => p.metadata?.name === name)!;
        stored.status = status;
      },
      createEvent: async (event) => void events.push(event),
    },
    snapshot: () => {
      if (faults.plan) throw new Error('the informer cache is not readable');
      return { policies, namespaces };
    },
    isLeader: () => leader.value,
    ownNamespace: 'mcp-admission',
    logger: pino({ level: 'silent' }),
    instance: 'webhook-0',
    onStates: (planned) => states.push([...planned]),
    onPlanCpu: (seconds, { whole }) => {
      planCpu.push(seconds);
      wholes.push(whole);
    },
    clock: () => new Date('2026-11-24T09:30:00Z'),
    // These tests count passes and writes with Node's timers mocked: a plan
    // in one slice, whatever the load, finishes within their settle (the
    // slices have a test of their own).
    planSliceMs: Number.POSITIVE_INFINITY,
    ...timing,
  });
  return { writer, writes, events, states, planCpu, wholes, namespaces, policies };
}

/**
 * Node's timers mocked for one test; `advance` moves them and lets a pass a
 * timer started run to its end (its writes are promises).
 */
function mockedTimers(t: TestContext): (ms: number) => Promise<void> {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return async (ms) => {
    t.mock.timers.tick(ms);
    await settle();
    await settle();
  };
}

describe('PolicyStatusWriter', () => {
  it('a replica without the Lease counts the states (for metrics) but neither plans nor writes', async () => {
    const { writer, writes, events, states, planCpu } = setup({ value: false });
    await writer.sync();
    assert.deepEqual(writes, []);
    assert.deepEqual(events, []);
    assert.deepEqual(states, [['accepted', 'invalid']]);
    assert.deepEqual(planCpu, []);
  });

  it('reports the CPU time of every plan the holder makes', async () => {
    const leader = { value: false };
    const { writer, planCpu } = setup(leader);
    await writer.sync();
    leader.value = true;
    await writer.sync();
    await writer.sync();
    assert.equal(planCpu.length, 2);
    for (const seconds of planCpu) assert.ok(Number.isFinite(seconds) && seconds >= 0, `${seconds}`);
  });

  it('a change is planned from what changed; gaining the Lease, a failed write and a failed plan plan everything again', async (t: TestContext) => {
    const advance = mockedTimers(t);
    const leader = { value: false };
    const faults = { write: false, plan: false };
    const { writer, wholes, namespaces, policies, writes } = setup(leader, { debounceMs: 100, resyncMs: 5000 }, faults);
    writer.start();
    await advance(100);
    assert.deepEqual(wholes, [], 'a replica without the Lease plans nothing');
    namespaces.push({ name: 'team-a', labels: { team: 'a' } });
    writer.changed();
    await advance(100);
    assert.deepEqual(wholes, []);
    leader.value = true;
    await advance(5000);
    await advance(100);
    assert.deepEqual(wholes, [true], 'gaining the Lease');
    namespaces.push({ name: 'team-b', labels: { team: 'b' } });
    writer.changed();
    await advance(100);
    assert.deepEqual(wholes, [true, false], 'a new namespace');
    faults.write = true;
    policies.push({ apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name: 'team-a', generation: 1 }, spec: { namespaceSelector: { matchLabels: { team: 'a' } } } });
    writer.changed();
    await advance(100);
    assert.deepEqual(wholes, [true, false, false], 'a new policy, and its status write fails');
    faults.write = false;
    await advance(5000);
    await advance(100);
    assert.deepEqual(wholes, [true, false, false, true], 'the retry after a failed write');
    assert.deepEqual(writes.map(([name]) => name).slice(-1), ['team-a']);
    faults.plan = true;
    writer.changed();
    await advance(100);
    faults.plan = false;
    await advance(5000);
    await advance(100);
    assert.deepEqual(wholes, [true, false, false, true, true], 'the plan after a failed plan');
    leader.value = false;
    await advance(5000);
    await advance(100);
    leader.value = true;
    await advance(5000);
    await advance(100);
    assert.deepEqual(wholes, [true, false, false, true, true, true], 'the Lease lost and gained again');
    await writer.stop();
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

  it('plans again after a change, a write that failed or a change of leader, not on every resync of a quiet cluster', async (t: TestContext) => {
    const advance = mockedTimers(t);
    const leader = { value: false };
    const { writer, writes, states } = setup(leader, { debounceMs: 100, resyncMs: 5000 });
    writer.start();
    await advance(100);
    assert.equal(states.length, 1, 'the first pass, at start');
    // A quiet cluster: 1,000 policies over 500 namespaces cost some 180 ms
    // of CPU per plan, so a plan every resync was
    // 3-4% of a core for nothing.
    for (let i = 0; i < 4; i++) await advance(5000);
    assert.equal(states.length, 1, 'no plan while nothing changed');
    writer.changed();
    await advance(100);
    assert.equal(states.length, 2, 'a change is planned');
    leader.value = true;
    await advance(5000);
    await advance(100);
    assert.equal(states.length, 3, 'gaining the Lease is planned at the next resync');
    assert.deepEqual(writes.map(([name]) => name), ['good', 'bad'], 'and written');
    await advance(5000);
    assert.equal(states.length, 3);
    await writer.stop();
  });

  it('retries a failed write at the next resync though nothing changed', async (t: TestContext) => {
    const advance = mockedTimers(t);
    const faults = { write: true, plan: false };
    const { writer, writes, states } = setup({ value: true }, { debounceMs: 100, resyncMs: 5000 }, faults);
    writer.start();
    await advance(100);
    assert.equal(writes.length, 0);
    faults.write = false;
    await advance(5000);
    await advance(100);
    assert.deepEqual(writes.map(([name]) => name), ['good', 'bad']);
    assert.equal(states.length, 2);
    await advance(5000);
    assert.equal(states.length, 2);
    await writer.stop();
  });

  it('plans again at the next resync after a plan that failed, though nothing changed', async (t: TestContext) => {
    const advance = mockedTimers(t);
    const faults = { write: false, plan: true };
    // A replica without the Lease: no change of leader to plan for either.
    const { writer, states } = setup({ value: false }, { debounceMs: 100, resyncMs: 5000 }, faults);
    writer.start();
    await advance(100);
    assert.equal(states.length, 0);
    faults.plan = false;
    await advance(5000);
    await advance(100);
    assert.deepEqual(states, [['accepted', 'invalid']]);
    await writer.stop();
  });

  it('a large plan shares the event loop: work queued when a pass starts runs before its plan ends, and the plan is the same', async () => {
    const leader = { value: true };
    // One slice per step (planSliceMs 0): the order below holds on any machine.
    const { writer, policies, namespaces, states, writes } = setup(leader, { planSliceMs: 0 });
    for (let i = 0; i < 300; i++) namespaces.push({ name: `team-${i}`, labels: { team: i % 2 ? 'a' : 'b' } });
    policies.push(
      { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name: 'team-a-floor', generation: 1 }, spec: { namespaceSelector: { matchLabels: { team: 'a' } }, bounds: { minTerminationGracePeriodSeconds: 600 } } },
      { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name: 'ceiling', generation: 1 }, spec: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, bounds: { maxTerminationGracePeriodSeconds: 300 } } },
    );
    const order: string[] = [];
    const pass = writer.sync().then(() => order.push('pass'));
    // A review's handler, to the event loop: work that arrives after the pass began.
    setImmediate(() => order.push(`review (plans so far: ${states.length})`));
    await pass;
    assert.deepEqual(order, ['review (plans so far: 0)', 'pass']);
    assert.deepEqual(states, [['accepted', 'invalid', 'conflicting', 'conflicting']]);
    assert.deepEqual(writes.map(([name]) => name), ['good', 'bad', 'team-a-floor', 'ceiling']);
  });

  it('a follower counts mcp_admission_policies{state} from its checks and the holder\'s written conditions, without a plan: the holder\'s values', async () => {
    const holder = setup({ value: true }, { planSliceMs: 0 });
    const { policies, namespaces } = holder;
    namespaces.push({ name: 'team-a', labels: { team: 'a' } }, { name: 'team-b', labels: { team: 'b' } });
    policies.push(
      { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name: 'team-a-floor', generation: 1 }, spec: { namespaceSelector: { matchLabels: { team: 'a' } }, bounds: { minTerminationGracePeriodSeconds: 600 } } },
      { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name: 'ceiling', generation: 1 }, spec: { bounds: { maxTerminationGracePeriodSeconds: 300 } } },
      { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name: 'team-b', generation: 1 }, spec: { namespaceSelector: { matchLabels: { team: 'b' } } } },
    );
    const follower = { states: [] as string[][], planCpu: [] as number[] };
    const followerWriter = new PolicyStatusWriter({
      api: { patchStatus: async () => assert.fail('a follower writes nothing'), createEvent: async () => assert.fail('a follower writes nothing') },
      snapshot: () => ({ policies, namespaces }),
      isLeader: () => false,
      ownNamespace: 'mcp-admission',
      logger: pino({ level: 'silent' }),
      instance: 'webhook-1',
      onStates: (states) => follower.states.push([...states]),
      onPlanCpu: (seconds) => follower.planCpu.push(seconds),
    });
    // The gauge as each replica's /metrics shows it.
    const gauge = async (states: readonly string[]): Promise<string> => {
      const metrics = createMetrics({ defaultMetrics: false });
      const counts: Partial<Record<PolicyState, number>> = {};
      for (const state of states as PolicyState[]) counts[state] = (counts[state] ?? 0) + 1;
      setPolicyCounts(metrics, counts);
      return metrics.registry.getSingleMetricAsString('mcp_admission_policies');
    };

    await holder.writer.sync();
    await followerWriter.sync();
    assert.deepEqual(holder.states.at(-1), ['accepted', 'invalid', 'conflicting', 'conflicting', 'accepted']);
    assert.deepEqual(follower.states.at(-1), holder.states.at(-1));
    assert.equal(await gauge(follower.states.at(-1)!), await gauge(holder.states.at(-1)!));
    assert.match(await gauge(follower.states.at(-1)!), /mcp_admission_policies\{state="conflicting"\} 2/);

    // team-a becomes team-b: the conflict is gone, and team-b's policy, with no bounds, conflicts with nothing.
    namespaces[1] = { name: 'team-a', labels: { team: 'b' } };
    await holder.writer.sync();
    await followerWriter.sync();
    assert.deepEqual(holder.states.at(-1), ['accepted', 'invalid', 'accepted', 'accepted', 'accepted']);
    assert.deepEqual(follower.states.at(-1), holder.states.at(-1));

    // A policy turns invalid: the follower's own check says so before any write.
    policies[4] = { ...policies[4]!, metadata: { name: 'team-b', generation: 2 }, spec: { defaults: { maxSurge: 0 } } };
    await followerWriter.sync();
    assert.deepEqual(follower.states.at(-1), ['accepted', 'invalid', 'accepted', 'accepted', 'invalid']);
    await holder.writer.sync();
    assert.deepEqual(holder.states.at(-1), follower.states.at(-1));

    assert.deepEqual(follower.planCpu, [], 'a follower makes no plan');
    assert.equal(holder.planCpu.length, 3);
  });
});

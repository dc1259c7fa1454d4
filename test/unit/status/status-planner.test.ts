/**
 * The status planner keeps each namespace's conflict between plans and
 * resolves again only what a change can affect; whatever it keeps, its
 * plan must be the full plan's (planPolicyStatus) after every change.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planPolicyStatus, type NamespaceInfo, type StoredPolicy } from '../../../src/status/policy-status.ts';
import { PolicyStatusPlanner } from '../../../src/status/status-planner.ts';

const OWN = 'mcp-admission';
const options = (now: Date) => ({ now, ownNamespace: OWN });

/** A seeded generator (mulberry32), so a failing sequence can be run again by its seed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const chance = (p: number) => next() < p;
  return { int, pick, chance };
}
type Random = ReturnType<typeof random>;

const NAMESPACES = ['tools', 'gold-tools', 'silver', 'team-b', 'team-c', 'edge', 'lab', 'default', 'kube-system', OWN];
const POLICIES = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'];
const LABELS: Record<string, readonly string[]> = { team: ['a', 'b', 'c'], tier: ['gold', 'silver'], env: ['prod', 'dev'] };

function labels(r: Random): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, values] of Object.entries(LABELS)) if (r.chance(0.6)) out[key] = r.pick(values);
  return out;
}

function selector(r: Random): object | undefined {
  const kind = r.int(6);
  if (kind === 0) return undefined; // cluster-wide
  if (kind === 1) return {}; // matches every namespace too
  if (kind === 2) return { matchLabels: { 'kubernetes.io/metadata.name': r.pick(NAMESPACES) } };
  if (kind === 3) {
    const key = r.pick(Object.keys(LABELS));
    return { matchExpressions: [{ key, operator: r.pick(['In', 'NotIn'] as const), values: [r.pick(LABELS[key]!)] }] };
  }
  if (kind === 4) return { matchExpressions: [{ key: r.pick(Object.keys(LABELS)), operator: r.pick(['Exists', 'DoesNotExist'] as const) }] };
  const matchLabels: Record<string, string> = {};
  for (const key of Object.keys(LABELS)) if (r.chance(0.5)) matchLabels[key] = r.pick(LABELS[key]!);
  return { matchLabels };
}

/** A spec that is often in conflict with another (crossing bounds, a sleep longer than the grace period) and sometimes invalid. */
function spec(r: Random): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const s = selector(r);
  if (s) out.namespaceSelector = s;
  if (r.chance(0.3)) out.exemptNamespaces = [r.pick(NAMESPACES)];
  if (r.chance(0.3)) out.mode = r.pick(['mutate', 'warn', 'enforce']);
  const bounds: Record<string, number> = {};
  if (r.chance(0.5)) bounds.minTerminationGracePeriodSeconds = r.pick([30, 300, 600, 900]);
  if (r.chance(0.5)) bounds.maxTerminationGracePeriodSeconds = r.pick([60, 120, 300, 1200]);
  if (Object.keys(bounds).length) out.bounds = bounds;
  const defaults: Record<string, unknown> = {};
  if (r.chance(0.3)) defaults.preStopSleepSeconds = r.pick([5, 200]);
  if (r.chance(0.3)) defaults.terminationGracePeriodSeconds = r.pick([30, 120]);
  // Invalid: maxSurge must leave room to roll.
  if (r.chance(0.1)) defaults.maxSurge = 0;
  if (Object.keys(defaults).length) out.defaults = defaults;
  return out;
}

/** The informers' caches as a model: objects are replaced on every change, never changed in place (but see the in-place status write). */
class Cluster {
  namespaces = new Map<string, Record<string, string>>();
  policies = new Map<string, StoredPolicy>();
  private uid = 0;

  snapshot(): { policies: StoredPolicy[]; namespaces: NamespaceInfo[] } {
    return { policies: [...this.policies.values()], namespaces: [...this.namespaces].map(([name, l]) => ({ name, labels: l })) };
  }

  putPolicy(name: string, spec: Record<string, unknown>): void {
    const before = this.policies.get(name);
    const generation = (before?.metadata?.generation ?? 0) + 1;
    this.policies.set(name, {
      apiVersion: 'mcp-admission.dev/v1alpha1',
      kind: 'MCPTransportPolicy',
      metadata: { name, generation, uid: before?.metadata?.uid ?? `u${this.uid++}` },
      spec,
      ...(before?.status !== undefined && { status: before.status }),
    });
  }
}

/** One random change to the cluster; returns what it was, for the failure message. */
function change(r: Random, cluster: Cluster, planned: Map<string, unknown>): string {
  const op = r.int(10);
  if (op <= 1) {
    const name = r.pick(NAMESPACES);
    cluster.namespaces.set(name, labels(r));
    return `namespace ${name} added or relabelled`;
  }
  if (op === 2) {
    const name = r.pick(NAMESPACES);
    cluster.namespaces.delete(name);
    return `namespace ${name} removed`;
  }
  if (op <= 4) {
    const name = r.pick(POLICIES);
    cluster.putPolicy(name, spec(r));
    return `policy ${name} added or changed`;
  }
  if (op === 5) {
    const name = r.pick(POLICIES);
    cluster.policies.delete(name);
    return `policy ${name} removed`;
  }
  if (op === 6) {
    // The status writer's write comes back as a new object, same spec and generation.
    for (const [name, object] of cluster.policies) if (planned.has(name) && r.chance(0.7)) cluster.policies.set(name, { ...object, status: planned.get(name) });
    return 'statuses written';
  }
  if (op === 7) {
    // Some callers (the writer's tests) set the status on the cached object itself.
    for (const [name, object] of cluster.policies) if (planned.has(name) && r.chance(0.5)) object.status = planned.get(name);
    return 'statuses set in place';
  }
  if (op === 8) {
    // A relist: the same objects, in another order.
    const shuffle = <T>(items: T[]) => items.map((item) => [r.int(1000), item] as const).sort((a, b) => a[0] - b[0]).map(([, item]) => item);
    cluster.namespaces = new Map(shuffle([...cluster.namespaces]));
    cluster.policies = new Map(shuffle([...cluster.policies]));
    return 'relisted in another order';
  }
  return 'nothing';
}

/** Plans the cluster as it is now and holds the plans to the full plan's; returns the planner's result. */
function planAgainstFull(planner: PolicyStatusPlanner, cluster: Cluster, now: Date): ReturnType<PolicyStatusPlanner['plan']> {
  const { policies, namespaces } = cluster.snapshot();
  const result = planner.plan(policies, namespaces, options(now));
  assert.deepEqual(result.plans, planPolicyStatus(policies, namespaces, options(now)));
  return result;
}

describe('PolicyStatusPlanner', () => {
  it('plans what the full plan does after every change, over random sequences of namespace and policy changes', () => {
    const states = new Map<string, number>();
    let resolvedIncrementally = 0;
    let resolvedFully = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const r = random(seed);
      const cluster = new Cluster();
      for (let i = 0; i < 6; i++) cluster.namespaces.set(r.pick(NAMESPACES), labels(r));
      for (let i = 0; i < 4; i++) cluster.putPolicy(r.pick(POLICIES), spec(r));
      const planner = new PolicyStatusPlanner();
      const planned = new Map<string, unknown>();
      let now = Date.parse('2026-11-24T09:30:00Z');
      const steps: string[] = [];
      for (let step = 0; step < 40; step++) {
        steps.push(change(r, cluster, planned));
        if (r.chance(0.05)) {
          planner.reset();
          steps.push('planner reset');
        }
        now += r.int(3) * 1000;
        const { policies, namespaces } = cluster.snapshot();
        const full = planPolicyStatus(policies, namespaces, options(new Date(now)));
        const { plans, resolved } = planner.plan(policies, namespaces, options(new Date(now)));
        assert.deepEqual(plans, full, `seed ${seed}, after: ${steps.join(', ')}`);
        resolvedIncrementally += resolved;
        resolvedFully += namespaces.filter((n) => n.name !== OWN && n.name !== 'kube-system').length;
        for (const plan of full) {
          planned.set(plan.name, plan.status);
          states.set(plan.state, (states.get(plan.state) ?? 0) + 1);
        }
      }
    }
    // The sequences reach every state, so the comparison is not of empty plans.
    for (const state of ['accepted', 'invalid', 'conflicting']) assert.ok((states.get(state) ?? 0) > 100, `${state}: ${states.get(state)}`);
    assert.ok(resolvedIncrementally < resolvedFully / 2, `resolved ${resolvedIncrementally} namespaces against the full plans' ${resolvedFully}`);
  });

  it('resolves only the namespace that was added, relabelled or removed', () => {
    const cluster = new Cluster();
    for (let i = 0; i < 50; i++) cluster.namespaces.set(`ns-${i}`, { team: i % 2 ? 'a' : 'b' });
    cluster.putPolicy('cluster-default', { mode: 'mutate' });
    cluster.putPolicy('team-a-floor', { namespaceSelector: { matchLabels: { team: 'a' } }, bounds: { minTerminationGracePeriodSeconds: 600 } });
    cluster.putPolicy('gold-ceiling', { namespaceSelector: { matchLabels: { tier: 'gold' } }, bounds: { maxTerminationGracePeriodSeconds: 300 } });
    const planner = new PolicyStatusPlanner();
    const now = new Date('2026-11-24T09:30:00Z');
    const plan = () => planAgainstFull(planner, cluster, now);
    assert.equal(plan().resolved, 50, 'the first plan resolves every namespace');
    assert.equal(plan().resolved, 0, 'nothing changed, nothing resolved');
    cluster.namespaces.set('gold', { team: 'a', tier: 'gold' });
    const added = plan();
    assert.equal(added.resolved, 1);
    assert.equal(added.plans.find((p) => p.name === 'gold-ceiling')!.state, 'conflicting');
    cluster.namespaces.set('ns-3', { team: 'a', tier: 'gold' });
    assert.equal(plan().resolved, 1, 'relabelled');
    cluster.namespaces.set('ns-3', { team: 'a', tier: 'gold' });
    assert.equal(plan().resolved, 0, 'the same labels in a new object');
    cluster.namespaces.delete('gold');
    cluster.namespaces.delete('ns-3');
    const removed = plan();
    assert.equal(removed.resolved, 0, 'a removed namespace is only forgotten');
    assert.equal(removed.plans.find((p) => p.name === 'gold-ceiling')!.state, 'accepted');
  });

  it('resolves again only the namespaces a changed policy selects, selected before or now, or exempts', () => {
    const cluster = new Cluster();
    for (let i = 0; i < 50; i++) cluster.namespaces.set(`ns-${i}`, { team: ['a', 'b', 'c'][i % 3]! });
    cluster.putPolicy('team-a', { namespaceSelector: { matchLabels: { team: 'a' } }, bounds: { minTerminationGracePeriodSeconds: 600 } });
    const planner = new PolicyStatusPlanner();
    const now = new Date('2026-11-24T09:30:00Z');
    const plan = () => planAgainstFull(planner, cluster, now).resolved;
    assert.equal(plan(), 50);
    cluster.putPolicy('team-b-cap', { namespaceSelector: { matchLabels: { team: 'b' } }, bounds: { maxTerminationGracePeriodSeconds: 300 } });
    assert.equal(plan(), 17, 'a new policy: the team-b namespaces');
    cluster.putPolicy('team-b-cap', { namespaceSelector: { matchLabels: { team: 'c' } }, bounds: { maxTerminationGracePeriodSeconds: 300 } });
    assert.equal(plan(), 17 + 16, 'moved from team b to team c: both');
    cluster.putPolicy('team-b-cap', { namespaceSelector: { matchLabels: { team: 'c' } }, bounds: { maxTerminationGracePeriodSeconds: 300 }, exemptNamespaces: ['ns-0'] });
    assert.equal(plan(), 16 + 1, 'an exemption: the namespace it names too');
    const object = cluster.policies.get('team-b-cap')!;
    cluster.policies.set('team-b-cap', { ...object, status: { observedGeneration: 3, conditions: [] } });
    assert.equal(plan(), 0, 'a status write changes no spec');
    cluster.policies.delete('team-b-cap');
    assert.equal(plan(), 17, 'removed: what it selected and exempted');
    cluster.putPolicy('everywhere', { bounds: { maxTerminationGracePeriodSeconds: 300 } });
    assert.equal(plan(), 50, 'a cluster-wide policy affects every namespace');
  });

  it('after reset() resolves every namespace again', () => {
    const cluster = new Cluster();
    for (let i = 0; i < 5; i++) cluster.namespaces.set(`ns-${i}`, {});
    cluster.putPolicy('p', {});
    const planner = new PolicyStatusPlanner();
    const now = new Date('2026-11-24T09:30:00Z');
    const { policies, namespaces } = cluster.snapshot();
    assert.equal(planner.plan(policies, namespaces, options(now)).resolved, 5);
    assert.equal(planner.plan(policies, namespaces, options(now)).resolved, 0);
    planner.reset();
    assert.equal(planner.plan(policies, namespaces, options(now)).resolved, 5);
  });

  it('plans in slices what it plans in one run, over random sequences, pausing between steps', async () => {
    let pauses = 0;
    // A clock that moves 1 ms per reading: with sliceMs 1, every step ends a slice.
    let tick = 0;
    const slicing = { sliceMs: 1, clock: () => tick++, pause: async () => void pauses++ };
    for (let seed = 1; seed <= 40; seed++) {
      const r = random(seed);
      const cluster = new Cluster();
      for (let i = 0; i < 6; i++) cluster.namespaces.set(r.pick(NAMESPACES), labels(r));
      for (let i = 0; i < 4; i++) cluster.putPolicy(r.pick(POLICIES), spec(r));
      const [whole, sliced] = [new PolicyStatusPlanner(), new PolicyStatusPlanner()];
      const planned = new Map<string, unknown>();
      const now = new Date('2026-11-24T09:30:00Z');
      const steps: string[] = [];
      for (let step = 0; step < 20; step++) {
        steps.push(change(r, cluster, planned));
        const { policies, namespaces } = cluster.snapshot();
        const one = whole.plan(policies, namespaces, options(now));
        const { slices, ...inSlices } = await sliced.planInSlices(policies, namespaces, options(now), slicing);
        assert.deepEqual(inSlices, one, `seed ${seed}, after: ${steps.join(', ')}`);
        assert.deepEqual(one.plans, planPolicyStatus(policies, namespaces, options(now)));
        assert.ok(slices >= policies.length, `seed ${seed}: ${slices} slices for ${policies.length} policies`);
        for (const plan of one.plans) planned.set(plan.name, plan.status);
      }
    }
    assert.ok(pauses > 0);
  });

  it('a plan in slices lets the event loop run between them: work queued when it starts runs before it ends', async () => {
    const cluster = new Cluster();
    for (let i = 0; i < 200; i++) cluster.namespaces.set(`ns-${i}`, { team: ['a', 'b'][i % 2]! });
    cluster.putPolicy('cluster-default', { mode: 'mutate' });
    cluster.putPolicy('team-a-floor', { namespaceSelector: { matchLabels: { team: 'a' } }, bounds: { minTerminationGracePeriodSeconds: 600 } });
    cluster.putPolicy('ceiling', { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, bounds: { maxTerminationGracePeriodSeconds: 300 } });
    const { policies, namespaces } = cluster.snapshot();
    const now = new Date('2026-11-24T09:30:00Z');
    const order: string[] = [];
    // One slice per namespace, however fast this machine resolves one.
    let tick = 0;
    const slicing = { sliceMs: 1, clock: () => tick++, pause: () => new Promise<void>((resolve) => setImmediate(resolve)) };

    const sliced = new PolicyStatusPlanner().planInSlices(policies, namespaces, options(now), slicing).then((result) => {
      order.push('plan');
      return result;
    });
    // What a review's request handler is to the event loop: I/O answered in a later turn.
    setImmediate(() => order.push('review'));
    const result = await sliced;
    assert.deepEqual(order, ['review', 'plan']);
    assert.equal(result.resolved, 200);
    assert.ok(result.slices > 200, `${result.slices} slices`);
    assert.deepEqual(result.plans, planPolicyStatus(policies, namespaces, options(now)));
    assert.equal(result.plans.find((p) => p.name === 'team-a-floor')!.state, 'conflicting');

    // In one run, the same work waits for the whole plan.
    order.length = 0;
    setImmediate(() => order.push('review'));
    new PolicyStatusPlanner().plan(policies, namespaces, options(now));
    order.push('plan');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ['plan', 'review']);
  });
});

/**
 * LeaderElector against an in-memory Lease with the API server's
 * optimistic concurrency, and a clock the test moves.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Lease } from '@kubernetes/client-node';
import { LeaderElector, leaseTimings, type LeaseApi } from '../../../src/kubernetes/leader-election.ts';

class MemoryLease implements LeaseApi {
  lease: V1Lease | undefined;
  writes = 0;
  /** Calls by kind, to count what a renewal costs the API server. */
  calls = { read: 0, create: 0, replace: 0 };
  private version = 0;
  async read() {
    this.calls.read++;
    return this.lease && structuredClone(this.lease);
  }
  async create(lease: V1Lease) {
    this.calls.create++;
    if (this.lease) throw Object.assign(new Error('exists'), { code: 409 });
    return this.store(lease);
  }
  async replace(lease: V1Lease) {
    this.calls.replace++;
    // A replace of a Lease that is gone is a 404, as the API server answers it.
    if (!this.lease) throw Object.assign(new Error('not found'), { code: 404 });
    if (lease.metadata?.resourceVersion !== this.lease.metadata?.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
    return this.store(lease);
  }
  /** Another writer's change, as the API server stores it (a new resourceVersion). */
  write(change: (lease: V1Lease) => V1Lease): void {
    this.store(change(structuredClone(this.lease as V1Lease)));
  }
  private store(lease: V1Lease): V1Lease {
    this.writes++;
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.version) } };
    // The caller gets its own copy, as from a response body.
    return structuredClone(this.lease);
  }
}

function candidate(api: LeaseApi, identity: string, clock: () => number, events: string[] = []): LeaderElector {
  return new LeaderElector({
    api,
    name: 'l',
    namespace: 'ns',
    identity,
    ...leaseTimings(15_000),
    microTime: (d) => d,
    now: clock,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
    onNewLeader: (holder) => events.push(`leader ${holder}`),
    onError: (err) => events.push(`error ${(err as { code?: number }).code}`),
  });
}

describe('LeaderElector', () => {
  it('of two candidates racing, exactly one leads; the other waits out the lease, then takes over', async () => {
    let t = 1_000_000;
    const clock = (): number => t;
    const api = new MemoryLease();
    const [a, b] = [candidate(api, 'a', clock), candidate(api, 'b', clock)];
    const [ra, rb] = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    assert.equal(Number(ra) + Number(rb), 1);
    const [leader, other] = ra ? [a, b] : [b, a];
    assert.equal(api.lease?.spec?.holderIdentity, ra ? 'a' : 'b');
    // The holder renews; the other keeps seeing a fresh record.
    for (let i = 0; i < 10; i++) {
      t += 2000;
      assert.equal(await leader.tryAcquireOrRenew(), true);
      assert.equal(await other.tryAcquireOrRenew(), false);
    }
    // The holder stops renewing (it died): after the lease duration as the
    // other saw it, and not before, the other takes over.
    t += 14_000;
    assert.equal(await other.tryAcquireOrRenew(), false);
    t += 1_500;
    assert.equal(await other.tryAcquireOrRenew(), true);
    assert.equal(api.lease?.spec?.leaseTransitions, 1);
    // The old holder, back, counts itself out once its renew deadline passed.
    assert.equal(leader.isLeader(), false);
    assert.equal(await leader.tryAcquireOrRenew(), false);
  });

  it('a holder that stops releases the Lease, and the next candidate takes it at once', async () => {
    let t = 1_000_000;
    const clock = (): number => t;
    const api = new MemoryLease();
    const [a, b] = [candidate(api, 'a', clock), candidate(api, 'b', clock)];
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(await b.tryAcquireOrRenew(), false);
    await a.stop();
    assert.equal(api.lease?.spec?.holderIdentity, '');
    t += 100;
    assert.equal(await b.tryAcquireOrRenew(), true);
  });

  it('a holder whose renewals fail stops counting itself leader after the renew deadline', async () => {
    let t = 1_000_000;
    const clock = (): number => t;
    const api = new MemoryLease();
    const a = candidate(api, 'a', clock);
    assert.equal(await a.tryAcquireOrRenew(), true);
    const unavailable = async (): Promise<never> => {
      throw Object.assign(new Error('unavailable'), { code: 503 });
    };
    api.read = unavailable;
    api.replace = unavailable;
    t += 9_000;
    assert.equal(await a.tryAcquireOrRenew(), true);
    t += 1_000;
    assert.equal(await a.tryAcquireOrRenew(), false);
    assert.equal(a.isLeader(), false);
  });

  it('a holder renews with one update carrying the resourceVersion it last wrote, and no read', async () => {
    let t = 1_000_000;
    const api = new MemoryLease();
    const a = candidate(api, 'a', () => t);
    assert.equal(await a.tryAcquireOrRenew(), true);
    const before = { ...api.calls };
    for (let i = 0; i < 5; i++) {
      t += 2000;
      assert.equal(await a.tryAcquireOrRenew(), true);
    }
    assert.deepEqual({ read: api.calls.read - before.read, replace: api.calls.replace - before.replace, create: api.calls.create - before.create }, { read: 0, replace: 5, create: 0 });
    assert.equal(api.lease?.spec?.holderIdentity, 'a');
    assert.equal(new Date(api.lease?.spec?.renewTime as Date).getTime(), t);
    assert.equal(api.lease?.spec?.leaseTransitions, 0);
  });

  it('a holder whose Lease another candidate took between renewals sees the conflict, reads, and stops leading', async () => {
    let t = 1_000_000;
    const api = new MemoryLease();
    const events: string[] = [];
    const a = candidate(api, 'a', () => t, events);
    assert.equal(await a.tryAcquireOrRenew(), true);
    t += 2000;
    api.write((lease) => ({ ...lease, spec: { ...lease.spec, holderIdentity: 'b', renewTime: new Date(t), acquireTime: new Date(t), leaseTransitions: 1 } }));
    t += 10;
    assert.equal(await a.tryAcquireOrRenew(), false);
    assert.equal(a.isLeader(), false);
    assert.equal(api.lease?.spec?.holderIdentity, 'b');
    // A conflict is another candidate's win: no error, one read to learn who.
    assert.deepEqual(events, ['leader a', 'started', 'leader b', 'stopped']);
    assert.equal(api.calls.read, 2);
    // It now waits out b's lease as a candidate, reading each round.
    t += 2000;
    assert.equal(await a.tryAcquireOrRenew(), false);
    assert.equal(api.lease?.spec?.holderIdentity, 'b');
  });

  it('a holder whose Lease was deleted creates it again at its next renewal and keeps leading', async () => {
    let t = 1_000_000;
    const api = new MemoryLease();
    const events: string[] = [];
    const a = candidate(api, 'a', () => t, events);
    assert.equal(await a.tryAcquireOrRenew(), true);
    api.lease = undefined;
    t += 2000;
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal((api.lease as V1Lease | undefined)?.spec?.holderIdentity, 'a');
    assert.equal(a.isLeader(), true);
    assert.deepEqual(events, ['leader a', 'started']);
    // And renews the new object without reading.
    const reads = api.calls.read;
    t += 2000;
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(api.calls.read, reads);
  });

  it('a 409 on renewal from a change that kept the holder (another writer touched the Lease) costs one read, and the holder renews', async () => {
    let t = 1_000_000;
    const api = new MemoryLease();
    const events: string[] = [];
    const a = candidate(api, 'a', () => t, events);
    assert.equal(await a.tryAcquireOrRenew(), true);
    api.write((lease) => ({ ...lease, metadata: { ...lease.metadata, labels: { touched: 'yes' } } }));
    t += 2000;
    const before = { ...api.calls };
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.deepEqual({ read: api.calls.read - before.read, replace: api.calls.replace - before.replace }, { read: 1, replace: 2 });
    assert.equal(api.lease?.metadata?.labels?.touched, 'yes');
    assert.equal(new Date(api.lease?.spec?.renewTime as Date).getTime(), t);
    assert.deepEqual(events, ['leader a', 'started']);
  });

  it('a 409 on every write keeps a holder leading only until its renew deadline, without an error', async () => {
    let t = 1_000_000;
    const api = new MemoryLease();
    const events: string[] = [];
    const a = candidate(api, 'a', () => t, events);
    assert.equal(await a.tryAcquireOrRenew(), true);
    api.replace = async () => {
      api.calls.replace++;
      throw Object.assign(new Error('conflict'), { code: 409 });
    };
    t += 9_000;
    assert.equal(await a.tryAcquireOrRenew(), true);
    t += 1_000;
    assert.equal(await a.tryAcquireOrRenew(), false);
    assert.deepEqual(events, ['leader a', 'started', 'stopped']);
  });
});

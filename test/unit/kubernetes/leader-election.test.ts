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
  private version = 0;
  async read() {
    return this.lease && structuredClone(this.lease);
  }
  async create(lease: V1Lease) {
    if (this.lease) throw Object.assign(new Error('exists'), { code: 409 });
    return this.store(lease);
  }
  async replace(lease: V1Lease) {
    if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
    return this.store(lease);
  }
  private store(lease: V1Lease): V1Lease {
    this.writes++;
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.version) } };
    return this.lease;
  }
}

function candidate(api: LeaseApi, identity: string, clock: () => number): LeaderElector {
  return new LeaderElector({ api, name: 'l', namespace: 'ns', identity, ...leaseTimings(15_000), microTime: (d) => d, now: clock });
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
    api.read = async () => {
      throw Object.assign(new Error('unavailable'), { code: 503 });
    };
    t += 9_000;
    assert.equal(await a.tryAcquireOrRenew(), true);
    t += 1_000;
    assert.equal(await a.tryAcquireOrRenew(), false);
    assert.equal(a.isLeader(), false);
  });
});

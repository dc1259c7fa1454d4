/**
 * The in-flight byte budget (issue 11 row 3): big bodies wait their turn,
 * first come first served, and every share comes back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteBudget } from '../../../src/server/body-budget.ts';

const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
};

describe('ByteBudget', () => {
  it('grants while there is room, then queues', async () => {
    const budget = new ByteBudget(10);
    const a = budget.acquire(6);
    const b = budget.acquire(6);
    assert.equal(await settled(a.granted), true);
    assert.equal(await settled(b.granted), false);
    assert.equal(budget.inUse, 6);
    assert.equal(budget.queued, 1);
    a.release();
    assert.equal(await settled(b.granted), true);
    b.release();
    assert.equal(budget.inUse, 0);
  });

  it('first come first served: a small request does not overtake a queued big one', async () => {
    const budget = new ByteBudget(10);
    const a = budget.acquire(6);
    const big = budget.acquire(10);
    const small = budget.acquire(1);
    assert.equal(await settled(small.granted), false, 'would starve the big one');
    a.release();
    assert.equal(await settled(big.granted), true);
    assert.equal(await settled(small.granted), false);
    big.release();
    assert.equal(await settled(small.granted), true);
    small.release();
    assert.equal(budget.inUse, 0);
  });

  it('a request that leaves the queue (its client went away) lets the next one in, and releasing twice is harmless', async () => {
    const budget = new ByteBudget(10);
    const a = budget.acquire(8);
    const gone = budget.acquire(8);
    const next = budget.acquire(2);
    gone.release();
    assert.equal(await settled(next.granted), true);
    a.release();
    a.release();
    next.release();
    assert.equal(budget.inUse, 0);
    assert.equal(budget.queued, 0);
  });

  it('more than the capacity is granted as the whole capacity, never forever queued', async () => {
    const budget = new ByteBudget(10);
    const huge = budget.acquire(1_000);
    assert.equal(await settled(huge.granted), true);
    assert.equal(budget.inUse, 10);
    huge.release();
    assert.equal(budget.inUse, 0);
  });
});

/**
 * A `probe --once` pass under a deadline, fair across namespaces (issue 11,
 * row 7): 216 slow Services listed first no longer starve the others; what
 * a pass does not reach is reported, and the next pass starts with it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ClusterProber } from '../../../src/prober/cluster-prober.ts';
import type { DetectionResult } from '../../../src/prober/detect.ts';
import { fairPassOrder } from '../../../src/prober/pass-order.ts';
import type { PassState } from '../../../src/prober/pass-state.ts';
import { FakeCluster, service, serviceAtAddress } from '../../support/fake-cluster.ts';

const HTTP: DetectionResult = { protocol: 'streamable-http', protocolVersion: '2025-11-25', endpoint: '', authRequired: false, reason: 'Streamable HTTP', latencyMs: 1 };

/** 216 slow Services in `aaa-slow` (listed first), one fast one in each of 20 other namespaces. */
function crowdedCluster(): FakeCluster {
  const api = new FakeCluster();
  for (let i = 0; i < 216; i++) api.add(service('aaa-slow', `slow-${String(i).padStart(3, '0')}`));
  for (let i = 0; i < 20; i++) api.add(service(`team-${i}`, 'fast'));
  return api;
}

/**
 * A clock of the test's own: slow probes take 40 ms of it, fast ones 1 ms,
 * so the deadline and the order are the prober's doing, not the machine's
 * load. Records the order Services were probed in, and when each began.
 */
function virtualTime() {
  let ms = 0;
  return { now: () => ms, advance: (by: number) => (ms += by) };
}

function timedDetect(clock: ReturnType<typeof virtualTime>, probed: string[], at: number[] = []) {
  return async (url: string): Promise<DetectionResult> => {
    const name = serviceAtAddress(new URL(url).hostname) ?? '?';
    if (new URL(url).pathname === '/mcp') {
      probed.push(name);
      at.push(clock.now());
    }
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(name.startsWith('slow') ? 40 : 1);
    return { ...HTTP, endpoint: url };
  };
}

function memoryState(): PassState & { saved: string[] } {
  const state = {
    saved: [] as string[],
    load: async () => [...state.saved],
    save: async (keys: readonly string[]) => {
      state.saved = [...keys];
    },
  };
  return state;
}

const PASS_BUDGET_MS = 600;
const CONCURRENCY = 4;

function prober(api: FakeCluster, probed: string[], passState: PassState, at: number[] = []) {
  const clock = virtualTime();
  return new ClusterProber({
    api,
    detect: timedDetect(clock, probed, at),
    now: clock.now,
    clock: () => new Date(0),
    logger: pino({ level: 'silent' }),
    sleep: async () => {},
    concurrency: CONCURRENCY,
    passBudgetMs: PASS_BUDGET_MS,
    passState,
  });
}

describe('a prober pass under a deadline', () => {
  it('reaches every namespace even when one is full of slow servers listed first', async () => {
    const api = crowdedCluster();
    const probed: string[] = [];
    const at: number[] = [];
    const summary = await prober(api, probed, memoryState(), at).probeAll();
    const fastAt = probed.flatMap((name, i) => (name === 'fast' ? [i] : []));
    assert.equal(fastAt.length, 20, `fast Services probed: ${fastAt.length} of 20 (order: ${probed.slice(0, 30).join(' ')})`);
    // A CronJob pass killed at its deadline loses what was not started: the
    // fast ones must not wait behind the slow namespace. One Service per
    // namespace in turn puts all 20 within the first round of 21 namespaces.
    assert.ok(Math.max(...fastAt) < 21, `last fast Service was probe number ${Math.max(...fastAt) + 1} (order: ${probed.slice(0, 30).join(' ')})`);
    assert.ok(summary.unreached.length > 0, 'the slow namespace did not fit in the budget');
    assert.equal(summary.services.length + summary.unreached.length, 236);
  });

  it('reports what it did not reach, and the next pass starts with it', async () => {
    const api = crowdedCluster();
    const state = memoryState();
    const first = await prober(api, [], state).probeAll();
    assert.deepEqual(state.saved, first.unreached.map((s) => `${s.namespace}/${s.name}`));
    const probed: string[] = [];
    await prober(api, probed, state).probeAll();
    const carried = new Set(first.unreached.map((s) => s.name));
    const firstSlow = probed.filter((name) => name.startsWith('slow')).slice(0, 10);
    assert.ok(firstSlow.every((name) => carried.has(name)), `second pass began with ${firstSlow.join(' ')}`);
  });

  it('stops starting probes at the deadline: none begins after it, and the slow namespace is cut short', async () => {
    const api = crowdedCluster();
    const probed: string[] = [];
    const at: number[] = [];
    const summary = await prober(api, probed, memoryState(), at).probeAll();
    assert.ok(Math.max(...at) < PASS_BUDGET_MS, `a probe began at ${Math.max(...at)} ms of a ${PASS_BUDGET_MS} ms budget`);
    // 216 slow probes at 40 ms, 4 at a time, need 2,160 ms: the budget fits
    // about a quarter of them, plus the ones already in flight.
    const slowProbed = probed.filter((name) => name.startsWith('slow')).length;
    assert.ok(slowProbed <= PASS_BUDGET_MS / 40 + CONCURRENCY, `${slowProbed} slow Services probed`);
    assert.equal(summary.unreached.length, 236 - probed.length);
  });
});

describe('fairPassOrder', () => {
  it('takes one Service per namespace in turn, carried-over first, then never probed, then by name', () => {
    const s = (ns: string, name: string, probed = false) =>
      service(ns, name, {}, probed ? { 'mcp-admission.dev/transport-status': JSON.stringify({ protocol: 'sse', detectedAt: 'x', reason: 'r' }) } : {});
    const order = fairPassOrder(
      [s('a', 'a1', true), s('a', 'a2', true), s('a', 'a3'), s('a', 'a4', true), s('b', 'b1', true), s('c', 'c1')],
      new Set(['a/a4']),
    ).map((x) => x.metadata!.name);
    assert.deepEqual(order, ['a4', 'b1', 'c1', 'a3', 'a1', 'a2']);
  });
});

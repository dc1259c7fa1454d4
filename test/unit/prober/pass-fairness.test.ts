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

/** Slow ones take 40 ms, fast ones 1 ms; records the order Services were probed in, and when. */
function timedDetect(probed: string[], at: number[] = []) {
  const started = performance.now();
  return async (url: string): Promise<DetectionResult> => {
    const name = serviceAtAddress(new URL(url).hostname) ?? '?';
    if (new URL(url).pathname === '/mcp') {
      probed.push(name);
      at.push(performance.now() - started);
    }
    await new Promise((resolve) => setTimeout(resolve, name.startsWith('slow') ? 40 : 1));
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

function prober(api: FakeCluster, probed: string[], passState: PassState, at: number[] = []) {
  return new ClusterProber({
    api,
    detect: timedDetect(probed, at),
    clock: () => new Date(0),
    logger: pino({ level: 'silent' }),
    sleep: async () => {},
    concurrency: 4,
    passBudgetMs: 600,
    passState,
  });
}

describe('a prober pass under a deadline', () => {
  it('reaches every namespace even when one is full of slow servers listed first', async () => {
    const api = crowdedCluster();
    const probed: string[] = [];
    const at: number[] = [];
    const summary = await prober(api, probed, memoryState(), at).probeAll();
    const fastAt = probed.flatMap((name, i) => (name === 'fast' ? [at[i]!] : []));
    assert.equal(fastAt.length, 20, `fast Services probed: ${fastAt.length} of 20 (order: ${probed.slice(0, 30).join(' ')})`);
    // A CronJob pass killed at its deadline loses what was not started: the
    // fast ones must not wait behind the slow namespace.
    assert.ok(Math.max(...fastAt) < 300, `last fast Service probed after ${Math.round(Math.max(...fastAt))} ms`);
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

  it('stops starting probes at the deadline: the pass ends within its budget plus one probe', async () => {
    const api = crowdedCluster();
    const started = performance.now();
    await prober(api, [], memoryState()).probeAll();
    const took = performance.now() - started;
    assert.ok(took < 600 + 400, `pass took ${Math.round(took)} ms`);
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

/** bench/lib/stats.ts: the bootstrap intervals that judge the latency ratios against their targets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addedRatio, bootstrapInterval, judge, judgeNetOfIdle, seededRandom } from '../../../bench/lib/stats.ts';

/** n latencies: `base` ms plus an exponential tail of mean 0.5 ms, plus `added`. */
function latencies(random: () => number, n: number, added: number, base = 2): number[] {
  return Array.from({ length: n }, () => base + added - 0.5 * Math.log(1 - random()));
}

test('the added-latency ratio at p50 is what the subject adds over none against what the reference adds', () => {
  const none = Float64Array.from([1, 2, 3]);
  const floor = Float64Array.from([3, 4, 5]);
  const serve = Float64Array.from([4, 5, 6]);
  assert.equal(addedRatio(50)([none, floor, serve]), 1.5);
});

test('over repeated runs the 95% interval holds the true ratio about 95% of the time', () => {
  // The true ratio: serve adds 3.0 ms at every percentile, the floor 2.5.
  const truth = 3.0 / 2.5;
  const random = seededRandom(7);
  const trials = 200;
  let covered = 0;
  for (let t = 0; t < trials; t++) {
    const run = [latencies(random, 200, 0), latencies(random, 200, 2.5), latencies(random, 200, 3.0)];
    const { low, high } = bootstrapInterval([run], addedRatio(50), { iterations: 400, seed: t + 1 });
    if (low <= truth && truth <= high) covered++;
  }
  const coverage = covered / trials;
  assert.ok(coverage >= 0.88 && coverage <= 0.99, `coverage ${coverage}`);
});

test('drawing runs as well as samples carries the spread between runs into the interval', () => {
  const random = seededRandom(11);
  // Two runs of the same code that disagree: serve's ratio 1.0 in one, 1.4 in the other.
  const a = [latencies(random, 400, 0), latencies(random, 400, 2.5), latencies(random, 400, 2.5)];
  const b = [latencies(random, 400, 0), latencies(random, 400, 2.5), latencies(random, 400, 3.5)];
  const alone = bootstrapInterval([a], addedRatio(50));
  const pooled = bootstrapInterval([a, b], addedRatio(50));
  assert.ok(alone.high < 1.2, `run a alone: ${alone.low}–${alone.high}`);
  assert.ok(pooled.low < 1.1 && pooled.high > 1.3, `pooled: ${pooled.low}–${pooled.high}`);
});

test('the same samples and seed give the same interval', () => {
  const random = seededRandom(3);
  const run = [latencies(random, 100, 0), latencies(random, 100, 1), latencies(random, 100, 1.2)];
  assert.deepEqual(bootstrapInterval([run], addedRatio(90), { seed: 5 }), bootstrapInterval([run], addedRatio(90), { seed: 5 }));
});

test('a ratio is met only when its whole interval is under the target, missed only when all of it is over', () => {
  assert.equal(judge({ low: 0.9, high: 1.1 }, 1.15), 'met');
  assert.equal(judge({ low: 1.2, high: 1.4 }, 1.15), 'MISSED');
  assert.equal(judge({ low: 1.05, high: 1.25 }, 1.15), 'undecided');
  assert.equal(judge({ low: NaN, high: NaN }, 1.15), 'undecided');
});

test('a CPU ratio net of idle is judged only when both nets are above zero', () => {
  assert.equal(judgeNetOfIdle(0.5, 0.4, 1.3), 'met');
  assert.equal(judgeNetOfIdle(0.8, 0.4, 1.3), 'MISSED');
  // serve burned less in the window than idle over the same time: the idle
  // baseline did not hold, and -0.36 is no ratio to meet a target with.
  assert.match(judgeNetOfIdle(-0.1, 0.28, 1.3), /^not judged/);
  assert.match(judgeNetOfIdle(0.3, 0, 1.3), /^not judged/);
});

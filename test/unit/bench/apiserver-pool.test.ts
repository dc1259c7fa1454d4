/** bench/lib/apiserver-pool.ts: several bench:apiserver runs judged together. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { poolReport } from '../../../bench/lib/apiserver-pool.ts';
import { readSamples, type ApiserverSamples, type ConfigurationSamples } from '../../../bench/lib/apiserver-samples.ts';
import { seededRandom } from '../../../bench/lib/stats.ts';

/** A configuration's window: `n` latencies of 2 ms plus an exponential tail plus `added`, and CPU per operation `cpuMs`. */
function window(random: () => number, added: number, cpuMs: number, process?: string, rssMb = process === 'serve' ? 100 : 80): ConfigurationSamples {
  const latencies = Array.from({ length: 400 }, () => 2 + added - 0.5 * Math.log(1 - random()));
  return { latencies, seconds: 2, cpuSeconds: process ? { [process]: (cpuMs * latencies.length) / 1000 } : {}, rssSteadyMb: process ? { [process]: rssMb } : {} };
}

function run(seed: number, serveAdded: number, commit = 'abc1234', serveRssMb?: number): ApiserverSamples {
  const random = seededRandom(seed);
  return {
    format: 1,
    started: '2026-11-24T21:00:00.000Z',
    commit,
    machine: '2 CPUs',
    phases: [
      {
        key: 'c1',
        title: 'back-to-back C=1',
        paced: false,
        configurations: {
          none: window(random, 0, 0),
          floor: window(random, 2.5, 0.6, 'floor'),
          'blocks-floor': window(random, 2.5, 0.9, 'blocksFloor'),
          'mcp-admission': window(random, serveAdded, 1.2, 'serve', serveRssMb),
        },
      },
    ],
  };
}

test('runs that agree under the target pool to met, with each run beside the pooled ratio', () => {
  const report = poolReport([
    { file: 'a.json', samples: run(1, 2.5) },
    { file: 'b.json', samples: run(2, 2.5) },
  ]);
  assert.match(report, /2 runs pooled/);
  assert.match(report, /back-to-back C=1: serve added \/ floor added at p50, pooled [\d.]+ \[[\d.]+–[\d.]+\] \(target ≤ 1\.15\): met/);
  assert.match(report, /CPU per operation serve\/floor, median of 2 runs 2\.00 \(target ≤ 1\.3\): MISSED in every run/);
  assert.match(report, /\| 1\.33, 1\.33 \(median 1\.33\) \|/, 'serve/blocks CPU per run');
  assert.doesNotMatch(report, /different code/);
});

test('runs that disagree across the target pool to undecided, though each alone looks decided', () => {
  const report = poolReport([
    { file: 'a.json', samples: run(3, 2.5) },
    { file: 'b.json', samples: run(4, 3.5) },
  ]);
  assert.match(report, /at p50, pooled [\d.]+ \[[\d.]+–[\d.]+\] \(target ≤ 1\.15\): undecided/);
});

test('steady RSS is judged per run as CPU is: met in every run, in some runs, or MISSED in every run', () => {
  // The floor holds 80 MB in every run: 100 MB is 1.25x, 108 MB 1.35x (target 1.3).
  const verdictOf = (...rss: number[]) => {
    const report = poolReport(rss.map((mb, i) => ({ file: `${i}.json`, samples: run(10 + i, 2.5, 'abc1234', mb) })));
    return /back-to-back C=1: steady RSS serve\/floor, median of \d+ runs [\d.]+ \(target ≤ 1\.3\): (.+)/.exec(report)?.[1];
  };
  assert.equal(verdictOf(100, 100), 'met in every run');
  assert.equal(verdictOf(100, 108, 100), 'met in some runs');
  assert.equal(verdictOf(108, 108), 'MISSED in every run');
});

test('pooling runs of different code says so', () => {
  const report = poolReport([
    { file: 'a.json', samples: run(5, 2.5, 'abc1234') },
    { file: 'b.json', samples: run(6, 2.5, 'def5678') },
  ]);
  assert.match(report, /different code \(abc1234, def5678\)/);
});

test('a file that is not a samples file is refused by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pool-'));
  try {
    const file = join(dir, 'apiserver.md.json');
    writeFileSync(file, JSON.stringify({ hello: 1 }));
    assert.throws(() => readSamples(file), new RegExp(`${file}: not a bench:apiserver samples file`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

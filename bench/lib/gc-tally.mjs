/**
 * Preloaded into a webhook process (`--import ./bench/lib/gc-tally.mjs`,
 * e.g. through `BENCH_SERVE_NODE_ARGS`, webhook-processes.ts) to record
 * every garbage collection it runs: kind, start (CLOCK_MONOTONIC
 * microseconds, the clock of `bench:apiserver`'s profile windows) and pause;
 * and, as the process ends, `process.memoryUsage()` and V8's heap spaces.
 * Written as JSON to `$GC_TALLY_DIR/<serve|floor|blocks-floor>-<pid>.json`
 * when the process exits, so nothing is written while it is measured;
 * `bench/gc-summary.ts` counts them in the windows. Not part of the product.
 *
 * JavaScript, not TypeScript: a `.ts` preload would load Node's type
 * stripper into the measured process (some 4 MB of heap it never has in
 * production).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

const dir = process.env.GC_TALLY_DIR;
if (dir) {
  // performance.now() and process.hrtime share CLOCK_MONOTONIC: one offset converts entry times.
  const originMicros = Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000;
  /** @type {Record<number, string>} */
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
  };
  // Columns of numbers, not an object per collection: the tally adds as little garbage as it can.
  /** @type {number[]} */ const kind = [];
  /** @type {number[]} */ const start = [];
  /** @type {number[]} */ const pause = [];
  /** @param {import('node:perf_hooks').PerformanceEntry[]} entries */
  const take = (entries) => {
    for (const entry of entries) {
      kind.push(/** @type {{ detail: { kind: number } }} */ (/** @type {unknown} */ (entry)).detail.kind);
      start.push(originMicros + entry.startTime * 1000);
      pause.push(entry.duration);
    }
  };
  const observer = new PerformanceObserver((list) => take(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  process.on('exit', () => {
    // Entries are delivered a moment after each collection: take those not yet delivered.
    take(observer.takeRecords());
    // The floors' entry points are floor-server.js and blocks-floor-server.js; serve's is cli/main.js.
    const floor = process.argv.slice(1).map((a) => /([\w-]*floor)-server\.js$/.exec(a)?.[1]).find(Boolean);
    const name = floor ?? 'serve';
    const events = kind.map((k, i) => ({ kind: kinds[k] ?? String(k), startMicros: Math.round(start[i]), pauseMs: pause[i] }));
    // Where the memory is as the process ends: V8's heap by space, and what lies outside it.
    const memory = process.memoryUsage();
    const spaces = getHeapSpaceStatistics().map((s) => ({ space: s.space_name, size: s.space_size, used: s.space_used_size }));
    writeFileSync(join(dir, `${name}-${process.pid}.json`), JSON.stringify({ argv: process.argv.slice(1), execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS ?? '', memory, spaces, events }));
  });
}

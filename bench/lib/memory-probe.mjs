/**
 * Preloaded into a webhook process by `npm run bench:memory -- --breakdown`
 * (`--import ./bench/lib/memory-probe.mjs`, with `MEMORY_PROBE_DIR`): on
 * SIGUSR2 it writes where the process's memory is, as V8 and Node see it,
 * to `$MEMORY_PROBE_DIR/<pid>-<n>.json`: `process.memoryUsage()`, every V8
 * heap space (reserved, committed, used, and physical pages), the code and
 * bytecode statistics, and the array buffers. When the file
 * `$MEMORY_PROBE_DIR/<pid>.snapshot` exists at that signal, a heap snapshot
 * follows, to `<pid>.heapsnapshot` (taken last: it allocates a lot and so
 * raises the peak). Nothing is written until asked. Not part of the product.
 *
 * JavaScript, not TypeScript: a `.ts` preload would load Node's type
 * stripper into the measured process (some 4 MB of heap it never has in
 * production).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapCodeStatistics, getHeapSpaceStatistics, getHeapStatistics, writeHeapSnapshot } from 'node:v8';

const dir = process.env.MEMORY_PROBE_DIR;
if (dir) {
  let taken = 0;
  process.on('SIGUSR2', () => {
    taken += 1;
    const spaces = getHeapSpaceStatistics().map((s) => ({
      space: s.space_name,
      size: s.space_size,
      used: s.space_used_size,
      available: s.space_available_size,
      physical: s.physical_space_size,
    }));
    const record = { pid: process.pid, memory: process.memoryUsage(), heap: getHeapStatistics(), code: getHeapCodeStatistics(), spaces };
    writeFileSync(join(dir, `${process.pid}-${taken}.json`), JSON.stringify(record));
    if (existsSync(join(dir, `${process.pid}.snapshot`))) writeHeapSnapshot(join(dir, `${process.pid}.heapsnapshot`));
  });
}

/**
 * Garbage collections of serve and the floor in their measured windows
 * (`node bench/gc-summary.ts TALLY_DIR PROFILE_DIR`, not a test): reads the
 * tallies `bench/lib/gc-tally.mjs` wrote and the windows `npm run
 * bench:apiserver -- --profile PROFILE_DIR` wrote (windows.json for serve,
 * NAME-windows.json for a floor), and prints per process the count and
 * pause total of each kind of collection that started inside a window.
 *
 * Run the benchmark with
 * `GC_TALLY_DIR=DIR BENCH_SERVE_NODE_ARGS='--import ./bench/lib/gc-tally.mjs'
 * BENCH_FLOOR_NODE_ARGS='--import ./bench/lib/gc-tally.mjs'`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixed, markdownTable } from './lib/stats.ts';

const [tallyDir, profileDir] = process.argv.slice(2);
if (!tallyDir || !profileDir) throw new Error('usage: node bench/gc-summary.ts TALLY_DIR PROFILE_DIR');

interface Tally {
  nodeOptions: string;
  execArgv: string[];
  memory?: NodeJS.MemoryUsage;
  spaces?: { space: string; size: number; used: number }[];
  events: { kind: string; startMicros: number; pauseMs: number }[];
}

const rows: string[][] = [];
for (const file of readdirSync(tallyDir).filter((f) => f.endsWith('.json')).sort()) {
  const name = file.slice(0, file.lastIndexOf('-'));
  const tally = JSON.parse(readFileSync(join(tallyDir, file), 'utf8')) as Tally;
  const windows = (JSON.parse(readFileSync(join(profileDir, name === 'serve' ? 'windows.json' : `${name}-windows.json`), 'utf8')) as { windows: [number, number][] }).windows;
  const inside = tally.events.filter((e) => windows.some(([from, to]) => e.startMicros >= from && e.startMicros <= to));
  const seconds = windows.reduce((sum, [from, to]) => sum + (to - from) / 1e6, 0);
  const kinds = [...new Set(inside.map((e) => e.kind))].sort();
  for (const kind of kinds) {
    const of = inside.filter((e) => e.kind === kind);
    const pause = of.reduce((sum, e) => sum + e.pauseMs, 0);
    rows.push([name, `${tally.nodeOptions} ${tally.execArgv.filter((a) => a.startsWith('--max')).join(' ')}`.trim() || 'defaults', kind, String(of.length), fixed(pause, 1), fixed(of.length ? pause / of.length : 0, 2), fixed(seconds, 1)]);
  }
  if (kinds.length === 0) rows.push([name, tally.nodeOptions || 'defaults', '(none)', '0', '0', '0', fixed(seconds, 1)]);
}
process.stdout.write(markdownTable(['process', 'heap settings', 'collection', 'count in windows', 'pause total ms', 'pause mean ms', 'window s'], rows) + '\n');

// Memory as each process ended (tallies that recorded it): RSS, V8's heap, and outside it.
const mb = (bytes: number) => fixed(bytes / 1e6, 1);
const memoryRows: string[][] = [];
for (const file of readdirSync(tallyDir).filter((f) => f.endsWith('.json')).sort()) {
  const tally = JSON.parse(readFileSync(join(tallyDir, file), 'utf8')) as Tally;
  if (!tally.memory) continue;
  const m = tally.memory;
  const space = (name: string) => tally.spaces?.find((s) => s.space === name);
  const young = space('new_space');
  const old = space('old_space');
  memoryRows.push([file.slice(0, file.lastIndexOf('-')), mb(m.rss), mb(m.heapTotal), mb(m.heapUsed), old ? `${mb(old.used)} / ${mb(old.size)}` : '', young ? `${mb(young.used)} / ${mb(young.size)}` : '', mb(m.external), mb(m.arrayBuffers), mb(m.rss - m.heapTotal - m.external)]);
}
if (memoryRows.length > 0) {
  process.stdout.write(`\n${markdownTable(['process', 'RSS MB', 'heap total', 'heap used', 'old space used / size', 'new space used / size', 'external', 'array buffers', 'RSS - heap total - external'], memoryRows)}\n`);
}

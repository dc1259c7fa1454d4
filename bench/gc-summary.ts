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
 *
 * `node bench/gc-summary.ts TALLY_DIR --by-phase` reads instead every
 * window of the run (TALLY_DIR/windows-by-phase.json, which bench:apiserver
 * writes when GC_TALLY_DIR is set) and prints serve's collections phase by
 * phase: in its own windows, per create, and in the whole phase (every
 * configuration's windows and what lies between them), where a
 * collection that started while serve was idle still runs on.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixed, markdownTable } from './lib/stats.ts';

const [tallyDir, profileDir] = process.argv.slice(2);
if (!tallyDir || !profileDir) throw new Error('usage: node bench/gc-summary.ts TALLY_DIR PROFILE_DIR|--by-phase');

interface Tally {
  nodeOptions: string;
  execArgv: string[];
  memory?: NodeJS.MemoryUsage;
  spaces?: { space: string; size: number; used: number }[];
  events: { kind: string; startMicros: number; pauseMs: number }[];
}

if (profileDir === '--by-phase') {
  byPhase(tallyDir);
  process.exit(0);
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

/** serve's collections phase by phase, in its own windows and over the whole phase. */
function byPhase(dir: string): void {
  const windows = (JSON.parse(readFileSync(join(dir, 'windows-by-phase.json'), 'utf8')) as { windows: { phase: string; configuration: string; from: number; to: number; operations: number }[] }).windows;
  const file = readdirSync(dir).find((f) => f.startsWith('serve-') && f.endsWith('.json'));
  if (!file) throw new Error(`${dir}: no serve tally (serve-PID.json); run with BENCH_SERVE_NODE_ARGS='--import ./bench/lib/gc-tally.mjs'`);
  const events = (JSON.parse(readFileSync(join(dir, file), 'utf8')) as Tally).events;
  const kinds = ['scavenge', 'mark-compact', 'incremental marking', 'weak callbacks'];
  const rows: string[][] = [];
  for (const phase of [...new Set(windows.map((w) => w.phase))]) {
    const all = windows.filter((w) => w.phase === phase);
    const own = all.filter((w) => w.configuration === 'mcp-admission');
    const creates = own.reduce((sum, w) => sum + w.operations, 0);
    const [from, to] = [Math.min(...all.map((w) => w.from)), Math.max(...all.map((w) => w.to))];
    const cells = kinds.map((kind) => {
      const of = events.filter((e) => e.kind === kind);
      const inOwn = of.filter((e) => own.some((w) => e.startMicros >= w.from && e.startMicros <= w.to));
      const inPhase = of.filter((e) => e.startMicros >= from && e.startMicros <= to);
      const pause = inOwn.reduce((sum, e) => sum + e.pauseMs, 0);
      return `${inOwn.length} (${fixed(pause / Math.max(creates, 1), 3)} ms/create) / ${inPhase.length}`;
    });
    rows.push([phase, String(creates), ...cells]);
  }
  process.stdout.write(
    `${markdownTable(['phase', "serve's creates", ...kinds.map((k) => `${k}: in serve's windows (pause per create) / in the whole phase`)], rows)}\n`,
  );
}

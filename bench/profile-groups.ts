/**
 * Where a `serve` CPU profile spends its time, by package (`node
 * bench/profile-groups.ts FILE.cpuprofile [--windows FILE] [--top 30]`):
 * self time summed per package (express and the packages it is built from,
 * zod, pino, prom-client, @kubernetes/client-node, ours, node internals,
 * V8's own; native frames count for the package that called them), then the top functions by self time with their package.
 *
 * `--windows FILE` (default: NAME-windows.json beside NAME.cpuprofile if
 * there is one, else windows.json, as `npm run bench:apiserver -- --profile
 * DIR` writes them for the floor and serve) keeps only the
 * samples taken inside those windows (CLOCK_MONOTONIC microseconds, the
 * clock V8 stamps its samples with), so start-up, warm-up and idle phases
 * do not count. (idle) is time the process waited for work; percentages are
 * of the busy time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CallFrame, CpuProfile } from './lib/cpu-profile.ts';
import { fixed, markdownTable } from './lib/stats.ts';


/** Frames with no script: V8 builtins (JSON, RegExp) and Node's C++ bindings (socket and file writes). */
export const NATIVE = 'native';

/** The package a frame belongs to: a node_modules package, ours (src/ or its build), node internals, or V8's own. */
export function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return '(garbage collector)';
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(program)' || functionName === '(root)') return '(program: V8 and native, unattributed)';
    return NATIVE;
  }
  if (url.startsWith('node:')) return 'node internals';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/');
    return first!.startsWith('@') ? `${first}/${second}` : first!;
  }
  if (/\/(src|bench\/results\/build)\//.test(url)) return 'ours';
  return 'other';
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { windows: { type: 'string' }, top: { type: 'string', default: '30' } } });
  const file = positionals[0];
  if (!file) throw new Error('usage: node bench/profile-groups.ts FILE.cpuprofile [--windows FILE] [--top 30]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  // floor.cpuprofile has its own windows (floor-windows.json); serve's are windows.json.
  const own = join(dirname(file), `${basename(file, '.cpuprofile')}-windows.json`);
  const windowsFile = values.windows ?? (existsSync(own) ? own : join(dirname(file), 'windows.json'));
  const windows = existsSync(windowsFile) ? (JSON.parse(readFileSync(windowsFile, 'utf8')) as { windows: [number, number][] }).windows : undefined;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  /**
   * A native frame counts for the nearest package up its stack that is not
   * Node's own: a file write under pino's logger is pino's (through
   * sonic-boom), a socket write under express's res.send is express's.
   */
  const packageOfNode = (id: number): string => {
    const own = packageOf(nodes.get(id)!.callFrame);
    if (own !== NATIVE) return own;
    for (let up = parents.get(id); up !== undefined; up = parents.get(up)) {
      const caller = packageOf(nodes.get(up)!.callFrame);
      if (caller !== NATIVE && caller !== 'node internals' && !caller.startsWith('(')) return `${NATIVE}, for ${caller}`;
    }
    return `${NATIVE}, for node internals`;
  };

  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, { pkg: string; us: number }>();
  let time = profile.startTime;
  let kept = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (windows && !windows.some(([from, to]) => time >= from && time <= to)) continue;
    kept++;
    const frame = nodes.get(profile.samples[i]!)!.callFrame;
    const pkg = packageOfNode(profile.samples[i]!);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
    const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|src|build)\//, '$1/')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    const entry = byFunction.get(key) ?? { pkg, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
  }
  const idle = byPackage.get('(idle)') ?? 0;
  const busy = [...byPackage.values()].reduce((a, b) => a + b, 0) - idle;
  const pct = (us: number) => fixed((us / busy) * 100, 1);
  const scope = windows ? `${windows.length} windows` : 'the whole profile';
  process.stdout.write(`${file}: ${kept} samples in ${scope}; busy ${fixed(busy / 1000, 0)} ms, idle ${fixed(idle / 1000, 0)} ms\n\n`);
  const packages = [...byPackage.entries()].filter(([p]) => p !== '(idle)').sort((a, b) => b[1] - a[1]);
  process.stdout.write(`${markdownTable(['package', 'self ms', '% of busy'], packages.map(([p, us]) => [p, fixed(us / 1000, 1), pct(us)]))}\n\n`);
  const top = [...byFunction.entries()].filter(([, e]) => e.pkg !== '(idle)').sort((a, b) => b[1].us - a[1].us).slice(0, Number(values.top));
  process.stdout.write(`${markdownTable(['function', 'package', 'self ms', '% of busy'], top.map(([f, e]) => [f, e.pkg, fixed(e.us / 1000, 1), pct(e.us)]))}\n`);
}

if (import.meta.main) main();

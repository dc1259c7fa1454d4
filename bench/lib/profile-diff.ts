/**
 * Two CPU profiles side by side, per review: the self time of each group of
 * functions in a measured window, divided by the reviews answered in it, and
 * the difference. `npm run bench -- --profile` profiles `serve` and the
 * blocks floor under the same load and prints this, so what `serve` spends
 * per review over the blocks floor is broken down by where it goes.
 *
 * Groups are finer than `profile-groups.ts`'s packages where the difference
 * hides: our code by file, Node's internals by module, native frames (V8
 * builtins such as JSON.parse, Node's C++ bindings such as a socket write)
 * by name, and the collector alone. Only the main thread is sampled: the
 * collector's helper threads and libuv's pool are not in a profile.
 */
import { readFileSync } from 'node:fs';
import { packageOf, NATIVE } from '../profile-groups.ts';
import type { CallFrame, CpuProfile } from './cpu-profile.ts';
import { fixed, markdownTable } from './stats.ts';


/** Self time per group and per function, µs, inside `[from, to]` (CLOCK_MONOTONIC µs, V8's sample clock). */
export interface SelfTime {
  byGroup: Map<string, number>;
  byFunction: Map<string, number>;
  /** Busy µs in the window, idle excluded. */
  busy: number;
}

/** The group a frame's self time goes to. */
export function groupOf(frame: CallFrame): string {
  const pkg = packageOf(frame);
  if (pkg === NATIVE) return `native ${frame.functionName || '(anonymous)'}`;
  if (pkg === 'ours') return `ours ${frame.url.replace(/^.*\/(src|build)\//, '')}`;
  if (pkg === 'node internals') return frame.url.replace(/^node:(internal\/)?/, 'node ');
  return pkg;
}

/** Self time of `file` within the window, by group and by function. */
export function selfTime(file: string, window: readonly [number, number]): SelfTime {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byGroup = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (time < window[0] || time > window[1]) continue;
    const frame = frames.get(profile.samples[i]!)!;
    if (frame.functionName === '(idle)') continue;
    busy += us;
    const group = groupOf(frame);
    byGroup.set(group, (byGroup.get(group) ?? 0) + us);
    const where = frame.url ? ` ${frame.url.replace(/^.*\/(node_modules|src|build)\//, '$1/')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'}${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  return { byGroup, byFunction, busy };
}

/**
 * A table of µs per review of each group (or function) for `a` and `b` and
 * their difference, largest difference first, rows under `minMicros` in
 * both left out (their sum is one row).
 */
export function perReviewDiff(names: [string, string], a: { time: Map<string, number>; reviews: number }, b: { time: Map<string, number>; reviews: number }, top = 25, minMicros = 0.3): string {
  const keys = new Set([...a.time.keys(), ...b.time.keys()]);
  const rows = [...keys].map((key) => {
    const x = (a.time.get(key) ?? 0) / a.reviews;
    const y = (b.time.get(key) ?? 0) / b.reviews;
    return { key, x, y, d: x - y };
  });
  rows.sort((p, q) => q.d - p.d);
  const shown = rows.filter((r) => Math.max(r.x, r.y) >= minMicros).slice(0, top);
  const rest = rows.filter((r) => !shown.includes(r));
  const sum = (xs: typeof rows, f: (r: (typeof rows)[number]) => number) => xs.reduce((s, r) => s + f(r), 0);
  const line = (key: string, x: number, y: number) => [key, fixed(x, 2), fixed(y, 2), fixed(x - y, 2)];
  return markdownTable(
    ['where (self time)', `${names[0]} µs/review`, `${names[1]} µs/review`, 'difference'],
    [
      ...shown.map((r) => line(r.key, r.x, r.y)),
      line(`(${rest.length} others)`, sum(rest, (r) => r.x), sum(rest, (r) => r.y)),
      line('total, main thread busy', sum(rows, (r) => r.x), sum(rows, (r) => r.y)),
    ],
  );
}

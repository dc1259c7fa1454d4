/**
 * `npm run bench:apiserver -- --perf DIR`: serve, the floor and the blocks
 * floor recorded with Linux perf for the whole run (`perf record -e
 * cpu-clock -g -k CLOCK_MONOTONIC`, every thread, kernel included), each
 * sample then counted only inside its process's own measured windows (the
 * same CLOCK_MONOTONIC microseconds bench/apiserver.ts keeps for
 * `--profile`), and grouped by `perf-groups.ts`. Printed per operation and
 * phase, µs by group, serve beside the blocks floor and the floor.
 *
 * Through the API server one create at a time, a webhook wakes for every
 * call (TLS records, epoll, timers, its log flush, its metrics) and its
 * background work (serve's informers) falls inside the windows too: what
 * the direct benchmark's saturation (`npm run bench -- --perf`) hides.
 *
 * Recording costs each process the same (the sampling interrupt, node
 * `--perf-basic-prof`'s map file); /proc CPU figures of a `--perf` run
 * carry it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { perfAvailable, perfGroupsByWindow } from './perf-groups.ts';
import { fixed, markdownTable } from './stats.ts';

/** The webhook processes recorded, by their configuration's name in bench/apiserver.ts. */
export type PerfProcess = 'mcp-admission' | 'blocks-floor' | 'floor';
const COLUMNS: readonly PerfProcess[] = ['mcp-admission', 'blocks-floor', 'floor'];
const TITLE: Record<PerfProcess, string> = { 'mcp-admission': 'serve', 'blocks-floor': 'blocks floor', floor: 'floor' };
/** Samples per second of a process's CPU time: 500 µs each. */
const FREQUENCY = 2000;

interface Window {
  phase: string;
  from: number;
  to: number;
  operations: number;
  load: number;
}

/** One `--perf DIR` run: the processes' recordings and their windows. */
export class ApiserverPerf {
  private readonly recordings = new Map<PerfProcess, { file: string; perf: ChildProcess; exited: Promise<unknown> }>();
  private readonly windows = new Map<PerfProcess, Window[]>();
  private readonly phases: { key: string; title: string }[] = [];

  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    if (!perfAvailable()) throw new Error('--perf: `perf record -e cpu-clock` cannot run here (not installed, or kernel.perf_event_paranoid forbids it)');
    mkdirSync(dir, { recursive: true });
  }

  /** Node flags for a recorded process: JIT frames named in /tmp/perf-PID.map, and V8's log into DIR rather than the working directory. */
  nodeArgs(name: PerfProcess): string[] {
    return ['--perf-basic-prof', `--logfile=${join(this.dir, `${name}-v8.log`)}`, '--no-logfile-per-isolate'];
  }

  /** Starts recording `pid` until `stop`. */
  record(name: PerfProcess, pid: number): void {
    const file = join(this.dir, `${name}.data`);
    const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', String(FREQUENCY), '-g', '-k', 'CLOCK_MONOTONIC', '-o', file, '-p', String(pid)], { stdio: 'ignore' });
    this.recordings.set(name, { file, perf, exited: new Promise((resolve) => perf.once('exit', resolve)) });
  }

  /** A measured window of `name` in a phase (CLOCK_MONOTONIC microseconds), its operations and the load at its end. */
  window(phase: { key: string; title: string }, name: string, micros: [number, number], operations: number): void {
    if (!this.recordings.has(name as PerfProcess)) return;
    if (!this.phases.some((p) => p.key === phase.key)) this.phases.push({ key: phase.key, title: phase.title });
    const list = this.windows.get(name as PerfProcess) ?? [];
    list.push({ phase: phase.key, from: micros[0], to: micros[1], operations, load: loadavg()[0]! });
    this.windows.set(name as PerfProcess, list);
  }

  /** Stops every recording (SIGINT: perf writes its file out), and writes the windows beside them as DIR/windows.json. */
  async stop(): Promise<void> {
    for (const { perf } of this.recordings.values()) perf.kill('SIGINT');
    await Promise.all([...this.recordings.values()].map((r) => r.exited));
    writeFileSync(join(this.dir, 'windows.json'), JSON.stringify({ clock: 'CLOCK_MONOTONIC microseconds', windows: Object.fromEntries(this.windows) }));
  }

  /** Per phase, µs per operation by group for each process, side by side, with serve over the blocks floor. */
  async report(): Promise<string> {
    const us = 1e6 / FREQUENCY;
    type Counted = { groups: Map<string, number>; paths: Map<string, number>; samples: number; operations: number; loads: number[] };
    const byProcess = new Map<PerfProcess, Map<string, Counted>>();
    for (const [name, { file }] of this.recordings) {
      const windows = this.windows.get(name) ?? [];
      const counted = await perfGroupsByWindow<number>(file, windows.map((w, i) => ({ key: i, from: w.from, to: w.to })));
      const phases = new Map<string, Counted>();
      windows.forEach((w, i) => {
        const into: Counted = phases.get(w.phase) ?? { groups: new Map(), paths: new Map(), samples: 0, operations: 0, loads: [] };
        const one = counted.get(i)!;
        into.samples += one.samples;
        into.operations += w.operations;
        into.loads.push(w.load);
        for (const [group, n] of one.groups) into.groups.set(group, (into.groups.get(group) ?? 0) + n);
        for (const [path, n] of one.paths) into.paths.set(path, (into.paths.get(path) ?? 0) + n);
        phases.set(w.phase, into);
      });
      byProcess.set(name, phases);
    }
    const sections = [`perf (cpu-clock, every thread, kernel included, ${FREQUENCY} Hz, each process in its own measured windows; lib/perf-groups.ts), ${this.dir}`];
    for (const phase of this.phases) {
      const columns = COLUMNS.filter((name) => byProcess.get(name)?.get(phase.key));
      const of = (name: PerfProcess) => byProcess.get(name)!.get(phase.key)!;
      const perOp = (name: PerfProcess, samples: number) => (samples * us) / of(name).operations;
      const both = columns.includes('mcp-admission') && columns.includes('blocks-floor');
      const table = (by: 'groups' | 'paths', first: string) => {
        const count = (name: PerfProcess, key: string) => of(name)[by].get(key) ?? 0;
        const keys = [...new Set(columns.flatMap((name) => [...of(name)[by].keys()]))];
        const weight = (key: string) => Math.max(...columns.map((name) => perOp(name, count(name, key))));
        keys.sort((a, b) => weight(b) - weight(a));
        const cell = (name: PerfProcess, samples: number) => (columns.includes(name) ? fixed(perOp(name, samples), 1) : '');
        const over = (serve: number, blocks: number) => (both ? fixed(perOp('mcp-admission', serve) - perOp('blocks-floor', blocks), 1) : '');
        const rows = [
          ['**all sampled**', ...COLUMNS.map((name) => cell(name, columns.includes(name) ? of(name).samples : 0)), both ? over(of('mcp-admission').samples, of('blocks-floor').samples) : ''],
          ...keys.map((key) => [key, ...COLUMNS.map((name) => cell(name, columns.includes(name) ? count(name, key) : 0)), both ? over(count('mcp-admission', key), count('blocks-floor', key)) : '']),
        ];
        return markdownTable([first, ...COLUMNS.map((name) => `${TITLE[name]} µs/op`), 'serve − blocks floor'], rows);
      };
      const loads = columns.map((name) => `${TITLE[name]} ${of(name).operations} operations, load ${of(name).loads.map((l) => l.toFixed(2)).join(', ')}`).join('; ');
      sections.push(`${phase.title}, µs of CPU per operation, by what it was for (${loads}):`, table('paths', 'for'), `${phase.title}, by where it went:`, table('groups', 'group'));
    }
    return sections.join('\n\n');
  }
}

/**
 * CPU time of a server by where it goes, from Linux `perf` (`npm run bench
 * -- --perf`): `perf record -e cpu-clock -g` samples a process only while
 * one of its threads runs on a CPU, every thread, user and kernel. A V8
 * `.cpuprofile` samples the main thread by the clock instead: on a shared
 * machine the time a process waits to be scheduled again after a system call
 * (a socket write wakes the client) counts as that call's self time, which
 * made a socket write look like a quarter of serve's time.
 *
 * Each sample goes to a group: V8's worker threads (the collector's helpers,
 * the optimizing compiler) by thread; on the main thread the collector when
 * any frame of the stack is V8's heap code; otherwise the nearest JavaScript
 * frame up the stack (node `--perf-basic-prof` names them): a package, our
 * file, or Node's module. Native code (JSON.parse, a TLS write) thus counts
 * for the JavaScript that called it; time in the kernel is marked.
 */
import { spawnSync } from 'node:child_process';

const SOCKET_WRITE = /^node:(net|_tls_wrap|internal\/streams\/writable|internal\/stream_base_commons)$/;

/** The group of one sample: its thread's name and its frames, innermost first (`perf script -F comm,ip,sym,dso`). */
export function groupOfSample(thread: string, frames: readonly string[]): string {
  if (thread !== 'MainThread') {
    const compiling = frames.slice(0, 16).some((f) => /compiler::|Compil|Maglev|Turbofan/i.test(f));
    return `V8 worker threads, ${compiling ? 'compiler' : 'collector and other'}`;
  }
  if (frames.slice(0, 48).some((f) => /Heap::|Scavenge|MarkCompact|GCTracer|Sweeper|IncrementalMarking|MinorMS/.test(f))) return 'collector, main thread';
  const kernel = frames[0]?.includes('[kernel') ? ' (kernel)' : '';
  for (const frame of frames) {
    const js = /JS:[*+~^]?'?(\S*) (?:file:\/\/)?(\S+):\d+:\d+/.exec(frame) ?? /JS:[*+~^]?'?(\S*)/.exec(frame);
    if (!js) continue;
    const url = js[2] ?? '';
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    // zod compiles each object shape to a function of its own (new Function): no file.
    if (pkg) return `${pkg}${kernel}`;
    if (/\/(src|build)\//.test(url)) return `ours ${url.replace(/^.*\/(src|build)\//, '')}${kernel}`;
    // Which of these frames is nearest depends on what the optimizing compiler inlined: one group (reads from stream_base_commons too).
    if (SOCKET_WRITE.test(url)) return `node: socket I/O (net, streams/writable, stream_base_commons, TLS)${kernel}`;
    if (url.startsWith('node:')) return `node ${url.replace(/^node:(internal\/)?/, '')}${kernel}`;
    return `generated code (zod's compiled shapes)${kernel}`;
  }
  return `native, no JavaScript caller${kernel}`;
}

/** Samples per group in a `perf.data` file. */
export function perfGroups(file: string): { groups: Map<string, number>; samples: number } {
  const script = spawnSync('perf', ['script', '-i', file, '-F', 'comm,ip,sym,dso'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (script.status !== 0) throw new Error(`perf script: ${script.stderr}`);
  const groups = new Map<string, number>();
  let samples = 0;
  for (const block of script.stdout.split('\n\n')) {
    const lines = block.split('\n').map((l) => l.trim()).filter(Boolean);
    if (lines.length === 0) continue;
    samples++;
    const group = groupOfSample(lines[0]!.split(/\s+/)[0]!, lines.slice(1));
    groups.set(group, (groups.get(group) ?? 0) + 1);
  }
  return { groups, samples };
}

/** Whether `perf record -e cpu-clock` can run here. */
export function perfAvailable(): boolean {
  return spawnSync('perf', ['record', '-e', 'cpu-clock', '-o', '/dev/null', 'true'], { encoding: 'utf8' }).status === 0;
}

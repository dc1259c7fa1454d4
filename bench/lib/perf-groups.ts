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
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

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

/**
 * One sample's header line of `perf script -F comm,time,…`: its thread's
 * name (which may hold spaces, "V8 DefaultWorke") and its time in seconds
 * on the clock perf recorded with (`-k CLOCK_MONOTONIC`: the clock of
 * `process.hrtime`).
 */
export function sampleHeader(line: string): { thread: string; seconds: number } | undefined {
  const header = /^(.*?)\s+(\d+\.\d+):\s*$/.exec(line.trim());
  return header ? { thread: header[1]!, seconds: Number(header[2]) } : undefined;
}

/**
 * Samples per group in a `perf.data` recorded with `-k CLOCK_MONOTONIC`,
 * per window: each sample counts for the first window holding its time
 * (CLOCK_MONOTONIC microseconds, as bench/apiserver.ts keeps them), and for
 * none outside them. Streams `perf script`: a whole run's recording is
 * hundreds of megabytes of text.
 */
export async function perfGroupsByWindow<K>(file: string, windows: readonly { key: K; from: number; to: number }[]): Promise<Map<K, { groups: Map<string, number>; paths: Map<string, number>; samples: number }>> {
  const out = new Map(windows.map((w) => [w.key, { groups: new Map<string, number>(), paths: new Map<string, number>(), samples: 0 }]));
  const script = spawn('perf', ['script', '-i', file, '-F', 'comm,time,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  script.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c.slice(0, 4096)));
  const exited = new Promise<number | null>((resolve) => script.once('close', resolve));
  let header: { thread: string; seconds: number } | undefined;
  let frames: string[] = [];
  const flush = () => {
    if (header) {
      const micros = header.seconds * 1e6;
      const window = windows.find((w) => micros >= w.from && micros <= w.to);
      if (window) {
        const into = out.get(window.key)!;
        into.samples++;
        const group = groupOfSample(header.thread, frames);
        into.groups.set(group, (into.groups.get(group) ?? 0) + 1);
        const path = pathOfSample(header.thread, frames);
        into.paths.set(path, (into.paths.get(path) ?? 0) + 1);
      }
    }
    header = undefined;
    frames = [];
  };
  for await (const raw of createInterface({ input: script.stdout, crlfDelay: Infinity })) {
    const line = raw.trim();
    if (!line) flush();
    else if (!header) header = sampleHeader(raw);
    else frames.push(line);
  }
  flush();
  const code = await exited;
  if (code !== 0) throw new Error(`perf script -i ${file}: exit ${code}: ${stderr}`);
  return out;
}

/**
 * What a sample's CPU time was for, from its whole stack rather than its
 * nearest JavaScript frame: through the API server a webhook's time per
 * create is its two reviews, and besides them its own API client's (serve's
 * informers: a watch event for every stored object), its timers, the
 * collector, V8's compiler, and the event loop's native work with no
 * JavaScript on the stack (epoll, TLS records read before any callback).
 * Kernel time is marked, as in {@link groupOfSample}.
 */
export function pathOfSample(thread: string, frames: readonly string[]): string {
  const group = groupOfSample(thread, frames);
  if (group.startsWith('V8 worker threads') || group === 'collector, main thread') return group;
  const kernel = frames[0]?.includes('[kernel') ? ' (kernel)' : '';
  const has = (pattern: RegExp) => frames.some((f) => f.includes('JS:') && pattern.test(f));
  // The outgoing client's modules first: a watch event's JSON.parse runs under node:_http_client's socket callback.
  if (has(/\/(kubernetes|status|settings)\/|node:_http_client|node:https |undici/)) return `API client: watches, leases, status${kernel}`;
  if (has(/node:_http_server|\/(server|admission|policy)\/|node_modules\/(express|router|body-parser|raw-body|zod|pino|prom-client)|floor-server|floor-process/)) return `webhook requests (TLS, HTTP, /mutate and /validate)${kernel}`;
  if (has(/node:internal\/timers/)) return `timers${kernel}`;
  if (frames.some((f) => f.includes('JS:'))) return `other JavaScript${kernel}`;
  return `event loop, no JavaScript on the stack${kernel}`;
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

/**
 * Admission benchmark, direct (`npm run bench`, not a test; issue 7): HTTPS
 * keep-alive load with realistic AdmissionReviews against the real `serve`
 * and, in the same run and the same way, against a floor server (bare
 * node:https that parses the body and answers a fixed allow) and the floor
 * on the building blocks (bench/lib/blocks-floor-server.ts: the same answer
 * from express, serve's zod envelope check, logger and histogram, with
 * serve's NODE_OPTIONS). Reports requests/s, p50/p99/p99.9 latency, errors,
 * server CPU and peak RSS, and the ratios of `serve` to each floor, against
 * the targets: throughput ≥ 0.8 × the floor's, RSS ≤ 80 MB. Prints a table and writes it as Markdown to
 * `bench/results/`.
 *
 * Both servers and the load generator are separate processes, so each is
 * measured from /proc alone and the client never shares a server's event
 * loop. `serve` and the blocks floor run with `--log-level warn`, so the
 * per-request info log line is not written (as the floor writes none).
 *
 * Both servers run as JavaScript, as the image runs `dist/`: `src/` is
 * compiled with tsconfig.build.json into `bench/results/build/` (the floor's
 * types are stripped into the same place). Node's type stripping, when a
 * process runs .ts directly, costs some 20-50 MB of RSS that production
 * never pays; `--sources ts` measures that way anyway.
 *
 * Flags: `--duration S` (measured seconds per phase, 10), `--warmup S` (2),
 * `--concurrency 16,64`, `--profile` (afterwards, profile `serve` and the
 * blocks floor with --cpu-prof at the first concurrency, print serve's top
 * functions and both profiles per review side by side),
 * `--sources js|ts` (js), `--soak S` (afterwards, S seconds at 80% of the
 * throughput `serve` reached at the first concurrency, paced open-loop:
 * errors, latency and the RSS trend; `npm run soak`), `--node-options S`
 * (NODE_OPTIONS for `serve`; the image's V8 heap settings from the
 * Dockerfile unless given, `''` for Node's defaults), `--baseline REF`
 * (`serve` as built from the git commit REF runs too, as `serve@REF`, in
 * the same run, after the floors and before `serve`, phase by phase: an A/B
 * of a change within one run, at one load), `--perf` (afterwards, record
 * `serve`, `serve@REF` and the blocks floor with Linux perf at the first
 * concurrency, one after the other, and print their CPU per review by where
 * it goes, every thread, kernel included: lib/perf-groups.ts; needs `perf`
 * and the right to use it), `--rounds N` (1; every target N times per
 * concurrency, in turn, and the round of median CPU per review in the table:
 * on a shared machine one phase can fall in a quiet or a busy moment).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePorts } from '../test/support/harness/ports.ts';
import { buildForBenchmark, writeFloorEntry } from './lib/build.ts';
import { writeCertificateFiles } from './lib/certificate-files.ts';
import { statusMb, type LoadOptions, type LoadResult } from './lib/load.ts';
import { forkLoad } from './lib/load-process.ts';
import { IMAGE_NODE_OPTIONS } from './lib/node-options.ts';
import { perfAvailable, perfGroups } from './lib/perf-groups.ts';
import { perReviewDiff, selfTime, type SelfTime } from './lib/profile-diff.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const RESULTS = new URL('results/', import.meta.url).pathname;
const TARGET_RATIO = 0.8;
const TARGET_RSS_MB = 80;

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '16,64' },
    profile: { type: 'boolean', default: false },
    sources: { type: 'string', default: 'js' },
    soak: { type: 'string', default: '0' },
    'node-options': { type: 'string', default: IMAGE_NODE_OPTIONS },
    baseline: { type: 'string' },
    perf: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
  },
});
if (flags.sources !== 'js' && flags.sources !== 'ts') throw new Error('--sources is js or ts');
const durationMs = Number(flags.duration) * 1000;
const warmupMs = Number(flags.warmup) * 1000;
const concurrencies = flags.concurrency.split(',').map(Number);
const clockTicks = 100; // USER_HZ: 100 on every Linux architecture Node runs on.

/**
 * One certificate for both servers, given to `serve` as files the way a
 * cluster does (a Secret volume), so both pay the same TLS cost and `serve`
 * takes its production path (FileCertificateSource) rather than the
 * development one.
 */
const certDir = mkdtempSync(join(tmpdir(), 'mcp-admission-bench-'));
const { certFile, keyFile } = await writeCertificateFiles(certDir);

/** Entry points of the two servers, compiled to JavaScript unless `--sources ts`. */
const BUILD = `${RESULTS}build/`;
let serveEntry = 'src/cli/main.ts';
let floorEntry = 'bench/lib/floor-server.ts';
let blocksFloorEntry = 'bench/lib/blocks-floor-server.ts';
if (flags.sources === 'js') {
  serveEntry = buildForBenchmark(ROOT, BUILD);
  floorEntry = writeFloorEntry(ROOT, BUILD);
  blocksFloorEntry = writeFloorEntry(ROOT, BUILD, 'blocks-floor-server');
}

/**
 * `serve` as of `ref`: its src/ and build settings from git, compiled like
 * the working tree's into bench/results/baseline/ (beside the working tree's
 * node_modules, linked, so that it resolves the same packages).
 */
function buildBaseline(ref: string): string {
  const dir = `${RESULTS}baseline/`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = spawnSync('sh', ['-c', `git -C "$0" archive "$1" src tsconfig.json tsconfig.build.json package.json | tar -x -C "$2"`, ROOT, ref, dir], { encoding: 'utf8' });
  if (archive.status !== 0) throw new Error(`git archive ${ref}: ${archive.stderr}`);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return buildForBenchmark(dir, `${dir}build/`);
}
const baselineEntry = flags.baseline === undefined ? undefined : buildBaseline(flags.baseline);

const children: ChildProcess[] = [];
process.on('exit', () => {
  rmSync(certDir, { recursive: true, force: true });
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});
process.on('SIGINT', () => process.exit(130));


function logOf(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text = (text + chunk.toString()).slice(-4000)));
  child.stderr?.on('data', (chunk: Buffer) => (text = (text + chunk.toString()).slice(-4000)));
  return () => text;
}

async function waitReady(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${log()}`);
    const status = await new Promise<number>((resolve) => {
      get({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', () => resolve(0));
    });
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`server not ready after 30 s:\n${log()}`);
}

interface Target {
  name: string;
  port: number;
  child: ChildProcess;
}

async function startServe(extraNodeArgs: string[] = [], entry = serveEntry, name = 'serve'): Promise<Target> {
  const [port, metricsPort] = (await freePorts(2)) as [number, number];
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: flags['node-options'] };
  delete env.KUBERNETES_SERVICE_HOST; // built-in policy defaults, no cluster
  const child = spawn(
    process.execPath,
    [
      ...extraNodeArgs,
      entry,
      'serve',
      '--host', '127.0.0.1',
      '--port', String(port),
      '--metrics-port', String(metricsPort),
      '--tls-cert', certFile,
      '--tls-key', keyFile,
      '--policy-source', 'builtin',
      '--log-level', 'warn',
      '--shutdown-delay-seconds', '0',
    ],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  await waitReady(port, child, logOf(child));
  return { name, port, child };
}

/** The bare floor, or the floor on the building blocks (with serve's NODE_OPTIONS and log level). */
async function startFloor(blocks = false, extraNodeArgs: string[] = []): Promise<Target> {
  const args = [...extraNodeArgs, ...(blocks ? [blocksFloorEntry, certFile, keyFile, '--log-level', 'warn'] : [floorEntry, certFile, keyFile])];
  const env = blocks ? { ...process.env, NODE_OPTIONS: flags['node-options'] } : process.env;
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const log = logOf(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`floor server exited (${code}):\n${log()}`)));
  });
  await waitReady(port, child, log).catch(() => undefined); // a floor has no /readyz; any answer will do
  return { name: blocks ? 'blocks-floor' : 'floor', port, child };
}

function runLoad(target: Target, concurrency: number, overrides: Partial<LoadOptions> = {}): Promise<LoadResult> {
  const options: LoadOptions = { port: target.port, serverPid: target.child.pid!, concurrency, warmupMs, durationMs, clockTicks, ...overrides };
  return forkLoad(options, children);
}

interface Row {
  concurrency: number;
  target: string;
  result: LoadResult;
  /** VmHWM after the phase: the peak since the process started, start-up included. */
  peakRssMb: number;
}

const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function table(rows: Row[]): string {
  const header = ['conc.', 'target', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors', 'server CPU s', 'server CPU %', 'CPU ms/req', 'RSS under load MB', 'peak RSS incl. start-up MB', 'client CPU %', 'req/s ÷ floor', 'req/s ÷ blocks-floor'];
  const lines = rows.map((row) => {
    const r = row.result;
    const rps = r.requests / r.seconds;
    const over = (target: string) => {
      const other = rows.find((o) => o.concurrency === row.concurrency && o.target === target);
      return other && row.target !== target && row.target !== 'floor' ? rps / (other.result.requests / other.result.seconds) : NaN;
    };
    const ratio = over('floor');
    const target = row.target === 'serve' ? ` ${ratio >= TARGET_RATIO ? '(ok)' : '(MISS)'}` : '';
    return [
      String(row.concurrency),
      row.target,
      fixed(rps, 0),
      fixed(r.p50, 2),
      fixed(r.p99, 2),
      fixed(r.p999, 2),
      String(r.errors),
      fixed(r.serverCpuSeconds, 2),
      fixed((r.serverCpuSeconds / r.seconds) * 100, 0),
      fixed((r.serverCpuSeconds * 1000) / r.requests, 3),
      fixed(r.serverRssMb, 1),
      fixed(row.peakRssMb, 1),
      fixed((r.clientCpuSeconds / r.seconds) * 100, 0),
      Number.isFinite(ratio) ? `${fixed(ratio, 2)}${target}` : '',
      Number.isFinite(over('blocks-floor')) ? fixed(over('blocks-floor'), 2) : '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

function cpuModel(): string {
  const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return match?.[1] ?? 'unknown';
}

/** Top self-time functions of a .cpuprofile, and self time by where the code lives. */
function summarizeProfile(file: string, top = 20): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stack = (id: number) => {
    const frames = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) frames.push(byId.get(at)!);
    return frames;
  };
  const name = (frame: { functionName: string; url: string; lineNumber: number }) => {
    const url = frame.url.replace(`file://${BUILD}`, 'src/').replace(`file://${ROOT}`, '');
    return `${frame.functionName || '(anonymous)'} ${url ? `${url}:${frame.lineNumber + 1}` : ''}`.trim();
  };
  // Start-up (module loading, key reading) is not what is measured: skip samples until the first request.
  const first = profile.samples.findIndex((id) => stack(id).some((f) => /server\/app\.[jt]s$/.test(f.url)));
  const self = new Map<string, number>();
  const area = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    if (i < first) return;
    const frames = stack(id);
    const frame = frames[0]!;
    if (frame.functionName === '(idle)') return;
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const url = frame.url.replace(`file://${BUILD}`, 'src/').replace(`file://${ROOT}`, '');
    // A native frame says little alone: name the JavaScript function that called it.
    const caller = url ? undefined : frames.find((f) => f.url);
    const key = caller ? `${name(frame)} <- ${name(caller)}` : name(frame);
    self.set(key, (self.get(key) ?? 0) + us);
    // Natives count for the code that called them; GC and (program) stand alone.
    const at = caller ? caller.url.replace(`file://${BUILD}`, 'src/').replace(`file://${ROOT}`, '') : url;
    const where =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(at)?.[1] ??
      (at.startsWith('src/') ? at.split('/').slice(0, 2).join('/') : at.startsWith('node:') ? 'node: internals' : at || frame.functionName);
    area.set(where, (area.get(where) ?? 0) + us);
  });
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  const rank = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `  ${pct(us)}  ${k}`)
      .join('\n');
  return `busy time from the first request on, idle excluded\n\nself time by function (top ${top}):\n${rank(self, top)}\n\nself time by package / area:\n${rank(area, 15)}`;
}

/** Stops a profiled process and returns the .cpuprofile it wrote in `dir`. */
async function stopProfiled(target: Target, dir: string): Promise<string> {
  const exited = new Promise((resolve) => target.child.once('exit', resolve));
  target.child.kill('SIGTERM');
  await exited;
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  return `${dir}/${file}`;
}

/**
 * Profiles `serve` and the blocks floor under the same load, one after the
 * other, and prints serve's top functions, then both profiles per review,
 * side by side: self time in the measured window over the reviews answered
 * in it, by group and by function (lib/profile-diff.ts), with the load
 * average at each.
 */
async function profileServe(concurrency: number): Promise<string> {
  const dir = `${RESULTS}profile-${Date.now()}`;
  const profiled: Array<{ name: string; file: string; result: LoadResult; load: string }> = [];
  for (const name of ['serve', 'blocks-floor'] as const) {
    const own = `${dir}/${name}`;
    mkdirSync(own, { recursive: true });
    const nodeArgs = ['--cpu-prof', '--cpu-prof-dir', own];
    const target = name === 'serve' ? await startServe(nodeArgs) : await startFloor(true, nodeArgs);
    const load = loadavg()[0]!.toFixed(2);
    const result = await runLoad(target, concurrency);
    profiled.push({ name, file: await stopProfiled(target, own), result, load: `${load}-${loadavg()[0]!.toFixed(2)}` });
  }
  const [serve, blocks] = profiled as [(typeof profiled)[number], (typeof profiled)[number]];
  const times = profiled.map((p) => selfTime(p.file, p.result.window));
  const side = (pick: (t: SelfTime) => Map<string, number>, top: number) =>
    perReviewDiff(['serve', 'blocks floor'], { time: pick(times[0]!), reviews: serve.result.requests }, { time: pick(times[1]!), reviews: blocks.result.requests }, top);
  const cpu = (p: (typeof profiled)[number]) => `${p.name} ${fixed(p.result.requests / p.result.seconds, 0)} req/s, CPU ${fixed((p.result.serverCpuSeconds * 1e6) / p.result.requests, 1)} µs/review (all threads), load average ${p.load}`;
  return [
    `profile: ${serve.file}`,
    '',
    summarizeProfile(serve.file),
    '',
    `per review, serve against the blocks floor at concurrency ${concurrency}, one after the other: ${cpu(serve)}; ${cpu(blocks)}`,
    `(${blocks.file})`,
    '',
    'by group:',
    side((t) => t.byGroup, 30),
    '',
    'by function:',
    side((t) => t.byFunction, 40),
  ].join('\n');
}

/**
 * CPU per review by where it goes (lib/perf-groups.ts), for `serve`, the
 * baseline if any, and the blocks floor, each recorded with `perf record -e
 * cpu-clock -g` over its measured window at `concurrency`, one after the
 * other, with the load average at each.
 */
async function perfServe(concurrency: number): Promise<string> {
  if (!perfAvailable()) return 'perf: `perf record -e cpu-clock` cannot run here (not installed, or kernel.perf_event_paranoid forbids it)';
  const dir = `${RESULTS}perf-${Date.now()}`;
  mkdirSync(dir, { recursive: true });
  const frequency = 2000;
  const recorded: Array<{ name: string; time: Map<string, number>; reviews: number; line: string }> = [];
  const names = ['serve', ...(baselineEntry === undefined ? [] : [`serve@${flags.baseline}`]), 'blocks-floor'];
  for (const name of names) {
    // --perf-basic-prof also writes V8's log, by default as isolate-*.log in the working directory.
    const nodeArgs = ['--perf-basic-prof', `--logfile=${dir}/${name.replace(/[^\w.-]/g, '_')}-v8.log`, '--no-logfile-per-isolate'];
    const target = name === 'blocks-floor' ? await startFloor(true, nodeArgs) : name === 'serve' ? await startServe(nodeArgs) : await startServe(nodeArgs, baselineEntry, name);
    const load = loadavg()[0]!.toFixed(2);
    const file = `${dir}/${name.replace(/[^\w.-]/g, '_')}.data`;
    const running = runLoad(target, concurrency);
    // perf follows the measured window: it starts when the warm-up ends and stops with the load.
    await new Promise((resolve) => setTimeout(resolve, warmupMs));
    const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', String(frequency), '-g', '-o', file, '-p', String(target.child.pid)], { stdio: 'ignore' });
    const result = await running;
    const stopped = new Promise((resolve) => perf.once('exit', resolve));
    perf.kill('SIGINT');
    await stopped;
    target.child.kill('SIGKILL');
    const { groups, samples } = perfGroups(file);
    const us = 1e6 / frequency;
    const time = new Map([...groups].map(([group, n]) => [group, n * us]));
    const line = `${name}: ${fixed(result.requests / result.seconds, 0)} req/s, ${fixed((samples * us) / result.requests, 1)} µs sampled per review (${fixed((result.serverCpuSeconds * 1e6) / result.requests, 1)} from /proc), load average ${load}-${loadavg()[0]!.toFixed(2)}`;
    recorded.push({ name, time, reviews: result.requests, line });
  }
  const serve = recorded[0]!;
  const against = recorded.slice(1).map((other) => [`serve against ${other.name}:`, perReviewDiff([serve.name, other.name], serve, other, 40, 0.5)].join('\n'));
  return [`perf (cpu-clock, every thread, ${frequency} Hz, at concurrency ${concurrency}), ${dir}`, ...recorded.map((r) => `- ${r.line}`), '', ...against].join('\n\n');
}

/** Least-squares slope of `values` sampled once a second, in units per minute. */
function slopePerMinute(values: number[]): number {
  const n = values.length;
  if (n < 2) return NaN;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  values.forEach((y, x) => {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  });
  return (num / den) * 60;
}

/**
 * The soak: `serve` held at 80% of the throughput it reached at the first
 * concurrency, paced open-loop, for `--soak` seconds. Memory is flat when the
 * RSS trend over the second half of the window is near zero.
 */
async function soakServe(serve: Target, rows: Row[]): Promise<string> {
  const concurrency = concurrencies[0]!;
  const saturated = rows.find((r) => r.target === 'serve' && r.concurrency === concurrency)!.result;
  const rate = Math.round((0.8 * saturated.requests) / saturated.seconds);
  const seconds = Number(flags.soak);
  process.stdout.write(`
soak: serve at ${rate} req/s (80% of ${fixed(saturated.requests / saturated.seconds, 0)}) for ${seconds} s ...
`);
  const result = await runLoad(serve, concurrency, { ratePerSecond: rate, durationMs: seconds * 1000 });
  const timeline = result.rssTimeline;
  const secondHalf = timeline.slice(Math.floor(timeline.length / 2));
  const summary = [
    `## Soak: ${seconds} s at 80% of saturation`,
    '',
    `| rate req/s | achieved req/s | requests | errors | p50 ms | p99 ms | p99.9 ms | RSS first s MB | RSS last s MB | RSS max MB | RSS trend, 2nd half, MB/min |`,
    `|---|---|---|---|---|---|---|---|---|---|---|`,
    `| ${rate} | ${fixed(result.requests / result.seconds, 0)} | ${result.requests} | ${result.errors} | ${fixed(result.p50, 2)} | ${fixed(result.p99, 2)} | ${fixed(result.p999, 2)} | ${fixed(timeline[0] ?? NaN, 1)} | ${fixed(timeline[timeline.length - 1] ?? NaN, 1)} | ${fixed(result.serverRssMb, 1)} | ${fixed(slopePerMinute(secondHalf), 2)} |`,
    '',
    `RSS once a second (MB): ${timeline.map((v) => v.toFixed(0)).join(' ')}`,
  ].join('\n');
  process.stdout.write(`${summary}\n`);
  return summary;
}

async function main(): Promise<void> {
  const started = new Date();
  const machine = `${availableParallelism()} CPUs (${cpuModel()}), Node ${process.version}, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
  process.stdout.write(`mcp-admission direct benchmark\n${machine}\n`);
  process.stdout.write(`each phase: ${warmupMs / 1000} s warm-up + ${durationMs / 1000} s measured; servers run from ${flags.sources === 'js' ? 'compiled JavaScript' : '.ts sources (type stripping)'}; serve runs with --log-level warn (no per-request log line), built-in policy, TLS from files, NODE_OPTIONS=${JSON.stringify(flags['node-options'])}\n`);

  const [floor, blocksFloor] = [await startFloor(), await startFloor(true)];
  const baseline = baselineEntry === undefined ? [] : [await startServe([], baselineEntry, `serve@${flags.baseline}`)];
  const serve = await startServe();
  const targets = [floor, blocksFloor, ...baseline, serve];
  const rounds = Number(flags.rounds);
  const all: Array<Row & { load: number }> = [];
  for (const concurrency of concurrencies) {
    for (let round = 1; round <= rounds; round++) {
      for (const target of targets) {
        const load = loadavg()[0]!;
        process.stdout.write(`  ${target.name} at concurrency ${concurrency}${rounds > 1 ? `, round ${round}` : ''} (load average ${load.toFixed(2)}) ...`);
        const result = await runLoad(target, concurrency);
        all.push({ concurrency, target: target.name, result, peakRssMb: statusMb(target.child.pid!, 'VmHWM'), load });
        process.stdout.write(` ${fixed(result.requests / result.seconds, 0)} req/s, ${fixed((result.serverCpuSeconds * 1e6) / result.requests, 1)} µs CPU per review${result.errors ? `, ${result.errors} errors (${result.firstError})` : ''}\n`);
      }
    }
  }
  // Over several rounds, each target's round of median CPU per review stands for it in the table.
  const cpuPerReview = (r: Row) => r.result.serverCpuSeconds / r.result.requests;
  const rows: Row[] = concurrencies.flatMap((concurrency) =>
    targets.map((target) => {
      const mine = all.filter((r) => r.concurrency === concurrency && r.target === target.name).sort((a, b) => cpuPerReview(a) - cpuPerReview(b));
      return mine[Math.floor((mine.length - 1) / 2)]!;
    }),
  );
  const roundsReport =
    rounds > 1
      ? concurrencies
          .flatMap((concurrency) =>
            targets.map((target) => {
              const mine = all.filter((r) => r.concurrency === concurrency && r.target === target.name);
              return `- ${target.name} at concurrency ${concurrency}, round by round: ${mine.map((r) => `${fixed(cpuPerReview(r) * 1e6, 1)} µs/review, ${fixed(r.result.requests / r.result.seconds, 0)} req/s (load ${r.load.toFixed(1)})`).join('; ')}`;
            }),
          )
          .join('\n')
      : '';
  const soak = Number(flags.soak) > 0 ? await soakServe(serve, rows) : '';
  for (const target of targets) target.child.kill('SIGTERM');

  const serveRows = rows.filter((r) => r.target === 'serve');
  const over = (target: string, of: string) =>
    rows
      .filter((r) => r.target === of)
      .map((r) => r.result.requests / rows.find((o) => o.target === target && o.concurrency === r.concurrency)!.result.requests);
  const ratios = over('floor', 'serve');
  const maxRss = Math.max(...serveRows.map((r) => r.result.serverRssMb));
  const maxHwm = Math.max(...serveRows.map((r) => r.peakRssMb));
  const errors = rows.reduce((n, r) => n + r.result.errors, 0);
  const verdict = [
    `- throughput: serve/floor ${ratios.map((r) => fixed(r, 2)).join(', ')} at concurrency ${concurrencies.join(', ')} (target ≥ ${TARGET_RATIO}): ${ratios.every((r) => r >= TARGET_RATIO) ? 'met' : 'MISSED'}`,
    `- against the floor on the building blocks: serve/blocks floor ${over('blocks-floor', 'serve').map((r) => fixed(r, 2)).join(', ')}, blocks floor/floor ${over('floor', 'blocks-floor').map((r) => fixed(r, 2)).join(', ')} (no target: what the building blocks take)`,
    `- memory: serve RSS under load ${fixed(maxRss, 1)} MB (target ≤ ${TARGET_RSS_MB} MB): ${maxRss <= TARGET_RSS_MB ? 'met' : 'MISSED'}; peak since start (VmHWM, start-up included) ${fixed(maxHwm, 1)} MB: ${maxHwm <= TARGET_RSS_MB ? 'met' : 'MISSED'}`,
    ...baseline.map((b) => {
      const cpu = (target: string) => rows.filter((r) => r.target === target).map((r) => (r.result.serverCpuSeconds * 1e6) / r.result.requests);
      const [now, then] = [cpu('serve'), cpu(b.name)];
      return `- against ${b.name}: throughput serve/${b.name} ${over(b.name, 'serve').map((r) => fixed(r, 2)).join(', ')}; CPU per review ${now.map((us, i) => `${fixed(us, 1)} µs against ${fixed(then[i]!, 1)}`).join(', ')} at concurrency ${concurrencies.join(', ')}`;
    }),
    `- errors: ${errors}`,
  ].join('\n');
  const mix = serveRows[0]
    ? Object.entries(serveRows[serveRows.length - 1]!.result.perKind)
        .map(([name, k]) => `${name}: p50 ${fixed(k.p50, 2)} ms, p99 ${fixed(k.p99, 2)} ms`)
        .join('; ')
    : '';
  const rendered = table(rows);
  process.stdout.write(`\n${rendered}\n\n${verdict}\n${roundsReport ? `${roundsReport}\n` : ''}serve per request kind at concurrency ${concurrencies[concurrencies.length - 1]}: ${mix}\n`);

  let profile = '';
  if (flags.profile) {
    process.stdout.write(`\nprofiling serve at concurrency ${concurrencies[0]} ...\n`);
    profile = await profileServe(concurrencies[0]!);
    process.stdout.write(`${profile}\n`);
  }
  let perfReport = '';
  if (flags.perf) {
    process.stdout.write(`\nrecording CPU with perf at concurrency ${concurrencies[0]} ...\n`);
    perfReport = await perfServe(concurrencies[0]!);
    process.stdout.write(`${perfReport}\n`);
  }
  if (!flags.profile && !flags.perf && !ratios.every((r) => r >= TARGET_RATIO)) {
    process.stdout.write('throughput target missed: run with --profile for the top functions of serve\n');
  }

  mkdirSync(RESULTS, { recursive: true });
  const stamp = started.toISOString().slice(0, 16).replace(':', '-');
  const file = `${RESULTS}admission-${stamp}.md`;
  const markdown = [
    `# mcp-admission direct benchmark, ${started.toISOString()}`,
    '',
    `Machine: ${machine}.`,
    '',
    `Request mix, round-robin per connection loop: Deployment review (~3.2 KB) to /mutate, the same to /validate, Service review (~0.7 KB) to /mutate. HTTPS keep-alive, ${warmupMs / 1000} s warm-up then ${durationMs / 1000} s measured per phase. Servers run from ${flags.sources === 'js' ? 'compiled JavaScript (as the image runs dist/)' : '.ts sources (type stripping)'}; serve: \`--log-level warn\` (no per-request log line), built-in policy, the same RSA 2048 certificate as the floor, from files. blocks-floor: the floor's answers from express, serve's envelope check (JSON.parse and zod), logger (level warn, as serve's here) and request histogram, with serve's NODE_OPTIONS. CPU % is of one core; client CPU % is the load generator's.`,
    '',
    rendered,
    '',
    verdict,
    ...(roundsReport ? ['', roundsReport] : []),
    '',
    `serve per request kind at concurrency ${concurrencies[concurrencies.length - 1]}: ${mix}`,
    ...(soak ? ['', soak] : []),
    ...(profile ? ['', '```', profile, '```'] : []),
    ...(perfReport ? ['', perfReport] : []),
    '',
  ].join('\n');
  writeFileSync(file, markdown);
  process.stdout.write(`\nwritten to ${file.replace(ROOT, '')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

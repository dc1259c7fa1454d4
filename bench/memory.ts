/**
 * Memory benchmark (`npm run bench:memory`, not a test; issue 13): the RSS of
 * `serve` as production runs it, against the floor server, for V8 heap
 * settings side by side. Production here means: compiled JavaScript (as the
 * image runs dist/), policies from the cluster through the informers (so the
 * Kubernetes client is loaded), `info` logging (written to /dev/null), TLS
 * from certificate files. The API server is the end-to-end harness's real
 * kube-apiserver; the reviews go straight to `serve` (bench/lib/load.ts), so
 * only the webhook's own memory is measured.
 *
 * For each policy count (`--policies 1,1000`: the default policy plus
 * bench/lib/scaling.ts's namespace policies, created through the API server)
 * and each `--node-options` value (repeatable; `''` is Node's defaults;
 * leading `NAME=value` words set environment variables instead), a
 * fresh `serve` goes through four phases, and RSS (VmRSS) is read from /proc:
 *
 * 1. ready: 3 s after /readyz first answers 200 (policies listed);
 * 2. paced: one request at a time at `--rate` per second (20), as a cluster
 *    sends them: the largest RSS over the window is the steady figure;
 * 3. burst: `--concurrency` (16) loops back to back: the largest RSS;
 * 4. after: 3 s idle after the burst; and VmHWM, the peak since start.
 *
 * CPU ms per request (utime+stime over the window) shows what a smaller
 * young generation costs. The floor (bench/lib/floor-server.ts, bare
 * node:https, Node's defaults) goes through the same phases once, and so
 * does the floor on the building blocks (bench/lib/blocks-floor-server.ts:
 * the floor's answers from express, serve's zod envelope check, logger at
 * info, written to a pipe that is drained, and request histogram; the
 * image's NODE_OPTIONS and malloc settings; no Kubernetes client, no informer).
 *
 * With `--breakdown`, every process measured carries bench/lib/memory-probe.mjs
 * (the floors too, so the preload costs each the same): right after the paced
 * phase the steady RSS is split by part, the kernel's view (/proc/PID/smaps:
 * the node binary's pages, other files, malloc's brk heap, anonymous pages)
 * beside V8's (each heap space resident and in use, code and bytecode,
 * external memory and array buffers); at the end, after the peak is read, a
 * heap snapshot of each is summed by node type, by name against the blocks
 * floor, and by script source (`MEMORY_KEEP_SNAPSHOTS=1` keeps the
 * snapshots in bench/results/ for DevTools).
 *
 * Flags: `--policies 1,1000`, `--node-options S` (repeatable; default: Node's
 * defaults and the image's settings), `--duration S` (10), `--rate N` (20),
 * `--concurrency N` (16), `--breakdown`. Writes
 * `bench/results/memory-<date>T<time>.md`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePorts } from '../test/support/harness/ports.ts';
import { startE2E, type E2E } from '../test/support/harness.ts';
import { buildForBenchmark, writeFloorEntry } from './lib/build.ts';
import { writeCertificateFiles } from './lib/certificate-files.ts';
import { statusMb, type LoadOptions, type LoadResult } from './lib/load.ts';
import { forkLoad } from './lib/load-process.ts';
import { probe, smapsRss, summarizeSnapshot, type HeapSummary, type ProbeRecord, type SmapsRss } from './lib/memory-breakdown.ts';
import { IMAGE_MALLOC_ENV, IMAGE_NODE_OPTIONS, IMAGE_VARIANT } from './lib/node-options.ts';
import { transportPolicies } from './lib/scaling.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const RESULTS = new URL('results/', import.meta.url).pathname;
const BUILD = `${RESULTS}build-memory/`;
const CLOCK_TICKS = 100; // USER_HZ

const { values: flags } = parseArgs({
  options: {
    policies: { type: 'string', default: '1,1000' },
    'node-options': { type: 'string', multiple: true },
    duration: { type: 'string', default: '10' },
    rate: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '16' },
    breakdown: { type: 'boolean', default: false },
  },
});
const policyCounts = flags.policies.split(',').map(Number);
const variants = flags['node-options'] ?? ['', IMAGE_VARIANT];
const durationMs = Number(flags.duration) * 1000;
const rate = Number(flags.rate);
const concurrency = Number(flags.concurrency);
const breakdown = flags.breakdown;

const scratch = mkdtempSync(join(tmpdir(), 'mcp-admission-bench-memory-'));
// With --breakdown every measured process, the floors too, carries the same preload (bench/lib/memory-probe.mjs).
const probeArgs = breakdown ? ['--import', new URL('lib/memory-probe.mjs', import.meta.url).pathname] : [];
const probeEnv = breakdown ? { MEMORY_PROBE_DIR: scratch } : {};
const { certFile, keyFile } = await writeCertificateFiles(scratch);
const serveEntry = buildForBenchmark(ROOT, BUILD);
const floorEntry = writeFloorEntry(ROOT, BUILD);
const blocksFloorEntry = writeFloorEntry(ROOT, BUILD, 'blocks-floor-server');

const children: ChildProcess[] = [];
let env: E2E | undefined;
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});
process.on('SIGINT', () => {
  void env?.stop().finally(() => process.exit(130));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


async function waitReady(port: number, child: ChildProcess, path: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode})`);
    const status = await new Promise<number>((resolve) => {
      get({ host: '127.0.0.1', port, path, rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', () => resolve(0));
    });
    if (status === 200 || (path === '/' && status !== 0)) return;
    await sleep(200);
  }
  throw new Error('server not ready after 60 s');
}

interface Target {
  name: string;
  port: number;
  child: ChildProcess;
}

/**
 * The environment of one variant: leading `NAME=value` words are variables
 * (e.g. `MALLOC_ARENA_MAX=2`), the rest is NODE_OPTIONS.
 */
function variantEnv(variant: string): NodeJS.ProcessEnv {
  const words = variant.split(/\s+/).filter(Boolean);
  const vars = words.filter((w) => /^[A-Z_][A-Z0-9_]*=/.test(w));
  const options = words.filter((w) => !vars.includes(w));
  return { ...Object.fromEntries(vars.map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)])), NODE_OPTIONS: options.join(' ') };
}

async function startServe(kubeconfig: string, variant: string): Promise<Target> {
  const [port, metricsPort] = (await freePorts(2)) as [number, number];
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...probeEnv, ...variantEnv(variant) };
  delete childEnv.KUBERNETES_SERVICE_HOST;
  delete childEnv.KUBECONFIG;
  const child = spawn(
    process.execPath,
    [...probeArgs, serveEntry, 'serve', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(metricsPort),
      '--tls-cert', certFile, '--tls-key', keyFile, '--kubeconfig', kubeconfig, '--policy-source', 'cluster',
      '--log-level', 'info', '--shutdown-delay-seconds', '0'],
    // info logging is written, to /dev/null: its cost is paid, its text is not kept.
    { cwd: ROOT, env: childEnv, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.push(child);
  await waitReady(port, child, '/readyz');
  return { name: 'serve', port, child };
}

/** The bare floor with Node's defaults, or the floor on the building blocks with the image's NODE_OPTIONS and malloc settings. */
async function startFloor(blocks = false): Promise<Target> {
  const args = [...probeArgs, ...(blocks ? [blocksFloorEntry, certFile, keyFile, '--log-level', 'info'] : [floorEntry, certFile, keyFile])];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...probeEnv, ...(blocks && IMAGE_MALLOC_ENV), NODE_OPTIONS: blocks ? IMAGE_NODE_OPTIONS : '' }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve((JSON.parse(chunk.toString().split('\n')[0]!) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`floor server exited (${code})`)));
  });
  // The blocks floor's log lines after the port: read and dropped.
  child.stdout!.resume();
  return { name: blocks ? 'blocks-floor' : 'floor', port, child };
}

function runLoad(target: Target, options: Partial<LoadOptions>): Promise<LoadResult> {
  const full: LoadOptions = { port: target.port, serverPid: target.child.pid!, concurrency: 1, warmupMs: 1000, durationMs, clockTicks: CLOCK_TICKS, ...options };
  return forkLoad(full, children);
}

interface Row {
  target: string;
  policies: number | undefined;
  nodeOptions: string;
  readyMb: number;
  paced: LoadResult;
  burst: LoadResult;
  afterMb: number;
  peakMb: number;
  /** With --breakdown: right after the paced phase, the kernel's and V8's views; at the end, a heap snapshot. */
  parts?: { vmRssMb: number; smaps: SmapsRss; record: ProbeRecord; heap?: HeapSummary };
}

async function measure(target: Target, policies: number | undefined, nodeOptions: string): Promise<Row> {
  await sleep(3000);
  const pid = target.child.pid!;
  const readyMb = statusMb(pid, 'VmRSS');
  const paced = await runLoad(target, { concurrency: 1, ratePerSecond: rate });
  // Steady state, as the paced phase left it: RSS by mapping, then V8's view a moment after.
  const parts = breakdown ? { vmRssMb: statusMb(pid, 'VmRSS'), smaps: smapsRss(pid), record: (await probe(pid, scratch, 1)).record } : undefined;
  const burst = await runLoad(target, { concurrency });
  await sleep(3000);
  const row: Row = { target: target.name, policies, nodeOptions, readyMb, paced, burst, afterMb: statusMb(pid, 'VmRSS'), peakMb: statusMb(pid, 'VmHWM'), ...(parts && { parts }) };
  if (row.parts) {
    // Last, after the peak is read: the snapshot allocates.
    const { snapshotFile } = await probe(pid, scratch, 2, true);
    row.parts.heap = summarizeSnapshot(snapshotFile!);
    // Kept beside the results for a closer look in DevTools (Memory, Comparison) when asked.
    if (process.env.MEMORY_KEEP_SNAPSHOTS) copyFileSync(snapshotFile!, `${RESULTS}memory-${target.name}-${pid}.heapsnapshot`);
    rmSync(snapshotFile!);
  }
  const exited = new Promise((resolve) => target.child.once('exit', resolve));
  target.child.kill('SIGTERM');
  await exited;
  return row;
}

const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const cpuMs = (r: LoadResult) => fixed((r.serverCpuSeconds * 1000) / r.requests, 3);

function table(rows: Row[]): string {
  const floor = rows.find((r) => r.target === 'floor');
  const blocks = rows.find((r) => r.target === 'blocks-floor');
  const header = ['target', 'policies', 'NODE_OPTIONS', 'RSS ready MB', `RSS paced ${rate}/s MB`, 'paced / floor', 'paced / blocks-floor', 'CPU ms/req paced', 'p50 ms paced',
    `RSS at c=${concurrency} MB`, `CPU ms/req c=${concurrency}`, `req/s c=${concurrency}`, 'RSS after MB', 'peak (VmHWM) MB', 'errors'];
  const lines = rows.map((r) => [
    r.target,
    r.policies === undefined ? '' : String(r.policies),
    r.target === 'floor' ? '(defaults)' : r.nodeOptions ? `\`${r.nodeOptions}\`` : '(defaults)',
    fixed(r.readyMb),
    fixed(r.paced.serverRssMb),
    floor ? fixed(r.paced.serverRssMb / floor.paced.serverRssMb, 2) : '',
    blocks && r.target !== 'floor' ? fixed(r.paced.serverRssMb / blocks.paced.serverRssMb, 2) : '',
    cpuMs(r.paced),
    fixed(r.paced.p50, 2),
    fixed(r.burst.serverRssMb),
    cpuMs(r.burst),
    fixed(r.burst.requests / r.burst.seconds, 0),
    fixed(r.afterMb),
    fixed(r.peakMb),
    String(r.paced.errors + r.burst.errors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

const mb = (bytes: number) => fixed(bytes / 1048576);
const kbMb = (kb: number) => fixed(kb / 1024);

function markdown(header: string[], lines: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`)].join('\n');
}

/** The columns of the breakdown: each measured process, then each serve row less the blocks floor. */
function partsColumns(rows: Row[]): { header: string[]; cells: (value: (r: Row) => number, show: (n: number) => string) => string[] } {
  const measured = rows.filter((r) => r.parts);
  const blocks = measured.find((r) => r.target === 'blocks-floor');
  const serves = measured.filter((r) => r.target === 'serve');
  const label = (r: Row) => (r.target === 'serve' ? `serve, ${r.policies} ${r.policies === 1 ? 'policy' : 'policies'}` : r.target);
  const header = [...measured.map(label), ...(blocks ? serves.map((r) => `${label(r)} − blocks floor`) : [])];
  return {
    header,
    cells: (value, show) => [...measured.map((r) => show(value(r))), ...(blocks ? serves.map((r) => show(value(r) - value(blocks))) : [])],
  };
}

/** Steady RSS by part (MB), from /proc and from V8, for each process measured with --breakdown. */
function partsTable(rows: Row[]): string {
  const { header, cells } = partsColumns(rows);
  const space = (name: string, field: 'physical' | 'used') => (r: Row) => r.parts!.record.spaces.find((s) => s.space === name)?.[field] ?? 0;
  const spaces = [...new Set(rows.flatMap((r) => r.parts?.record.spaces.map((s) => s.space) ?? []))];
  const outside = (r: Row) => (r.parts!.smaps.anonymous + r.parts!.smaps.brk) * 1024 - r.parts!.record.heap.total_physical_size;
  const lines: [string, (r: Row) => number, (n: number) => string][] = [
    ['VmRSS after the paced phase (/proc status)', (r) => r.parts!.vmRssMb * 1048576, mb],
    ['smaps Rss: the node binary', (r) => r.parts!.smaps.nodeBinary * 1024, mb],
    ['smaps Rss: other files (libraries)', (r) => r.parts!.smaps.otherFiles * 1024, mb],
    ['smaps Rss: brk heap (malloc main arena)', (r) => r.parts!.smaps.brk * 1024, mb],
    ['smaps Rss: anonymous (V8 pages, malloc mmaps, thread stacks)', (r) => r.parts!.smaps.anonymous * 1024, mb],
    ['smaps Rss: stack, vdso', (r) => r.parts!.smaps.other * 1024, mb],
    ['V8 heap, resident (total_physical_size)', (r) => r.parts!.record.heap.total_physical_size, mb],
    ...spaces.map((name): [string, (r: Row) => number, (n: number) => string] => [`  ${name}, resident`, space(name, 'physical'), mb]),
    ['V8 heap, in use (used_heap_size)', (r) => r.parts!.record.heap.used_heap_size, mb],
    ...['new_space', 'old_space', 'code_space', 'trusted_space', 'large_object_space'].map((name): [string, (r: Row) => number, (n: number) => string] => [`  ${name}, in use`, space(name, 'used'), mb]),
    ['  bytecode and metadata (getHeapCodeStatistics)', (r) => r.parts!.record.code.bytecode_and_metadata_size, mb],
    ['  machine code and metadata', (r) => r.parts!.record.code.code_and_metadata_size, mb],
    ['  external script source', (r) => r.parts!.record.code.external_script_source_size, mb],
    ['external (memoryUsage)', (r) => r.parts!.record.memory.external, mb],
    ['  of which array buffers', (r) => r.parts!.record.memory.arrayBuffers, mb],
    ['V8 malloced memory', (r) => r.parts!.record.heap.malloced_memory, mb],
    ['anonymous + brk − V8 resident: malloc, buffers, stacks', outside, mb],
    ['RSS − heap total − external (the benchmarks\' "outside" figure)', (r) => r.parts!.record.memory.rss - r.parts!.record.memory.heapTotal - r.parts!.record.memory.external, mb],
  ];
  return `Steady RSS by part, MB (read right after the paced phase; smaps from /proc/PID/smaps, V8 from the preloaded probe):\n\n${markdown(['part', ...header], lines.map(([name, value, show]) => [name, ...cells(value, show)]))}`;
}

/** Heap snapshot self sizes (MB), by node type and the largest differences by name, serve against the blocks floor. */
function snapshotTable(rows: Row[]): string {
  const { header, cells } = partsColumns(rows);
  const measured = rows.filter((r) => r.parts?.heap);
  const blocks = measured.find((r) => r.target === 'blocks-floor');
  const serve = measured.find((r) => r.target === 'serve');
  const types = [...new Set(measured.flatMap((r) => [...r.parts!.heap!.byType.keys()]))];
  const get = (map: (r: Row) => Map<string, number>, key: string) => (r: Row) => map(r).get(key) ?? 0;
  const byType = types
    .map((t) => [`${t}`, ...cells(get((r) => r.parts!.heap!.byType, t), mb)])
    .concat([['total', ...cells((r) => r.parts!.heap!.total, mb)]]);
  const out = [`Heap snapshot at the end (after the burst and 3 s idle), self size by node type, MB:\n\n${markdown(['type', ...header], byType)}`];
  if (blocks && serve) {
    const names = new Set([...serve.parts!.heap!.byName.keys(), ...blocks.parts!.heap!.byName.keys()]);
    const diff = [...names]
      .map((n) => [n, (serve.parts!.heap!.byName.get(n) ?? 0) - (blocks.parts!.heap!.byName.get(n) ?? 0)] as const)
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
      .slice(0, 25);
    out.push(`The 25 largest differences by type and name, first serve row against the blocks floor, KB:\n\n${markdown(['type: name', 'serve', 'blocks floor', 'difference'],
      diff.map(([n, d]) => [n, fixed((serve.parts!.heap!.byName.get(n) ?? 0) / 1024, 0), fixed((blocks.parts!.heap!.byName.get(n) ?? 0) / 1024, 0), fixed(d / 1024, 0)]))}`);
    const group = (summary: HeapSummary) => {
      const g = new Map<string, number>();
      for (const [script, size] of summary.scriptSources) {
        // By package, serve's own modules by directory (the build is bench/results/build-memory/), Node's own as one.
        const key = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(script)?.[1] ?? (/build-memory\/(bench\/|[^/]+\/)?/.exec(script) ? `ours: ${/build-memory\/((?:[^/]+\/)?)/.exec(script)![1] || '(top)'}` : script.startsWith('node:') || !script.includes('/') ? 'node internals' : script);
        g.set(key, (g.get(key) ?? 0) + size);
      }
      return g;
    };
    const sSources = group(serve.parts!.heap!);
    const bSources = group(blocks.parts!.heap!);
    const keys = [...new Set([...sSources.keys(), ...bSources.keys()])].sort((a, b) => (sSources.get(b) ?? 0) - (bSources.get(b) ?? 0) - ((sSources.get(a) ?? 0) - (bSources.get(a) ?? 0)));
    out.push(`Script source text kept on the heap, by script, first serve row and the blocks floor, KB:\n\n${markdown(['script', 'serve', 'blocks floor'],
      keys.slice(0, 40).map((k) => [k, fixed((sSources.get(k) ?? 0) / 1024, 0), fixed((bSources.get(k) ?? 0) / 1024, 0)]))}`);
  }
  return out.join('\n\n');
}

async function main(): Promise<void> {
  const started = new Date();
  const machine = `${availableParallelism()} CPUs, Node ${process.version}, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
  process.stdout.write(`mcp-admission memory benchmark\n${machine}\n`);
  env = await startE2E({ webhook: false });
  const rows: Row[] = [];
  try {
    process.stdout.write(`  floor ...`);
    rows.push(await measure(await startFloor(), undefined, ''));
    process.stdout.write(` paced ${fixed(rows[0]!.paced.serverRssMb)} MB\n  blocks floor ...`);
    rows.push(await measure(await startFloor(true), undefined, IMAGE_VARIANT));
    process.stdout.write(` paced ${fixed(rows[1]!.paced.serverRssMb)} MB\n`);
    let installed = 1; // startE2E installs the default policy
    for (const count of policyCounts) {
      if (count > installed) {
        const more = transportPolicies(count).slice(installed);
        for (let i = 0; i < more.length; i += 200) {
          const applied = await env.apply(more.slice(i, i + 200), ['--server-side']);
          if (applied.code !== 0) throw new Error(`creating policies: ${applied.stderr}`);
        }
        installed = count;
      }
      for (const nodeOptions of variants) {
        process.stdout.write(`  serve, ${count} policies, NODE_OPTIONS=${JSON.stringify(nodeOptions)} (load average ${loadavg()[0]!.toFixed(2)}) ...`);
        const row = await measure(await startServe(env.controlPlane.kubeconfig, nodeOptions), count, nodeOptions);
        rows.push(row);
        process.stdout.write(` paced ${fixed(row.paced.serverRssMb)} MB, c=${concurrency} ${fixed(row.burst.serverRssMb)} MB, peak ${fixed(row.peakMb)} MB\n`);
      }
    }
  } finally {
    await env.stop();
  }
  const report = [
    `# Memory benchmark, ${started.toISOString()}`,
    '',
    machine,
    `each load phase: 1 s warm-up + ${durationMs / 1000} s measured; serve: compiled JavaScript, policies from the cluster (informers), info logging to /dev/null, TLS from files`,
    '',
    table(rows),
    '',
    ...(breakdown ? [partsTable(rows), '', snapshotTable(rows), ''] : []),
  ].join('\n');
  process.stdout.write(`\n${report}`);
  mkdirSync(RESULTS, { recursive: true });
  const file = `${RESULTS}memory-${started.toISOString().slice(0, 19).replaceAll(':', '')}.md`;
  writeFileSync(file, report);
  process.stdout.write(`\nwritten to ${file}\n`);
}

await main();
process.exit(0);

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
 * image's NODE_OPTIONS; no Kubernetes client, no informer).
 *
 * Flags: `--policies 1,1000`, `--node-options S` (repeatable; default: Node's
 * defaults and the image's settings), `--duration S` (10), `--rate N` (20),
 * `--concurrency N` (16). Writes `bench/results/memory-<date>T<time>.md`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { IMAGE_NODE_OPTIONS } from './lib/node-options.ts';
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
  },
});
const policyCounts = flags.policies.split(',').map(Number);
const variants = flags['node-options'] ?? ['', IMAGE_NODE_OPTIONS];
const durationMs = Number(flags.duration) * 1000;
const rate = Number(flags.rate);
const concurrency = Number(flags.concurrency);

const scratch = mkdtempSync(join(tmpdir(), 'mcp-admission-bench-memory-'));
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
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...variantEnv(variant) };
  delete childEnv.KUBERNETES_SERVICE_HOST;
  delete childEnv.KUBECONFIG;
  const child = spawn(
    process.execPath,
    [serveEntry, 'serve', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(metricsPort),
      '--tls-cert', certFile, '--tls-key', keyFile, '--kubeconfig', kubeconfig, '--policy-source', 'cluster',
      '--log-level', 'info', '--shutdown-delay-seconds', '0'],
    // info logging is written, to /dev/null: its cost is paid, its text is not kept.
    { cwd: ROOT, env: childEnv, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.push(child);
  await waitReady(port, child, '/readyz');
  return { name: 'serve', port, child };
}

/** The bare floor with Node's defaults, or the floor on the building blocks with the image's NODE_OPTIONS. */
async function startFloor(blocks = false): Promise<Target> {
  const args = blocks ? [blocksFloorEntry, certFile, keyFile, '--log-level', 'info'] : [floorEntry, certFile, keyFile];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: blocks ? IMAGE_NODE_OPTIONS : '' }, stdio: ['ignore', 'pipe', 'inherit'] });
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
}

async function measure(target: Target, policies: number | undefined, nodeOptions: string): Promise<Row> {
  await sleep(3000);
  const pid = target.child.pid!;
  const readyMb = statusMb(pid, 'VmRSS');
  const paced = await runLoad(target, { concurrency: 1, ratePerSecond: rate });
  const burst = await runLoad(target, { concurrency });
  await sleep(3000);
  const row = { target: target.name, policies, nodeOptions, readyMb, paced, burst, afterMb: statusMb(pid, 'VmRSS'), peakMb: statusMb(pid, 'VmHWM') };
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
    rows.push(await measure(await startFloor(true), undefined, IMAGE_NODE_OPTIONS));
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
  ].join('\n');
  process.stdout.write(`\n${report}`);
  mkdirSync(RESULTS, { recursive: true });
  const file = `${RESULTS}memory-${started.toISOString().slice(0, 19).replaceAll(':', '')}.md`;
  writeFileSync(file, report);
  process.stdout.write(`\nwritten to ${file}\n`);
}

await main();
process.exit(0);

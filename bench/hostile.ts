/**
 * Hostile-tenant benchmark (`npm run bench:hostile`, not a test): the real
 * `serve`, built to JavaScript as the image runs it, against three attacks
 * any pod in the cluster can make, each on a fresh server process:
 *
 * - (a) `namespaces`: reviews for made-up namespace names (`--namespaces N`,
 *   200,000), each name used once;
 * - (b) `slow`: 3,000 TLS connections (`--slow N`) that never finish their
 *   request headers, held for `--duration` seconds;
 * - (c) `big`: 16 concurrent loops (`--big N`) of 7 MiB reviews for
 *   `--duration` seconds.
 *
 * Meanwhile a separate client sends one small review (the ~3 KB Deployment
 * of `reviews.ts`) every 100 ms over a keep-alive connection, as the API
 * server does, and times it. Reports the server's RSS before, at its peak
 * (VmHWM) and at the end, how the attack fared, and the small reviews'
 * latency, against the targets: peak RSS under the pod's memory limit
 * (deploy/webhook/deployment.yaml, 384 MiB) and small reviews under 1 s.
 * Before them, in a process of its own, (a) without the server around it:
 * the heap the settings source still holds, after a full collection,
 * having answered for `--retained N` made-up names (510,000).
 * `--only r,a,b,c` runs a subset; `--node-options '--max-old-space-size=N'`
 * passes flags to the server's node (default: the image's NODE_OPTIONS,
 * from the Dockerfile; `--node-options=` for Node's defaults). The server's RSS every 20 s is
 * printed after the table: a bounded server levels off, a leak climbs.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { DevelopmentCertificateSource } from '../src/server/certificate-source.ts';
import { freePorts } from '../test/support/harness/ports.ts';
import type { HostileOptions, HostileResult } from './lib/hostile-load.ts';
import { buildForBenchmark } from './lib/build.ts';
import { statusMb } from './lib/load.ts';
import { IMAGE_NODE_OPTIONS } from './lib/node-options.ts';
import { paddedDeploymentReview } from './lib/reviews.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const BUILD = new URL('results/hostile/dist/', import.meta.url).pathname;
const LIMIT_MB = 384 * 1.048576; // 384 MiB in MB
const SMALL_TARGET_MS = 1000;

const { values: flags } = parseArgs({
  options: {
    namespaces: { type: 'string', default: '200000' },
    slow: { type: 'string', default: '3000' },
    big: { type: 'string', default: '16' },
    duration: { type: 'string', default: '45' },
    only: { type: 'string', default: 'r,a,b,c' },
    retained: { type: 'string', default: '510000' },
    'node-options': { type: 'string', default: IMAGE_NODE_OPTIONS },
  },
});
const durationMs = Number(flags.duration) * 1000;

const certDir = mkdtempSync(join(tmpdir(), 'mcp-admission-hostile-'));
const certFile = join(certDir, 'tls.crt');
const keyFile = join(certDir, 'tls.key');
{
  const development = new DevelopmentCertificateSource();
  await development.start();
  writeFileSync(certFile, development.current().cert);
  writeFileSync(keyFile, development.current().key, { mode: 0o600 });
}
buildForBenchmark(ROOT, BUILD);

const children: ChildProcess[] = [];
process.on('exit', () => {
  rmSync(certDir, { recursive: true, force: true });
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});
process.on('SIGINT', () => process.exit(130));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function startServe(): Promise<{ port: number; child: ChildProcess }> {
  const [port, metricsPort] = (await freePorts(2)) as [number, number];
  const env = { ...process.env };
  delete env.KUBERNETES_SERVICE_HOST;
  const child = spawn(
    process.execPath,
    [...flags['node-options'].split(' ').filter(Boolean), `${BUILD}cli/main.js`, 'serve', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(metricsPort),
      '--tls-cert', certFile, '--tls-key', keyFile, '--policy-source', 'builtin', '--log-level', 'warn', '--shutdown-delay-seconds', '0'],
    { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.push(child);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const status = await new Promise<number>((resolve) => {
      get({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', () => resolve(0));
    });
    if (status === 200) return { port, child };
    await sleep(200);
  }
  throw new Error('serve not ready after 30 s');
}

/** One small review every 100 ms over a kept-alive connection until `stop` resolves; latencies in ms, failures counted. */
async function smallReviews(port: number, stop: Promise<unknown>): Promise<{ latencies: number[]; failures: number; firstFailure?: string }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const review = paddedDeploymentReview();
  let done = false;
  void stop.then(() => (done = true));
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  while (!done) {
    review.request.uid = randomUUID();
    const body = Buffer.from(JSON.stringify(review));
    const started = performance.now();
    const outcome = await new Promise<string | undefined>((resolve) => {
      const req = request(
        { agent, host: '127.0.0.1', port, method: 'POST', path: '/mutate', timeout: 10_000, headers: { 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`));
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
      req.on('error', (err) => resolve(err.message));
      req.end(body);
    });
    if (outcome) {
      failures++;
      firstFailure ??= outcome;
    } else latencies.push(performance.now() - started);
    await sleep(Math.max(0, 100 - (performance.now() - started)));
  }
  agent.destroy();
  return { latencies: latencies.sort((a, b) => a - b), failures, ...(firstFailure && { firstFailure }) };
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);
const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');

interface Row {
  scenario: string;
  rssStartMb: number;
  rssPeakMb: number;
  rssEndMb: number;
  attack: string;
  small: string;
  verdict: string;
  timeline: number[];
}

async function scenario(name: string, options: Omit<HostileOptions, 'port'>, describe: (r: HostileResult, seconds: number) => string): Promise<Row> {
  const { port, child } = await startServe();
  const pid = child.pid!;
  await sleep(1000);
  const rssStartMb = statusMb(pid, 'VmRSS');
  const timeline: number[] = [];
  const sampler = setInterval(() => timeline.push(statusMb(pid, 'VmRSS')), 20_000);
  const attacker = fork(new URL('lib/hostile-load.ts', import.meta.url).pathname, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(attacker);
  const started = performance.now();
  const result = new Promise<HostileResult>((resolve, reject) => {
    attacker.once('message', (r: HostileResult) => resolve(r));
    attacker.once('exit', (code) => reject(new Error(`hostile load exited (${code}) without a result`)));
  });
  attacker.send({ ...options, port } satisfies HostileOptions);
  const small = smallReviews(port, result.catch(() => undefined));
  const attack = await result;
  const seconds = (performance.now() - started) / 1000;
  const { latencies, failures, firstFailure } = await small;
  clearInterval(sampler);
  const rssPeakMb = statusMb(pid, 'VmHWM');
  const rssEndMb = statusMb(pid, 'VmRSS');
  child.kill('SIGKILL');
  const p99 = pct(latencies, 99);
  const max = latencies.at(-1) ?? NaN;
  const ok = rssPeakMb < LIMIT_MB && failures === 0 && max < SMALL_TARGET_MS;
  return {
    scenario: name,
    rssStartMb,
    rssPeakMb,
    rssEndMb,
    attack: describe(attack, seconds),
    small: `${latencies.length} ok, ${failures} failed${firstFailure ? ` (${firstFailure})` : ''}; p50 ${f(pct(latencies, 50), 1)} / p99 ${f(p99, 1)} / max ${f(max, 1)} ms`,
    verdict: ok ? 'within target' : 'OVER TARGET',
    timeline,
  };
}

const only = new Set(flags.only.split(','));
if (only.has('r')) {
  const child = fork(new URL('lib/retained-settings.ts', import.meta.url).pathname, [flags.retained], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const { names, retainedMb } = await new Promise<{ names: number; retainedMb: number }>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`retained-settings exited (${code})`)));
  });
  process.stdout.write(`(a) settings source alone: ${names} made-up namespaces, heap retained after a full collection: ${f(retainedMb, 1)} MB\n\n`);
}
const rows: Row[] = [];
if (only.has('a')) {
  rows.push(
    await scenario('(a) made-up namespaces', { mode: 'namespaces', count: Number(flags.namespaces), concurrency: 16, durationMs }, (r, s) =>
      `${r.answered} of ${r.sent} reviews answered in ${f(s)} s, ${r.errors} errors${r.firstError ? ` (${r.firstError})` : ''}`,
    ),
  );
}
if (only.has('b')) {
  rows.push(
    await scenario('(b) slow connections', { mode: 'slow', count: Number(flags.slow), concurrency: 0, durationMs }, (r) =>
      `${r.sent} opened, ${r.refused} closed before the handshake; the rest held p50 ${f(pct(r.timesMs, 50) / 1000, 1)} s, max ${f((r.timesMs.at(-1) ?? NaN) / 1000, 1)} s`,
    ),
  );
}
if (only.has('c')) {
  rows.push(
    await scenario('(c) 7 MiB reviews', { mode: 'big', count: Number(flags.big), concurrency: 0, durationMs }, (r, s) =>
      `${r.answered} answered in ${f(s)} s, ${r.errors} errors${r.firstError ? ` (${r.firstError})` : ''}; latency p50 ${f(pct(r.timesMs, 50))} / max ${f(r.timesMs.at(-1) ?? NaN)} ms`,
    ),
  );
}

const lines = [
  `| scenario | RSS before MB | peak RSS MB | RSS after MB | the attack | small reviews meanwhile | limit ${f(LIMIT_MB)} MB, small < ${SMALL_TARGET_MS} ms |`,
  '|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.scenario} | ${f(r.rssStartMb)} | ${f(r.rssPeakMb)} | ${f(r.rssEndMb)} | ${r.attack} | ${r.small} | ${r.verdict} |`),
];
if (rows.length > 0) process.stdout.write(`${lines.join('\n')}\n\n`);
for (const r of rows) process.stdout.write(`${r.scenario}: RSS every 20 s (MB): ${r.timeline.map((mb) => f(mb)).join(', ')}\n`);
process.exit(0);

/**
 * Why an idle `serve` answers slower (`npm run bench:idle`, not a test;
 * issue 13): several `serve` processes, each with one Node flag or setting
 * changed, the floor and the floor on the building blocks
 * (bench/lib/blocks-floor-server.ts, info logging as serve), each sent one review (the ~3 KB SSE Deployment to
 * /mutate, then the mutated one to /validate) every `--pace` seconds over a
 * kept-alive HTTPS connection, as the API server does when creates are
 * rare; then the same back-to-back. Targets are served in turn, spread over
 * the pace, so each one is idle for the whole pace between its reviews and
 * a drift of the machine's load weighs on all alike.
 *
 * Per target: the client's latency (request written to answer read) and,
 * for `serve` and the blocks floor, the handler's own `durationMs` from its
 * log line (decode to send), p50 and p90, paced and back-to-back. The variants are hypotheses
 * for what an idle process loses: V8's bytecode flushing
 * (`--no-flush-bytecode`), the memory reducer, which collects garbage when
 * a process goes idle (`--no-memory-reducer`), and the per-request log line
 * (`--log-level warn`: no line, no asynchronous flush after the answer).
 *
 * Every `serve` runs compiled JavaScript with built-in policies and the
 * image's NODE_OPTIONS, plus its variant's flags; the blocks floor with the
 * image's NODE_OPTIONS, the floor with Node's defaults.
 *
 * Flags: `--pace 3` (seconds), `--paced 20` (reviews per target, each a
 * /mutate and a /validate), `--back-to-back 300`, `--warmup 300`, `--only
 * NAME,NAME` (those targets only, by the names in the table).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, get, request } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePorts } from '../test/support/harness/ports.ts';
import { buildForBenchmark, writeFloorEntry } from './lib/build.ts';
import { writeCertificateFiles } from './lib/certificate-files.ts';
import { IMAGE_NODE_OPTIONS } from './lib/node-options.ts';
import { requestMix } from './lib/reviews.ts';
import { fixed, markdownTable, percentile, sorted } from './lib/stats.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const BUILD = new URL('results/build/', import.meta.url).pathname;

const { values: flags } = parseArgs({
  options: {
    pace: { type: 'string', default: '3' },
    paced: { type: 'string', default: '20' },
    'back-to-back': { type: 'string', default: '300' },
    warmup: { type: 'string', default: '300' },
    only: { type: 'string' },
  },
});
const paceMs = Number(flags.pace) * 1000;

interface Variant {
  name: string;
  nodeArgs: string[];
  serveArgs: string[];
  /** A floor rather than `serve`: which one. */
  floor?: 'floor-server' | 'blocks-floor-server';
}
const VARIANTS: Variant[] = [
  { name: 'floor', nodeArgs: [], serveArgs: [], floor: 'floor-server' },
  { name: 'blocks floor', nodeArgs: [], serveArgs: [], floor: 'blocks-floor-server' },
  { name: 'serve', nodeArgs: [], serveArgs: [] },
  { name: 'serve --no-flush-bytecode', nodeArgs: ['--no-flush-bytecode'], serveArgs: [] },
  { name: 'serve --no-memory-reducer', nodeArgs: ['--no-memory-reducer'], serveArgs: [] },
  { name: 'serve, both flags', nodeArgs: ['--no-flush-bytecode', '--no-memory-reducer'], serveArgs: [] },
  { name: 'serve --log-level warn', nodeArgs: [], serveArgs: ['--log-level', 'warn'] },
];

const certDir = mkdtempSync(join(tmpdir(), 'mcp-admission-idle-'));
const { certFile, keyFile } = await writeCertificateFiles(certDir);
const serveEntry = buildForBenchmark(ROOT, BUILD);
const floorEntries = { 'floor-server': writeFloorEntry(ROOT, BUILD), 'blocks-floor-server': writeFloorEntry(ROOT, BUILD, 'blocks-floor-server') };

const children: ChildProcess[] = [];
process.on('exit', () => {
  rmSync(certDir, { recursive: true, force: true });
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});
process.on('SIGINT', () => process.exit(130));

interface Target {
  variant: Variant;
  port: number;
  agent: Agent;
  /** durationMs of each logged review, by uid. */
  durations: Map<string, number>;
  paced: { client: number[]; handler: number[] };
  hot: { client: number[]; handler: number[] };
}

async function start(variant: Variant): Promise<Target> {
  const [port, metricsPort] = (await freePorts(2)) as [number, number];
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: variant.floor === 'floor-server' ? '' : IMAGE_NODE_OPTIONS };
  delete env.KUBERNETES_SERVICE_HOST;
  const args = variant.floor
    ? [floorEntries[variant.floor], certFile, keyFile, '--port', String(port)]
    : [
        ...variant.nodeArgs,
        serveEntry,
        'serve',
        '--host', '127.0.0.1',
        '--port', String(port),
        '--metrics-port', String(metricsPort),
        '--tls-cert', certFile,
        '--tls-key', keyFile,
        '--policy-source', 'builtin',
        '--shutdown-delay-seconds', '0',
        ...variant.serveArgs,
      ];
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const durations = new Map<string, number>();
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (!line.includes('"durationMs"')) continue;
      const entry = JSON.parse(line) as { uid?: string; durationMs?: number };
      if (entry.uid && typeof entry.durationMs === 'number') durations.set(entry.uid, entry.durationMs);
    }
  });
  child.stderr!.resume();
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${variant.name} exited (${child.exitCode})`);
    const status = await new Promise<number>((resolve) => {
      get({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', () => resolve(0));
    });
    if (variant.floor ? status !== 0 : status === 200) break;
    if (Date.now() > deadline) throw new Error(`${variant.name} not ready after 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { variant, port, agent: new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false }), durations, paced: { client: [], handler: [] }, hot: { client: [], handler: [] } };
}

/** One review; the client's latency in ms. */
function post(target: Target, path: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      { host: '127.0.0.1', port: target.port, path, method: 'POST', agent: target.agent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`${target.variant.name}: HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const [mutate, validate] = requestMix(512);
let next = 0;
/** A /mutate and a /validate, as the API server sends for one create. */
async function create(target: Target, sink: { client: number[]; handler: number[] }): Promise<void> {
  const i = next++ % mutate!.bodies.length;
  for (const kind of [mutate!, validate!]) {
    sink.client.push(await post(target, kind.path, kind.bodies[i]!));
    (sink as { uids?: string[] }).uids ??= [];
    (sink as { uids?: string[] }).uids!.push(kind.uids[i]!);
  }
}

const only = flags.only?.split(',');
const targets: Target[] = [];
for (const variant of VARIANTS) if (!only || only.includes(variant.name)) targets.push(await start(variant));
process.stderr.write(`started ${targets.map((t) => t.variant.name).join(', ')}; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
for (const target of targets) for (let n = 0; n < Number(flags.warmup); n++) await create(target, { client: [], handler: [] });

const paced = Number(flags.paced);
const slot = paceMs / targets.length;
process.stderr.write(`paced: ${paced} creates per target, one every ${flags.pace} s, targets ${fixed(slot, 0)} ms apart\n`);
const phaseStart = performance.now();
for (let round = 0; round < paced; round++) {
  for (const [index, target] of targets.entries()) {
    const at = phaseStart + round * paceMs + index * slot;
    await new Promise((r) => setTimeout(r, Math.max(0, at - performance.now())));
    await create(target, target.paced);
  }
  process.stderr.write(`  round ${round + 1}/${paced}, load ${loadavg()[0]!.toFixed(2)}\n`);
}
for (const target of targets) for (let n = 0; n < Number(flags['back-to-back']); n++) await create(target, target.hot);
await new Promise((r) => setTimeout(r, 500)); // the last log lines

const rows: string[][] = [];
for (const target of targets) {
  const cells = [target.variant.name];
  for (const sink of [target.paced, target.hot]) {
    const client = sorted(sink.client);
    const handler = sorted(((sink as { uids?: string[] }).uids ?? []).map((u) => target.durations.get(u)).filter((d): d is number => d !== undefined));
    cells.push(fixed(percentile(client, 50), 3), fixed(percentile(client, 90), 3));
    cells.push(handler.length ? fixed(percentile(handler, 50), 3) : '–', handler.length ? fixed(percentile(handler, 90), 3) : '–');
  }
  rows.push(cells);
}
process.stdout.write(
  `\nper call (one /mutate or /validate), ms; load at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n` +
    markdownTable(
      ['target', `paced client p50`, 'paced client p90', 'paced handler p50', 'paced handler p90', 'back-to-back client p50', 'back-to-back client p90', 'back-to-back handler p50', 'back-to-back handler p90'],
      rows,
    ) +
    '\n',
);
for (const child of children) child.kill('SIGTERM');
process.exit(0);

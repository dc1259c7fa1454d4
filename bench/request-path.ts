/**
 * What each stage of one admission call costs, in process (`npm run
 * bench:request-path`, not a test; issue 13): microseconds and bytes
 * allocated per call for the stages `serve` runs between reading a review's
 * body and writing its answer, on the ~3 KB SSE Deployment of `reviews.ts`
 * (/mutate as received, /validate as the mutating webhook left it), and the
 * whole express handler driven through a loopback HTTP connection.
 *
 * Bytes per call are the growth of V8's used heap over a batch of calls
 * small enough to run between two scavenges (the young generation is made
 * large for this process, and a batch during which any collection ran is
 * measured again). Times are the median of several batches, hot: the stage
 * alone, with its caches warm, which is a floor for what it costs between
 * the API server's calls.
 *
 * Flags: `--calls 400` (per batch), `--batches 15`. Runs with --expose-gc and
 * a 64 MiB semi-space (the npm script gives both).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { mutateRequest, validateRequest, type AdmissionDeps } from '../src/admission/admission.ts';
import { decodeAdmissionReview } from '../src/admission/admission-review.ts';
import { completeReview } from '../src/admission/response.ts';
import { findResource } from '../src/admission/resources.ts';
import { createLogger } from '../src/cli/logger.ts';
import { createApp } from '../src/server/app.ts';
import { createMetrics } from '../src/server/metrics.ts';
import { requestRecorder } from '../src/server/request-recorder.ts';
import { pino } from 'pino';
import { staticSettings } from '../src/settings/static-source.ts';
import { requestMix } from './lib/reviews.ts';
import { fixed, markdownTable } from './lib/stats.ts';

const { values: flags } = parseArgs({ options: { calls: { type: 'string', default: '400' }, batches: { type: 'string', default: '15' } } });
const CALLS = Number(flags.calls);
const BATCHES = Number(flags.batches);

if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc (npm run bench:request-path does)');
const gc = globalThis.gc as () => void;

let collections = 0;
new PerformanceObserver((list) => {
  collections += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

interface Figures {
  micros: number;
  bytes: number;
}

/** Median µs and bytes per call of `run` over batches that no collection interrupted. */
async function measure(run: (i: number) => unknown): Promise<Figures> {
  for (let i = 0; i < CALLS; i++) run(i); // warm: compiled, caches filled
  const micros: number[] = [];
  const bytes: number[] = [];
  for (let attempt = 0; micros.length < BATCHES && attempt < BATCHES * 4; attempt++) {
    gc();
    await new Promise((r) => setTimeout(r, 20)); // let the observer report the forced collection
    const seen = collections;
    const before = process.memoryUsage().heapUsed;
    const start = process.hrtime.bigint();
    let sink: unknown;
    for (let i = 0; i < CALLS; i++) sink = run(i);
    const elapsed = Number(process.hrtime.bigint() - start) / 1e3;
    const grown = process.memoryUsage().heapUsed - before;
    void sink;
    await new Promise((r) => setTimeout(r, 20));
    if (collections !== seen) continue;
    micros.push(elapsed / CALLS);
    bytes.push(grown / CALLS);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  return { micros: median(micros), bytes: median(bytes) };
}

const [mutateKind, validateKind] = requestMix(64);
const admission: AdmissionDeps = { settings: staticSettings(), ownNamespace: 'mcp-admission' };
const metrics = createMetrics({ defaultMetrics: false });
const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
const logger = createLogger({ level: 'info', base: { service: 'mcp-admission' } }, discard);
/** serve's logger as it was before log-time.ts: pino's own isoTime, for the A/B. */
const pinoTimeLogger = pino({ level: 'info', base: { service: 'mcp-admission' }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, discard);
const record = requestRecorder(metrics.requests);
const type = 'application/json';

const rows: string[][] = [];
async function stage(name: string, run: (i: number) => unknown): Promise<void> {
  const f = await measure(run);
  rows.push([name, fixed(f.micros, 2), fixed(f.bytes / 1024, 2)]);
  process.stderr.write(`  ${name}: ${fixed(f.micros, 2)} µs, ${fixed(f.bytes / 1024, 2)} KiB per call\n`);
}

for (const [label, kind, decide] of [
  ['/mutate', mutateKind!, mutateRequest],
  ['/validate', validateKind!, validateRequest],
] as const) {
  const bodies = kind.bodies;
  const body = (i: number) => bodies[i % bodies.length]!;
  const decoded = bodies.map((b) => {
    const d = decodeAdmissionReview(b, type);
    if (!d.ok) throw new Error(d.message);
    return d;
  });
  const resource = findResource(decoded[0]!.request.kind)!;
  await stage(`${label} JSON.parse of the body`, (i) => JSON.parse(body(i).toString('utf8')));
  await stage(`${label} decodeAdmissionReview (parse + envelope check)`, (i) => decodeAdmissionReview(body(i), type));
  await stage(`${label} the object's shape (resource.parse)`, (i) => resource.parse(decoded[i % decoded.length]!.request.object));
  await stage(`${label} decision (scope, shape, rules, patch)`, (i) => decide(decoded[i % decoded.length]!.request, admission));
  const outcome = decide(decoded[0]!.request, admission);
  await stage(`${label} answer (completeReview + JSON.stringify)`, (i) => JSON.stringify(completeReview('admission.k8s.io/v1', decoded[i % decoded.length]!.request.uid, outcome.result)));
  await stage(`${label} metrics observe (5 labels, a labels object per call)`, () =>
    metrics.requests.observe({ webhook: 'mutate', operation: 'CREATE', kind: 'Deployment', decision: outcome.decision, dry_run: 'false' }, 0.0002),
  );
  await stage(`${label} metrics, cached child per label set (requestRecorder, as serve)`, () => record('mutate', 'CREATE', 'Deployment', outcome.decision, false, 0.0002));
  for (const [name, log] of [
    ["pino's isoTime", pinoTimeLogger],
    ['log-time.ts isoTime, as serve', logger],
  ] as const) {
    await stage(`${label} log line (pino, discarded; ${name})`, (i) =>
      log.info({ webhook: 'mutate', uid: decoded[i % decoded.length]!.request.uid, kind: 'Deployment', namespace: 'tools', name: 'weather', operation: 'CREATE', dryRun: false, decision: outcome.decision, durationMs: 0.21, patchOps: 3, changes: outcome.changes }, 'admission review'),
    );
  }
}

/**
 * The whole handler, express included, over one keep-alive loopback
 * connection (plain HTTP: TLS is the same for serve and the floor). The
 * client's allocations count too, so only the difference between two runs
 * of this benchmark says what a change to the handler saved.
 */
const app = createApp({ admission, logger, metrics, ready: () => true });
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const port = (server.address() as AddressInfo).port;
const { Agent } = await import('node:http');
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
async function post(path: string, body: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': type, 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
for (const [label, kind] of [
  ['/mutate', mutateKind!],
  ['/validate', validateKind!],
] as const) {
  const calls = 300;
  const times: number[] = [];
  const bytes: number[] = [];
  for (let i = 0; i < 300; i++) await post(kind.path, kind.bodies[i % kind.bodies.length]!);
  const cpuBefore = process.cpuUsage();
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await post(kind.path, kind.bodies[i % kind.bodies.length]!);
    times.push(Number(process.hrtime.bigint() - start) / 1e3 / calls);
  }
  const cpu = process.cpuUsage(cpuBefore);
  // Bytes per exchange, client and server together, in rounds no collection interrupted (as measure() does).
  // 50 exchanges a round: a round of 300 always met a collection.
  const perRound = 50;
  for (let attempt = 0; bytes.length < 9 && attempt < 40; attempt++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
    const seen = collections;
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < perRound; i++) await post(kind.path, kind.bodies[i % kind.bodies.length]!);
    const grown = process.memoryUsage().heapUsed - before;
    await new Promise((r) => setTimeout(r, 20));
    if (collections === seen) bytes.push(grown / perRound);
  }
  bytes.sort((a, b) => a - b);
  times.sort((a, b) => a - b);
  rows.push([`${label} whole exchange over loopback HTTP (client + express + handler), wall`, fixed(times[2]!, 2), bytes.length ? fixed(bytes[Math.floor(bytes.length / 2)]! / 1024, 2) : 'n/a']);
  rows.push([`${label} whole exchange, CPU (client + server, one process)`, fixed((cpu.user + cpu.system) / (5 * calls), 2), '']);
  process.stderr.write(`  ${label} whole exchange: ${fixed(times[2]!, 2)} µs wall, ${fixed((cpu.user + cpu.system) / (5 * calls), 2)} µs CPU\n`);
}
agent.destroy();
server.close();

process.stdout.write(`\n${markdownTable(['stage', 'µs per call', 'KiB allocated per call'], rows)}\n`);

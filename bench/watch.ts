/**
 * What a watched Deployment costs `serve` when serve is not the webhook
 * (`npm run bench:watch`; issue 13): serve's front-door informer watches
 * labelled Deployments, so every create, update and delete of one reaches
 * serve as a watch event, webhook or not.
 *
 * On the end-to-end harness's control plane (real kube-apiserver and etcd,
 * CRDs and the default policy), with no webhook registered:
 * - `serve` as production runs it (compiled JavaScript, info logging,
 *   policies and front-door facts from the cluster, the manifests' Node
 *   flags: `webhook-processes.ts`);
 * - with `--baseline DIR`, a second serve built from another checkout
 *   (DIR holds src/, tsconfig.build.json and node_modules), beside it, so
 *   both see the same events under the same load (an A/B in one run);
 * - the watch floor (`lib/watch-floor.ts`): a bare node:https watch of the
 *   same collection (read, split lines, JSON.parse; nothing else), with
 *   serve's NODE_OPTIONS, so the two differ in code alone.
 * This process, as the admin, creates N labelled ~3 KB Deployments (the
 * SSE Deployment of `lib/workloads.ts`) back to back at C=1 and C=16,
 * updates each (PUT with one annotation changed) and deletes each, in
 * rounds. Each watcher's CPU (all threads, /proc/PID/task/TID/schedstat)
 * is read at the edges of each phase's window, which ends `--settle-ms`
 * after the last answer so the last events are in; what the watcher burns
 * idle over the same time (measured before and after the rounds) is
 * subtracted, and the rest divided by the events the floor counted.
 *
 * In the idle windows the API server's own count of requests
 * (`apiserver_request_total`, read from its /metrics before and after) is
 * taken too, per minute by verb and resource: what the watchers ask of it
 * when nothing happens (Lease renewals, informers' new watches). serve and
 * the baseline each run in a namespace of their own, so each holds its own
 * status Lease, as one replica of an installation does.
 *
 * `--profile DIR`: serve, the baseline and the floor run with --cpu-prof
 * (a sample every 100 µs) into DIR, and the samples inside the measured
 * windows are grouped by what they spend on (TLS, HTTP, streams, each of
 * our files, GC...), in µs per event, and those of the idle windows in µs
 * per second. The profiler's own cost is in every figure of such a run;
 * builtins such as JSON.parse count as their caller's.
 *
 * `--perf`: `perf record` (Linux perf, CLOCK_MONOTONIC stamps, 1999 samples
 * per CPU-second, no call graphs) samples every watcher through the rounds,
 * native code and the kernel included, which --cpu-prof does not see; each
 * sample in a phase's windows is counted by what its frame spends on
 * (JSON.parse, the kernel, TLS, llhttp, GC, libc, JavaScript...), in µs
 * per event. Needs perf and the right to attach (root).
 *
 * Flags: `--n 300` (Deployments per phase), `--rounds 3`, `--settle-ms 300`,
 * `--idle-s 5`, `--profile DIR`, `--perf`, `--baseline DIR`, `--top 25`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_INSTALL_NAMESPACE, MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../src/contract.ts';
import { REPO_ROOT, startE2E } from '../test/support/harness.ts';
import { freePorts } from '../test/support/harness/ports.ts';
import { startProcess, type ManagedProcess } from '../test/support/harness/processes.ts';
import { generateWebhookCertificates } from '../test/support/harness/webhook.ts';
import { buildForBenchmark } from './lib/build.ts';
import type { CpuProfile } from './lib/cpu-profile.ts';
import { apiClient, mustAnswer, parseMetrics, type ApiClient } from './lib/kube-api.ts';
import { threadsCpuSeconds } from './lib/load.ts';
import { fixed, markdownTable } from './lib/stats.ts';
import { manifestNodeOptions, startServe } from './lib/webhook-processes.ts';
import { mcpDeploymentObject } from './lib/workloads.ts';

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    'settle-ms': { type: 'string', default: '300' },
    'idle-s': { type: 'string', default: '5' },
    profile: { type: 'string' },
    perf: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    top: { type: 'string', default: '25' },
  },
});
const N = Number(flags.n);
const ROUNDS = Number(flags.rounds);
const SETTLE_MS = Number(flags['settle-ms']);
const IDLE_S = Number(flags['idle-s']);
const RESULTS = new URL('results/watch/', import.meta.url).pathname;
const REVISION_ANNOTATION = 'bench.mcp-admission.dev/revision';
const LABEL_SELECTOR = `${MCP_COMPONENT_LABEL}=${MCP_COMPONENT_VALUE}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Monotonic microseconds, the clock V8 stamps profile samples with. */
const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);
const load1 = () => loadavg()[0]!;
const progress = (s: string) => process.stderr.write(s);

interface Watcher {
  name: string;
  pid: number;
  process: ManagedProcess;
  /** The cpuprofile it writes on exit, when profiled. */
  profile?: string;
}

interface Phase {
  key: 'create-c1' | 'create-c16' | 'update-c1' | 'delete-c1';
  title: string;
  concurrency: number;
}

const PHASES: Phase[] = [
  { key: 'create-c1', title: 'create, C=1', concurrency: 1 },
  { key: 'create-c16', title: 'create, C=16', concurrency: 16 },
  { key: 'update-c1', title: 'update (PUT), C=1', concurrency: 1 },
  { key: 'delete-c1', title: 'delete, C=1', concurrency: 1 },
];

/** One phase of one round: CPU seconds per watcher over the window, its length, the events, the load. */
interface Window {
  phase: Phase['key'];
  round: number;
  seconds: number;
  cpu: Record<string, number>;
  events: number;
  load: number;
  micros: [number, number];
  failures: number;
  /** CPU seconds by thread name, per watcher. */
  threads: Record<string, Record<string, number>>;
}

/**
 * CPU seconds of each thread of `pid` by its name (/proc/PID/task/TID/comm:
 * `node` is the main thread, `V8 DefaultWorke` V8's platform workers,
 * `libuv-worker` the pool), summed over threads of the same name.
 */
function threadsCpuByName(pid: number): Record<string, number> {
  const byName: Record<string, number> = {};
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim();
      byName[name] = (byName[name] ?? 0) + Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return byName;
}

/** Events the watch floor has seen: it prints them on SIGUSR2. */
async function floorEvents(floor: ManagedProcess): Promise<number> {
  const answers = () => readFileSync(floor.logFile, 'utf8').match(/^events \d+$/gm) ?? [];
  const before = answers().length;
  process.kill(floor.pid, 'SIGUSR2');
  for (let i = 0; i < 250; i++) {
    await sleep(20);
    const all = answers();
    if (all.length > before) return Number(all.at(-1)!.slice('events '.length));
  }
  throw new Error('the watch floor does not answer SIGUSR2');
}

/** Runs `ops` over `concurrency` loops; the number that failed. */
async function run(api: ApiClient, ops: Array<() => Promise<unknown>>, concurrency: number): Promise<number> {
  let next = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < ops.length; i = next++) await ops[i]!().catch(() => failures++);
    }),
  );
  void api;
  return failures;
}

function operations(api: ApiClient, phase: Phase['key'], namespace: string): Array<() => Promise<unknown>> {
  const path = `/apis/apps/v1/namespaces/${namespace}/deployments`;
  return Array.from({ length: N }, (_, i) => {
    const name = `watched-${i}`;
    if (phase === 'create-c1' || phase === 'create-c16') {
      const body = Buffer.from(JSON.stringify(mcpDeploymentObject(name, namespace)));
      return () => mustAnswer(api.send('POST', path, body), `create ${name}`);
    }
    if (phase === 'update-c1') {
      const object = mcpDeploymentObject(name, namespace);
      object.metadata.annotations[REVISION_ANNOTATION] = '2';
      const body = Buffer.from(JSON.stringify(object));
      return () => mustAnswer(api.send('PUT', `${path}/${name}`, body), `update ${name}`);
    }
    return () => mustAnswer(api.send('DELETE', `${path}/${name}`), `delete ${name}`);
  });
}

// ---------------------------------------------------------------- profiles


/** What a frame with a script spends on, by its file. */
function groupOfUrl(url: string): string {
  const file = url.replace(/^.*\/(src|build)\//, '');
  if (/\/(src|build)\/kubernetes\//.test(url)) return `ours: ${file.replace(/^kubernetes\//, '')}`;
  if (/\/(src|build)\//.test(url)) return `ours: ${file}`;
  if (url.includes('/node_modules/')) return `package: ${url.slice(url.lastIndexOf('/node_modules/') + 14).split('/')[0]}`;
  if (/^node:(_tls|tls|internal\/tls)/.test(url)) return 'TLS (node:tls)';
  if (/^node:(_http|http|internal\/http)/.test(url)) return 'HTTP (node:http)';
  if (/^node:(internal\/streams|stream)/.test(url)) return 'streams (node:stream)';
  if (/^node:(string_decoder|buffer|internal\/buffer|internal\/util\/types)/.test(url)) return 'decoding (string_decoder, buffer)';
  if (/^node:(internal\/process\/task_queues|internal\/timers|timers|events|internal\/async_hooks)/.test(url)) return 'event loop (timers, microtasks, events)';
  if (url.startsWith('node:')) return `node other: ${url.slice(5)}`;
  return `other: ${url}`;
}

/**
 * Self time inside `windows`, grouped: V8's pseudo-frames as they are, a
 * script frame by {@link groupOfUrl}, and a native frame (no script:
 * JSON.parse, a TLS read, a socket read) as itself under the group of the
 * nearest script frame above it.
 */
function groupProfile(file: string, windows: Array<[number, number]>): { groups: Map<string, number>; functions: Map<string, number>; busyUs: number } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  const groupOf = (id: number): string => {
    const frame = nodes.get(id)!.callFrame;
    if (!frame.url) {
      if (frame.functionName.startsWith('(')) return frame.functionName;
      for (let up = parents.get(id); up !== undefined; up = parents.get(up)) {
        const caller = nodes.get(up)!.callFrame;
        if (caller.url) return `native ${frame.functionName || '(anonymous)'}, under ${groupOfUrl(caller.url)}`;
      }
      return `native ${frame.functionName || '(anonymous)'}`;
    }
    return groupOfUrl(frame.url);
  };
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  let time = profile.startTime;
  let busyUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i] ?? 0;
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (!windows.some(([from, to]) => time >= from && time <= to)) continue;
    const id = profile.samples[i]!;
    const group = groupOf(id);
    if (group === '(idle)') continue;
    busyUs += us;
    groups.set(group, (groups.get(group) ?? 0) + us);
    const frame = nodes.get(id)!.callFrame;
    const where = frame.url ? ` ${frame.url.replace(/^.*\/(node_modules|src|build)\//, '$1/')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'}${where}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  }
  return { groups, functions, busyUs };
}

// ---------------------------------------------------------------- perf

/** perf's sampling frequency: samples per CPU-second of a thread. */
const PERF_HZ = 1999;

/** What a native or kernel frame spends on, by its symbol and object (perf script's sym and dso). */
function perfGroup(sym: string, dso: string): string {
  if (dso.includes('kernel')) return 'kernel (wake-ups, TCP, syscalls)';
  if (/Json|StringTable|Transition|JSDataObjectBuilder|Internaliz|ObjectLiteralMap|InitializeJSObject|AllocateRawWithAllocationSite|String::IsEqualTo|StringHasher|MakeString|ComputeAndSetRawHash/.test(sym)) return 'JSON.parse (V8)';
  if (/Scaveng|Heap::|MarkCompact|ConcurrentMarking|Marking|Sweeper|Evacuat|RememberedSet|SlotSet|GCTracer/.test(sym)) return 'GC (V8)';
  if (/ossl_|SSL|aes|gcm|EVP_|BIO_|TLSWrap|ghash|crypto/i.test(sym)) return 'TLS (OpenSSL, TLSWrap)';
  if (sym.includes('llhttp') || sym.includes('http_parser') || /node::.*Parser/.test(sym)) return 'HTTP parser (llhttp)';
  if (dso.includes('libc')) return 'libc (malloc, memcpy)';
  if (/^(uv_|uv__|epoll)/.test(sym)) return 'libuv (event loop)';
  if (dso.startsWith('[JIT]') || dso.includes('perf-') || sym.startsWith('Builtins_') || sym === '[unknown]') return 'JavaScript (JIT code, builtins)';
  return 'node and V8 runtime (callbacks, handles, buffers)';
}

/** Samples of `file` as [pid, CLOCK_MONOTONIC µs, group]. */
function perfSamples(file: string): Array<[number, number, string]> {
  const script = spawnSync('perf', ['script', '-i', file, '-F', 'pid,time,ip,sym,dso'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (script.status !== 0) throw new Error(`perf script: ${script.stderr.slice(0, 2000)}`);
  const samples: Array<[number, number, string]> = [];
  for (const line of script.stdout.split('\n')) {
    const match = /^\s*(\d+)\s+(\d+\.\d+):\s+[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$/.exec(line);
    if (match) samples.push([Number(match[1]), Math.round(Number(match[2]) * 1e6), perfGroup(match[3]!, match[4]!)]);
  }
  return samples;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const env = await startE2E({ webhook: false });
  const api = apiClient(env.controlPlane.url, env.controlPlane.pki, 16);
  const watchers: Watcher[] = [];
  const windows: Window[] = [];
  const idle: Record<string, number[]> = {};
  const idleMicros: Array<[number, number]> = [];
  /** Requests per minute the API server counted in each idle window, by "VERB resource". */
  const idleRequests: Array<Record<string, number>> = [];
  let floor: ManagedProcess | undefined;
  try {
    const version = (await mustAnswer<{ gitVersion: string }>(api.send('GET', '/version'), 'GET /version')).gitVersion;
    const node = manifestNodeOptions();
    if (flags.profile) mkdirSync(flags.profile, { recursive: true });
    // A sample every 100 µs: an event costs a few hundred.
    const profileArgs = (name: string) => (flags.profile ? ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', flags.profile, '--cpu-prof-name', `${name}.cpuprofile`] : []);
    const builds: Array<{ name: string; root: string }> = [{ name: 'serve', root: REPO_ROOT }];
    if (flags.baseline) builds.unshift({ name: 'baseline', root: flags.baseline });
    // serve's own namespace, as installed: its policy status writer holds a
    // Lease there. The baseline gets one of its own, so it holds its own
    // Lease rather than waiting as serve's follower.
    const ownNamespace = (name: string) => (name === 'baseline' ? `${DEFAULT_INSTALL_NAMESPACE}-baseline` : DEFAULT_INSTALL_NAMESPACE);
    for (const { name } of builds) await mustAnswer(api.send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ownNamespace(name) } }), 'create namespace');
    const certificates = await generateWebhookCertificates(join(env.dir, 'webhook-certs'));
    for (const { name, root } of builds) {
      const entry = buildForBenchmark(root, `${RESULTS}${name}/build/`);
      const [port, metricsPort] = await freePorts(2);
      // Each serve logs into serve.log of its own directory.
      const dir = join(env.dir, name);
      mkdirSync(dir, { recursive: true });
      const serve = await startServe({ entry, dir, port: port!, metricsPort: metricsPort!, certificates, kubeconfig: env.controlPlane.kubeconfig, nodeArgs: [...node.flags, ...profileArgs(name)], nodeOptions: node.nodeOptions, namespace: ownNamespace(name) });
      watchers.push({ name, pid: serve.process.pid, process: serve.process, ...(flags.profile && { profile: join(flags.profile, `${name}.cpuprofile`) }) });
      progress(`${name} (${root}) pid ${serve.process.pid}, Node flags: ${node.source}\n`);
    }
    const { pki } = env.controlPlane;
    floor = startProcess({
      name: 'watch floor',
      command: join(REPO_ROOT, 'node_modules/.bin/node'),
      args: [...profileArgs('floor'), join(REPO_ROOT, 'bench/lib/watch-floor.ts'), `${env.controlPlane.url}/apis/apps/v1/deployments?labelSelector=${encodeURIComponent(LABEL_SELECTOR)}`, pki.servingCA.cert, pki.admin.cert, pki.admin.key],
      cwd: REPO_ROOT,
      // serve's heap settings, so the two differ in code alone.
      env: { ...process.env, NODE_OPTIONS: node.nodeOptions },
      logFile: join(env.dir, 'watch-floor.log'),
    });
    for (let i = 0; !readFileSync(floor.logFile, 'utf8').includes('watching'); i++) {
      if (i > 300 || floor.exitStatus()) throw new Error(`the watch floor did not start:\n${floor.logTail()}`);
      await sleep(50);
    }
    watchers.push({ name: 'floor', pid: floor.pid, process: floor, ...(flags.profile && { profile: join(flags.profile, 'floor.cpuprofile') }) });
    const cpuNow = () => Object.fromEntries(watchers.map((w) => [w.name, threadsCpuSeconds(w.pid)]));

    // The API server's request counter by "VERB resource"; requests that
    // name no resource (this process's own GET /metrics) left out.
    const requestCounts = async (): Promise<Map<string, number>> => {
      const counts = new Map<string, number>();
      for (const s of parseMetrics((await api.send('GET', '/metrics')).body)) {
        if (s.name !== 'apiserver_request_total' || !s.labels.resource) continue;
        const key = `${s.labels.verb} ${s.labels.resource}${s.labels.subresource ? `/${s.labels.subresource}` : ''}`;
        counts.set(key, (counts.get(key) ?? 0) + s.value);
      }
      return counts;
    };
    const idleWindow = async () => {
      const requestsBefore = await requestCounts();
      const before = cpuNow();
      const t0 = performance.now();
      const m0 = monotonicMicros();
      await sleep(IDLE_S * 1000);
      idleMicros.push([m0, monotonicMicros()]);
      const seconds = (performance.now() - t0) / 1000;
      const after = cpuNow();
      for (const w of watchers) (idle[w.name] ??= []).push((after[w.name]! - before[w.name]!) / seconds);
      const perMinute: Record<string, number> = {};
      for (const [key, count] of await requestCounts()) if (count > (requestsBefore.get(key) ?? 0)) perMinute[key] = ((count - (requestsBefore.get(key) ?? 0)) * 60) / seconds;
      idleRequests.push(perMinute);
      progress(
        `idle ${IDLE_S} s: ${watchers.map((w) => `${w.name} ${fixed((idle[w.name]!.at(-1)! * 100), 2)}%`).join(', ')} of a core; load ${fixed(load1(), 2)}; ` +
          `API requests per minute: ${Object.entries(perMinute).map(([key, n]) => `${key} ${fixed(n, 1)}`).join(', ') || 'none'}\n`,
      );
    };

    // Warm every watcher's code paths: one unmeasured round of a third of N.
    const warmNamespace = 'watch-warm';
    await mustAnswer(api.send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: warmNamespace } }), 'create namespace');
    for (const phase of PHASES) await run(api, operations(api, phase.key, warmNamespace).slice(0, Math.ceil(N / 3)), phase.concurrency);
    await sleep(1000);
    await idleWindow();

    let perf: ChildProcess | undefined;
    const perfFile = join(RESULTS, 'perf.data');
    if (flags.perf) {
      mkdirSync(RESULTS, { recursive: true });
      perf = spawn('perf', ['record', '-q', '-k', 'CLOCK_MONOTONIC', '-F', String(PERF_HZ), '-p', watchers.map((w) => w.pid).join(','), '-o', perfFile], { stdio: ['ignore', 'ignore', 'inherit'] });
      await sleep(2000);
      if (perf.exitCode !== null) throw new Error('perf record exited at once: is perf installed, and may it attach?');
    }
    for (let round = 1; round <= ROUNDS; round++) {
      const namespaces = { c1: `watch-r${round}-c1`, c16: `watch-r${round}-c16` };
      for (const name of Object.values(namespaces)) await mustAnswer(api.send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }), `create namespace ${name}`);
      await sleep(500);
      // The C=16 namespace is emptied after the C=1 one, unmeasured.
      for (const phase of PHASES) {
        const namespace = phase.key === 'create-c16' ? namespaces.c16 : namespaces.c1;
        const ops = operations(api, phase.key, namespace);
        const eventsBefore = await floorEvents(floor);
        const threadsBefore = Object.fromEntries(watchers.map((w) => [w.name, threadsCpuByName(w.pid)]));
        const cpuBefore = cpuNow();
        const t0 = performance.now();
        const m0 = monotonicMicros();
        const failures = await run(api, ops, phase.concurrency);
        await sleep(SETTLE_MS);
        const m1 = monotonicMicros();
        const seconds = (performance.now() - t0) / 1000;
        const cpuAfter = cpuNow();
        const threadsAfter = Object.fromEntries(watchers.map((w) => [w.name, threadsCpuByName(w.pid)]));
        const threads = Object.fromEntries(
          watchers.map((w) => [w.name, Object.fromEntries(Object.entries(threadsAfter[w.name]!).map(([name, after]) => [name, after - (threadsBefore[w.name]![name] ?? 0)]))]),
        );
        const events = (await floorEvents(floor)) - eventsBefore;
        const cpu = Object.fromEntries(watchers.map((w) => [w.name, cpuAfter[w.name]! - cpuBefore[w.name]!]));
        windows.push({ phase: phase.key, round, seconds, cpu, events, load: load1(), micros: [m0, m1], failures, threads });
        progress(
          `round ${round} ${phase.title}: ${events} events in ${fixed(seconds, 2)} s; ${watchers.map((w) => `${w.name} ${fixed((cpu[w.name]! / Math.max(events, 1)) * 1000, 3)} ms/event`).join(', ')} (raw); load ${fixed(load1(), 2)}${failures ? `; ${failures} FAILED` : ''}\n`,
        );
        await sleep(300);
      }
      await run(api, operations(api, 'delete-c1', namespaces.c16), 16);
      await sleep(500);
    }
    if (perf) {
      perf.kill('SIGINT');
      await once(perf, 'exit');
    }
    await idleWindow();

    // ------------------------------------------------------------ report
    const idleRate = (name: string) => (idle[name]!.reduce((a, b) => a + b, 0) / idle[name]!.length);
    const out: string[] = [];
    out.push(`# What a watched Deployment costs serve, ${startedAt.toISOString()}\n`);
    out.push(
      `kube-apiserver ${version} and etcd from the end-to-end harness, no webhook registered. ${N} labelled ~3 KB Deployments per phase, created back to back at C=1 and C=16 over HTTP/1.1 keep-alive as the admin, then updated (PUT, one annotation changed) and deleted at C=1; ${ROUNDS} rounds after an unmeasured warm-up of ${Math.ceil(N / 3)} per phase. ` +
        `serve: compiled JavaScript, info logging, policies and front-door facts from the cluster (--kubeconfig), Node flags: ${node.source}${flags.baseline ? `; baseline: the same, built from ${flags.baseline}` : ''}. ` +
        `Floor: a bare node:https watch of the same collection and label selector (read, split lines, JSON.parse, count), with serve's NODE_OPTIONS. ` +
        `CPU: all threads, /proc/PID/task/*/schedstat, over each window (the operations and ${SETTLE_MS} ms after the last answer), less what the process burns idle over the same time; per event the floor counted. ${flags.profile ? 'serve ran under --cpu-prof: its figures carry the profiler\'s cost. ' : ''}` +
        `Load: 1-minute average of the whole machine (2 CPUs), at start ${loadAtStart.map((l) => fixed(l, 2)).join(' ')}.\n`,
    );
    out.push(`Idle (no events), % of one core, before and after the rounds: ${watchers.map((w) => `${w.name} ${idle[w.name]!.map((r) => fixed(r * 100, 2)).join(' / ')}`).join('; ')}.\n`);
    out.push(
      `API requests per minute the API server counted in the idle windows (all watchers together), before and after the rounds: ${idleRequests.map((r) => Object.entries(r).map(([key, n]) => `${key} ${fixed(n, 1)}`).join(', ') || 'none').join(' / ')}.\n`,
    );
    const netPerEvent = (w: Window, name: string) => ((w.cpu[name]! - idleRate(name) * w.seconds) / Math.max(w.events, 1)) * 1000;
    const names = watchers.map((w) => w.name);
    const rows = windows.map((w) => [
      PHASES.find((p) => p.key === w.phase)!.title,
      String(w.round),
      String(w.events),
      fixed(w.seconds, 2),
      ...names.map((name) => fixed(netPerEvent(w, name), 3)),
      ...(names.includes('baseline') ? [fixed(netPerEvent(w, 'serve') / netPerEvent(w, 'baseline'), 2)] : []),
      fixed(netPerEvent(w, 'serve') / netPerEvent(w, 'floor'), 2),
      fixed(w.load, 2),
    ]);
    const ratioHeaders = [...(names.includes('baseline') ? ['serve/baseline'] : []), 'serve/floor'];
    out.push(markdownTable(['phase', 'round', 'events', 'window s', ...names.map((n) => `${n} CPU ms/event`), ...ratioHeaders, 'load'], rows));
    const median = (values: number[]) => {
      const s = [...values].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    };
    out.push(`\nMedians over the rounds (CPU ms per event, net of idle):\n`);
    out.push(
      markdownTable(
        ['phase', ...names, ...ratioHeaders, 'serve − floor', 'load (range)'],
        PHASES.map((p) => {
          const mine = windows.filter((w) => w.phase === p.key);
          const per = Object.fromEntries(names.map((name) => [name, median(mine.map((w) => netPerEvent(w, name)))]));
          return [
            p.title,
            ...names.map((name) => fixed(per[name]!, 3)),
            ...(names.includes('baseline') ? [fixed(per.serve! / per.baseline!, 2)] : []),
            fixed(per.serve! / per.floor!, 2),
            fixed(per.serve! - per.floor!, 3),
            `${fixed(Math.min(...mine.map((w) => w.load)), 2)}–${fixed(Math.max(...mine.map((w) => w.load)), 2)}`,
          ];
        }),
      ),
    );
    out.push(`\nBy thread (/proc/PID/task/TID/comm), CPU ms per event over all rounds, not net of idle:\n`);
    const threadRows: string[][] = [];
    for (const p of PHASES) {
      const mine = windows.filter((w) => w.phase === p.key);
      const events = mine.reduce((n, w) => n + w.events, 0);
      for (const name of names) {
        const sums: Record<string, number> = {};
        for (const w of mine) for (const [thread, seconds] of Object.entries(w.threads[name]!)) sums[thread] = (sums[thread] ?? 0) + seconds;
        threadRows.push([p.title, name, Object.entries(sums).filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]).map(([thread, s]) => `${thread} ${fixed((s / events) * 1000, 3)}`).join(', ')]);
      }
    }
    out.push(markdownTable(['phase', 'watcher', 'thread CPU ms/event'], threadRows));
    const failed = windows.reduce((n, w) => n + w.failures, 0);
    if (failed) out.push(`\n${failed} operations FAILED.`);

    if (flags.perf) {
      const samples = perfSamples(perfFile);
      const nameOf = new Map(watchers.map((w) => [w.pid, w.name]));
      out.push(`\nperf record, ${PERF_HZ} samples per CPU-second, by what each sampled frame spends on: µs per event (samples in the phase's windows / ${PERF_HZ} / events the floor counted; not net of idle)\n`);
      for (const phase of PHASES) {
        const mine = windows.filter((w) => w.phase === phase.key);
        const events = mine.reduce((n, w) => n + w.events, 0);
        const counts = new Map<string, Record<string, number>>();
        for (const [pid, micros, group] of samples) {
          const name = nameOf.get(pid);
          if (!name || !mine.some((w) => micros >= w.micros[0] && micros <= w.micros[1])) continue;
          const row = counts.get(group) ?? {};
          row[name] = (row[name] ?? 0) + 1;
          counts.set(group, row);
        }
        const perEvent = (n: number) => (n / PERF_HZ / events) * 1e6;
        const totals = Object.fromEntries(names.map((name) => [name, [...counts.values()].reduce((n, row) => n + (row[name] ?? 0), 0)]));
        const rows = [...counts.entries()]
          .sort((a, b) => (b[1].serve ?? 0) - (a[1].serve ?? 0))
          .map(([group, row]) => [group, ...names.map((name) => `${fixed(perEvent(row[name] ?? 0), 1)} (${fixed(((row[name] ?? 0) / Math.max(totals[name]!, 1)) * 100, 0)}%)`)]);
        rows.push(['total', ...names.map((name) => fixed(perEvent(totals[name]!), 1))]);
        out.push(`${phase.title}, ${events} events:\n`);
        out.push(markdownTable(['spent on', ...names.map((n) => `${n} µs/event`)], rows));
        out.push('');
      }
    }

    // Profiles are written on exit.
    await Promise.all(watchers.map((w) => w.process.stop(60_000)));
    if (flags.profile) {
      writeFileSync(join(flags.profile, 'watch-windows.json'), JSON.stringify({ clock: 'CLOCK_MONOTONIC microseconds', windows: windows.map((w) => ({ phase: w.phase, round: w.round, events: w.events, micros: w.micros })) }));
      for (const w of watchers.filter((x) => x.profile)) {
        const { groups, busyUs } = groupProfile(w.profile!, idleMicros);
        const perSecond = (us: number) => fixed(us / (IDLE_S * idleMicros.length), 1);
        out.push(`\n${w.name} under --cpu-prof, idle (no events, ${IDLE_S * idleMicros.length} s): busy ${perSecond(busyUs)} µs per second\n`);
        out.push(markdownTable(['spent on', 'µs/s', '% of busy'], [...groups.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(flags.top)).map(([g, us]) => [g, perSecond(us), fixed((us / busyUs) * 100, 1)])));
        for (const phase of PHASES) {
          const mine = windows.filter((x) => x.phase === phase.key);
          const events = mine.reduce((n, x) => n + x.events, 0);
          const { groups, functions, busyUs } = groupProfile(w.profile!, mine.map((x) => x.micros));
          const perEvent = (us: number) => fixed(us / events, 1);
          out.push(`\n${w.name} under --cpu-prof, ${phase.title}: ${events} events, busy ${perEvent(busyUs)} µs per event (samples inside the windows; idle excluded)\n`);
          out.push(markdownTable(['spent on', 'µs/event', '% of busy'], [...groups.entries()].sort((a, b) => b[1] - a[1]).map(([g, us]) => [g, perEvent(us), fixed((us / busyUs) * 100, 1)])));
          out.push('');
          out.push(markdownTable(['function (self)', 'µs/event'], [...functions.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(flags.top)).map(([f, us]) => [f, perEvent(us)])));
        }
      }
    }
    out.push(`\nLoad average at the end: ${loadavg().map((l) => fixed(l, 2)).join(' ')}. The run took ${fixed((Date.now() - startedAt.getTime()) / 60000, 1)} min.`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    api.close();
    await floor?.stop();
    for (const w of watchers) await w.process.stop(60_000);
    await env.stop();
  }
}

await main();

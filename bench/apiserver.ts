/**
 * Admission benchmark through the real API server, against the floor, and
 * scaling (`npm run bench:apiserver`, not a test; issues 7 and 13). Prints
 * tables and writes them as Markdown to `bench/results/apiserver-<date>.md`.
 *
 * **Through the real API server.** On one control plane of the end-to-end
 * harness (etcd + kube-apiserver, CRDs and the cluster default policy
 * installed), MCP Deployments (the ~3 KB SSE Deployment of `reviews.ts`)
 * are created and updated under five admission configurations
 * (`admission-configs.ts`): (i) none, (ii) the floor webhook, (ii b) the
 * floor on the building blocks, (iii) mcp-admission's mutating + validating
 * webhooks, (iv) the equivalent MutatingAdmissionPolicy +
 * ValidatingAdmissionPolicy in CEL. (ii), (ii b) and (iii) are the same
 * webhook configurations (deploy/admission, pointed at 127.0.0.1), each at
 * its own process (`webhook-processes.ts`): `serve` as production runs it
 * (compiled JavaScript, info logging, policies from the cluster informer,
 * the Node flags the manifests pin), the floor (bare node:https with serve's
 * certificate and TLS settings, answering serve's patch on /mutate and an
 * allow on /validate) and the blocks floor (the floor's work on express,
 * zod, pino and prom-client as serve uses them, with serve's Node flags).
 * The floor pays every cost the design imposes; what serve adds over it is
 * ours; what the blocks floor adds over it is the building blocks' part of
 * that, which stays as long as they do.
 *
 * Phases, each with a fresh namespace per configuration:
 * - **back-to-back** creates at each `--concurrency` (POST);
 * - **paced**: one create every `--pace` seconds, one at a time (what an idle
 *   webhook answers);
 * - **update**: PUTs of created objects with a changed annotation (the API
 *   server sends oldObject), one at a time;
 * - **policies**: back-to-back creates after `--cluster-policies`
 *   MCPTransportPolicies are in the cluster, read by serve's informer.
 * Each phase's operations are split into rounds run in mirrored order (none,
 * floor, blocks floor, mcp-admission, cel, then back), so a drift in the machine's load
 * weighs on every configuration alike; each round starts with a few
 * unmeasured operations. Every answer is checked for what its configuration
 * should have stored, and one object is read back. Per configuration: client
 * latency, what it adds over none, serve's added latency over the floor's,
 * the webhook process's CPU per operation (/proc schedstat of its threads) and its
 * RSS (VmRSS sampled every 250 ms in its windows, VmHWM at the end), and the
 * API server's and serve's own metrics for where the time goes.
 *
 * **Scaling** (`scaling.ts`): /mutate and /validate straight to `serve`,
 * against object size and number of policies.
 *
 * Flags: `--n 400` (back-to-back creates per configuration and
 * concurrency), `--concurrency 16,1`, `--rounds 2`, `--warmup W` (unmeasured
 * operations per round, default 2 × C), `--paced 30` (paced creates per
 * configuration), `--pace 3` (seconds between paced creates), `--updates
 * 200`, `--blocks-floor c1,paced,update,policies` (the phases, by key: c16, c1, …,
 * paced, update, policies, that measure the blocks floor too; `none` for
 * none), `--cluster-policies 1000`, `--policy-n 200` (creates per
 * configuration with the policies in place), `--warm-webhook 300` (creates
 * through each webhook before anything is measured, reported in two halves
 * for serve: cold against warm), `--profile DIR` (serve runs with
 * --cpu-prof and --heap-prof into DIR, and DIR/windows.json holds the
 * back-to-back windows under serve, for `bench/profile-groups.ts`; the
 * floor runs with --cpu-prof too, into DIR/floor.cpuprofile, its windows in
 * DIR/floor-windows.json, and so is the blocks floor, into
 * DIR/blocks-floor.cpuprofile and DIR/blocks-floor-windows.json; the update
 * phase's windows are DIR/update-windows.json, DIR/floor-update-windows.json
 * and DIR/blocks-floor-update-windows.json, read with `--windows`),
 * `--perf DIR` (serve, the floor and the blocks floor recorded with Linux
 * perf, read in their own windows of every phase: CPU per operation by
 * where it goes, side by side; lib/apiserver-perf.ts),
 * `--requests 300` and `--scaling-warmup 50` (per scaling cell and path),
 * `--containers 1,10,50`, `--policies 1,10,100,1000`, `--skip-apiserver`,
 * `--skip-scaling`, `--quick` (a smoke run of every phase in about 3
 * minutes: C=1 only, few operations, 100 cluster policies, no scaling),
 * `--policy-ab` (the cluster-policy phase alone, as an A/B in one run: the
 * default policy only, `--cluster-policies` more, the same deleted, and
 * created again; with `--prefill N`, a phase with the default policy
 * before N labelled Deployments are created, as the full run's earlier
 * phases leave them in serve's cache: the phase's place in the run, apart
 * from the policies). Every run ends with serve's time per create at C=1:
 * the API server's view of its two calls against its own decision, its
 * main thread's CPU and its wait for a CPU (schedstat), its GC pauses,
 * event-loop delay and old space (its default metrics), and what else the
 * API server served in each window (apiserver_request_total). With
 * GC_TALLY_DIR set, every window is written to
 * GC_TALLY_DIR/windows-by-phase.json for `bench/gc-summary.ts --by-phase`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_INSTALL_NAMESPACE, POLICY_GROUP, POLICY_PLURAL, POLICY_VERSION } from '../src/contract.ts';
import { EVENT_LOOP_SAMPLE_MS } from '../src/server/metrics.ts';
import { REPO_ROOT, startE2E } from '../test/support/harness.ts';
import { freePorts } from '../test/support/harness/ports.ts';
import { generateWebhookCertificates } from '../test/support/harness/webhook.ts';
import { PROCESS_OF, TARGET_ADDED_VS_FLOOR, TARGET_CPU_VS_FLOOR, TARGET_RSS_VS_FLOOR, type ApiserverSamples } from './lib/apiserver-samples.ts';
import { CONFIGURATIONS, admissionSwitch, checkStored, type AdmissionConfiguration } from './lib/admission-configs.ts';
import { ApiserverPerf } from './lib/apiserver-perf.ts';
import { buildForBenchmark } from './lib/build.ts';
import { apiClient, histogramMean, mustAnswer, parseMetrics, plainMetrics, total, type ApiClient, type Sample } from './lib/kube-api.ts';
import { statusMb, threadsCpuSeconds } from './lib/load.ts';
import { paddedDeploymentReview } from './lib/reviews.ts';
import { runScaling, transportPolicies, type ScalingRow } from './lib/scaling.ts';
import { addedRatio, bootstrapInterval, fixed, judge, judgeNetOfIdle, markdownTable, mean, percentile, sorted, withInterval } from './lib/stats.ts';
import { manifestNodeOptions, startFloor, startServe, type WebhookProcess } from './lib/webhook-processes.ts';
import { mcpDeploymentObject } from './lib/workloads.ts';

const RESULTS = new URL('results/', import.meta.url).pathname;
const TARGET_VS_NONE = 1.1;
const TARGET_VS_CEL = 1.05;
const TARGET_CONCURRENCY = 16;
const RSS_SAMPLE_MS = 250;
/** How a ratio's interval stands against its target, in the tables. */
const VERDICT_MARK = { met: 'ok', MISSED: 'MISS', undecided: 'undecided' } as const;
/** The annotation an update changes, checked on the stored object afterwards. */
const REVISION_ANNOTATION = 'bench.mcp-admission.dev/revision';

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '16,1' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string' },
    // 30, not 40: the blocks floor's paced windows fit the run in 9 minutes.
    paced: { type: 'string', default: '30' },
    pace: { type: 'string', default: '3' },
    updates: { type: 'string', default: '200' },
    'cluster-policies': { type: 'string', default: '1000' },
    'policy-n': { type: 'string', default: '200' },
    requests: { type: 'string', default: '300' },
    'scaling-warmup': { type: 'string', default: '50' },
    containers: { type: 'string', default: '1,10,50' },
    policies: { type: 'string', default: '1,10,100,1000' },
    'warm-webhook': { type: 'string', default: '300' },
    // In the policy phase too: serve's added latency there has its building blocks' reference.
    'blocks-floor': { type: 'string', default: 'c1,paced,update,policies' },
    profile: { type: 'string' },
    perf: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'skip-apiserver': { type: 'boolean', default: false },
    'skip-scaling': { type: 'boolean', default: false },
    'policy-ab': { type: 'boolean', default: false },
    prefill: { type: 'string', default: '0' },
  },
});
if (flags.quick) {
  // Every phase, a few operations each: a smoke check, not a measurement.
  const quick = { n: '40', concurrency: '1', paced: '4', updates: '40', 'cluster-policies': '100', 'policy-n': '40', 'warm-webhook': '100' } as const;
  const given = new Set(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')[0]));
  for (const [key, value] of Object.entries(quick)) if (!given.has(key)) (flags as Record<string, unknown>)[key] = value;
  if (!given.has('skip-scaling')) flags['skip-scaling'] = true;
}
const list = (s: string) => s.split(',').map(Number);
const creates = Number(flags.n);
const concurrencies = list(flags.concurrency);
const rounds = Number(flags.rounds);
const paceMs = Number(flags.pace) * 1000;
const clusterPolicyCount = Number(flags['cluster-policies']);
/** `--policy-ab`: only the cluster-policy phase, as an A/B in one run (phasesToRun). */
const policyAb = flags['policy-ab'];
/** `--prefill N`: labelled Deployments created before the A/B's phases, as the full run's earlier phases leave in serve's cache. */
const prefillCount = Number(flags.prefill);
/** `--perf DIR`: serve and both floors recorded by Linux perf, read in their windows (lib/apiserver-perf.ts). */
const perfRun = flags.perf ? new ApiserverPerf(flags.perf) : undefined;

const LABEL: Record<AdmissionConfiguration, string> = {
  none: '(i) none',
  floor: '(ii) floor',
  'blocks-floor': '(ii b) floor on the building blocks',
  'mcp-admission': '(iii) mcp-admission',
  cel: '(iv) CEL policies',
};
/** The phases (by key) that measure the blocks floor too. */
const blocksFloorPhases = new Set(flags['blocks-floor'].split(','));

// ---------------------------------------------------------------------------
// Through the real API server

type Verb = 'POST' | 'PUT';
type Labels = Record<string, string>;

/** Means (ms) from the API server's metrics, as Δsum/Δcount over the measured windows, for creates (POST) or updates (PUT). */
function breakdownParts(verb: Verb) {
  const operation = verb === 'POST' ? 'CREATE' : 'UPDATE';
  return {
    apiserver: { metric: 'apiserver_request_duration_seconds', where: (l: Labels) => l.verb === verb && l.resource === 'deployments' },
    mutating: { metric: 'apiserver_admission_step_admission_duration_seconds', where: (l: Labels) => l.type === 'admit' && l.operation === operation },
    validating: { metric: 'apiserver_admission_step_admission_duration_seconds', where: (l: Labels) => l.type === 'validate' && l.operation === operation },
    webhookMutate: { metric: 'apiserver_admission_webhook_admission_duration_seconds', where: (l: Labels) => l.name === 'mutate.mcp-admission.dev' && l.operation === operation },
    webhookValidate: { metric: 'apiserver_admission_webhook_admission_duration_seconds', where: (l: Labels) => l.name === 'validate.mcp-admission.dev' && l.operation === operation },
    mutatingPolicy: { metric: 'apiserver_admission_controller_admission_duration_seconds', where: (l: Labels) => l.name === 'MutatingAdmissionPolicy' && l.operation === operation },
    validatingPolicy: { metric: 'apiserver_admission_controller_admission_duration_seconds', where: (l: Labels) => l.name === 'ValidatingAdmissionPolicy' && l.operation === operation },
  };
}
type Part = keyof ReturnType<typeof breakdownParts>;
const PARTS = Object.keys(breakdownParts('POST')) as Part[];

interface Cpu {
  apiserver: number;
  etcd: number;
  serve: number;
  floor: number;
  blocksFloor: number;
  client: number;
  /** serve's main thread alone (the event loop), seconds on CPU. */
  serveMain: number;
  /** Seconds the webhooks' main threads were runnable but waited for a CPU (schedstat's second field). */
  serveMainWait: number;
  floorMainWait: number;
  /** Seconds the hypervisor ran something else on the machine's CPUs (/proc/stat, steal), all CPUs together. */
  steal: number;
}

interface Accumulated {
  latencies: number[];
  errors: number;
  firstError?: string;
  seconds: number;
  /** API server answers of measured operations, checked after the run. */
  answers: string[];
  names: string[];
  /** Σ of Δsum (ms) and Δcount per breakdown part, for serve's own decision time, and for serve's status plans (CPU). */
  sums: Record<Part | 'serve' | 'plans', { ms: number; count: number }>;
  cpu: Cpu;
  /** serve's runtime in the window, from its own metrics, whichever configuration is measured. */
  runtime: ServeRuntime;
  /** Requests the API server counted in the windows (apiserver_request_total), by verb and resource: the creates and whatever else came. */
  requests: Record<string, number>;
  /** VmRSS samples (MB) of each webhook process during this configuration's measured windows. */
  rss: { serve: number[]; floor: number[]; blocksFloor: number[] };
  loads: number[];
}

function emptyAccumulated(): Accumulated {
  const sums = Object.fromEntries([...PARTS, 'serve', 'plans'].map((k) => [k, { ms: 0, count: 0 }])) as Accumulated['sums'];
  return {
    latencies: [],
    errors: 0,
    seconds: 0,
    answers: [],
    names: [],
    sums,
    cpu: { apiserver: 0, etcd: 0, serve: 0, floor: 0, blocksFloor: 0, client: 0, serveMain: 0, serveMainWait: 0, floorMainWait: 0, steal: 0 },
    runtime: { gcMs: {}, gcCount: 0, lagMeanMs: [], lagP99Ms: [], lagMaxMs: [], oldSpaceMb: [] },
    requests: {},
    rss: { serve: [], floor: [], blocksFloor: [] },
    loads: [],
  };
}

/**
 * What serve's runtime did in a configuration's windows, from prom-client's
 * default metrics on its metrics port: garbage collection by kind
 * (nodejs_gc_duration_seconds, pause time on the main thread), event-loop
 * delay (nodejs_eventloop_lag_*: prom-client resets its delay histogram
 * at every scrape, and the bench scrapes just before and just after each
 * window, so the figures after one are that window's), and V8's old space
 * after it.
 */
interface ServeRuntime {
  /** Σ GC pause ms by kind (minor, major, incremental, weakcb). */
  gcMs: Record<string, number>;
  gcCount: number;
  /** Per window: event-loop delay mean, p99 and max, ms. */
  lagMeanMs: number[];
  lagP99Ms: number[];
  lagMaxMs: number[];
  /** Per window: old space used after it, MB. */
  oldSpaceMb: number[];
}

interface Snapshot {
  apiserver: Sample[];
  serve: Sample[];
  cpu: Cpu;
}

/** The processes measured: the control plane's, both webhooks', and this one (the client). */
interface Measured {
  api: ApiClient;
  apiserverPid: number;
  etcdPid: number;
  serve: WebhookProcess & { metricsPort: number };
  floor: WebhookProcess;
  blocksFloor: WebhookProcess;
}

function cpuNow(m: Measured): Cpu {
  const client = process.cpuUsage();
  const serveMain = mainThread(m.serve.process.pid);
  return {
    apiserver: threadsCpuSeconds(m.apiserverPid),
    etcd: threadsCpuSeconds(m.etcdPid),
    serve: threadsCpuSeconds(m.serve.process.pid),
    floor: threadsCpuSeconds(m.floor.process.pid),
    blocksFloor: threadsCpuSeconds(m.blocksFloor.process.pid),
    client: (client.user + client.system) / 1e6,
    serveMain: serveMain.cpu,
    serveMainWait: serveMain.wait,
    floorMainWait: mainThread(m.floor.process.pid).wait,
    steal: stealSeconds(),
  };
}

/** Steal time of all CPUs so far, seconds (/proc/stat's first line, eighth value, in USER_HZ: 100 a second on Linux). */
function stealSeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  return Number(fields[8] ?? NaN) / 100;
}

/**
 * A process's main thread from /proc/PID/task/PID/schedstat: seconds on a
 * CPU, and seconds runnable but waiting on a run queue for one (what a
 * busy machine makes a webhook wait, apart from what it computes).
 */
function mainThread(pid: number): { cpu: number; wait: number } {
  const [cpu, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number);
  return { cpu: (cpu ?? NaN) / 1e9, wait: (wait ?? NaN) / 1e9 };
}

async function metricsNow(m: Measured): Promise<Pick<Snapshot, 'apiserver' | 'serve'>> {
  const [apiserver, serve] = await Promise.all([m.api.send('GET', '/metrics').then((a) => a.body), plainMetrics(m.serve.metricsPort)]);
  return { apiserver: parseMetrics(apiserver), serve: parseMetrics(serve) };
}

/** Where the RSS sampler puts its samples; undefined outside measured windows. */
let rssSink: Accumulated['rss'] | undefined;

function startRssSampler(m: Measured): () => void {
  const timer = setInterval(() => {
    if (!rssSink) return;
    rssSink.serve.push(statusMb(m.serve.process.pid, 'VmRSS'));
    rssSink.floor.push(statusMb(m.floor.process.pid, 'VmRSS'));
    rssSink.blocksFloor.push(statusMb(m.blocksFloor.process.pid, 'VmRSS'));
  }, RSS_SAMPLE_MS);
  return () => clearInterval(timer);
}

/** Monotonic microseconds, the clock V8's profiles use (CLOCK_MONOTONIC on Linux, shared by every process). */
const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Runs `window` between two snapshots. CPU is read at the window's very
 * edges, the metrics outside them: fetching and parsing the API server's
 * /metrics costs both sides more CPU than dozens of creates.
 */
async function measured<T>(m: Measured, window: () => Promise<T>, rss?: Accumulated['rss']): Promise<{ result: T; before: Snapshot; after: Snapshot; micros: [number, number] }> {
  const metricsBefore = await metricsNow(m);
  const cpuBefore = cpuNow(m);
  const startedMicros = monotonicMicros();
  rssSink = rss;
  const result = await window().finally(() => (rssSink = undefined));
  const endedMicros = monotonicMicros();
  const cpuAfter = cpuNow(m);
  const metricsAfter = await metricsNow(m);
  return { result, before: { ...metricsBefore, cpu: cpuBefore }, after: { ...metricsAfter, cpu: cpuAfter }, micros: [startedMicros, endedMicros] };
}

function accumulate(into: Accumulated, verb: Verb, before: Snapshot, after: Snapshot): void {
  for (const [part, { metric, where }] of Object.entries(breakdownParts(verb)) as [Part, { metric: string; where: (l: Labels) => boolean }][]) {
    const { ms, count } = histogramMean(before.apiserver, after.apiserver, metric, where);
    if (count > 0) {
      into.sums[part].ms += ms * count;
      into.sums[part].count += count;
    }
  }
  const served = histogramMean(before.serve, after.serve, 'mcp_admission_request_duration_seconds');
  if (served.count > 0) {
    into.sums.serve.ms += served.ms * served.count;
    into.sums.serve.count += served.count;
  }
  // Status plans that ran in the window (the replica holding the status
  // Lease, here serve, plans after each policy or namespace change): their
  // count and CPU, from serve's histogram.
  const plans = histogramMean(before.serve, after.serve, 'mcp_admission_policy_status_plan_cpu_seconds');
  if (plans.count > 0) {
    into.sums.plans.ms += plans.ms * plans.count;
    into.sums.plans.count += plans.count;
  }
  // Every request the API server counted in the window, by verb and
  // resource: the measured creates, and whatever else came meanwhile (a
  // webhook's own calls, Lease renewals, status writes).
  const requestCounts = (samples: readonly Sample[]) => {
    const counts = new Map<string, number>();
    for (const x of samples) {
      if (x.name !== 'apiserver_request_total') continue;
      const key = `${x.labels.verb} ${x.labels.resource}${x.labels.subresource ? `/${x.labels.subresource}` : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + x.value);
    }
    return counts;
  };
  const requestsBefore = requestCounts(before.apiserver);
  for (const [key, count] of requestCounts(after.apiserver)) {
    const delta = count - (requestsBefore.get(key) ?? 0);
    if (delta > 0) into.requests[key] = (into.requests[key] ?? 0) + delta;
  }
  const runtime = into.runtime;
  for (const kind of ['minor', 'major', 'incremental', 'weakcb']) {
    const gc = histogramMean(before.serve, after.serve, 'nodejs_gc_duration_seconds', (l) => l.kind === kind);
    if (gc.count > 0) {
      runtime.gcMs[kind] = (runtime.gcMs[kind] ?? 0) + gc.ms * gc.count;
      runtime.gcCount += gc.count;
    }
  }
  // Each sample is the time between two ticks of a timer armed every
  // EVENT_LOOP_SAMPLE_MS: what is over that is the delay. A window shorter
  // than a tick has no sample (p99 0).
  if (total(after.serve, 'nodejs_eventloop_lag_p99_seconds') > 0) {
    const delay = (name: string) => total(after.serve, name) * 1000 - EVENT_LOOP_SAMPLE_MS;
    runtime.lagMeanMs.push(delay('nodejs_eventloop_lag_mean_seconds'));
    runtime.lagP99Ms.push(delay('nodejs_eventloop_lag_p99_seconds'));
    runtime.lagMaxMs.push(delay('nodejs_eventloop_lag_max_seconds'));
  }
  runtime.oldSpaceMb.push(total(after.serve, 'nodejs_heap_space_size_used_bytes', (l) => l.space === 'old') / 1e6);
  for (const key of Object.keys(into.cpu) as (keyof Cpu)[]) into.cpu[key] += after.cpu[key] - before.cpu[key];
}

interface Operation {
  method: Verb | 'DELETE';
  path: string;
  body: Buffer;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends `operations` over `concurrency` loops, back to back, or with
 * `paceMs` one at a time, each started `paceMs` after the one before (on a
 * fixed schedule: a slow answer does not push the next one back). Latencies
 * of 200/201 answers; errors for anything else.
 */
async function runOperations(api: ApiClient, operations: Operation[], concurrency: number, paceMs = 0) {
  const latencies: number[] = [];
  const answers: string[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  const one = async (op: Operation) => {
    try {
      const answer = await api.send(op.method, op.path, op.body);
      if (answer.status === 201 || answer.status === 200) {
        latencies.push(answer.ms);
        answers.push(answer.body);
      } else {
        errors++;
        firstError ??= `HTTP ${answer.status}: ${answer.body.slice(0, 500)}`;
      }
    } catch (err) {
      errors++;
      firstError ??= (err as Error).message;
    }
  };
  if (paceMs > 0) {
    for (let i = 0; i < operations.length; i++) {
      const wait = started + i * paceMs - performance.now();
      if (wait > 0) await sleep(wait);
      await one(operations[i]!);
    }
  } else {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < operations.length; i = next++) await one(operations[i]!);
      }),
    );
  }
  return { latencies, answers, errors, firstError, seconds: (performance.now() - started) / 1000 };
}

const deploymentsPath = (namespace: string) => `/apis/apps/v1/namespaces/${namespace}/deployments`;
const createOf = (name: string, namespace: string): Operation => ({ method: 'POST', path: deploymentsPath(namespace), body: Buffer.from(JSON.stringify(mcpDeploymentObject(name, namespace))) });
/**
 * An update as a client re-applying its manifest sends it: the object as
 * written (strategy and grace period as the user had them, which the webhook
 * must correct again) with one annotation changed, PUT without a
 * resourceVersion (Deployments allow unconditional updates). The API server
 * sends the stored object as oldObject.
 */
function updateOf(name: string, namespace: string): Operation {
  const object = mcpDeploymentObject(name, namespace);
  object.metadata.annotations[REVISION_ANNOTATION] = '2';
  return { method: 'PUT', path: `${deploymentsPath(namespace)}/${name}`, body: Buffer.from(JSON.stringify(object)) };
}

/** One measured phase: every configuration in it gets `count` operations, in mirrored rounds. */
interface Phase {
  /** Namespace-safe key. */
  key: string;
  title: string;
  verb: Verb;
  concurrency: number;
  /** 0: back to back. */
  paceMs: number;
  count: number;
  warmup: number;
  configurations: AdmissionConfiguration[];
  /** Record serve's windows for --profile: creates into windows.json, updates into update-windows.json. */
  profiled: boolean;
  /** The policy phases: MCPTransportPolicies in the cluster beside the default while it runs (installed or deleted before it). */
  clusterPolicies?: number;
  /** Labelled Deployments to create (unmeasured, under none) before the phase. */
  prefill?: number;
}

interface PhaseResult {
  phase: Phase;
  configuration: AdmissionConfiguration;
  acc: Accumulated;
  /** Objects whose stored form was not what the configuration should give, and the first such. */
  wrong: number;
  firstWrong?: string;
  readBack: string;
}

/** What the configuration should have stored; for updates, the changed annotation too. */
function checkAnswer(phase: Phase, configuration: AdmissionConfiguration, object: Record<string, any>): string | undefined {
  const problem = checkStored(configuration, object);
  if (problem || phase.verb === 'POST') return problem;
  return object.metadata?.annotations?.[REVISION_ANNOTATION] === '2' ? undefined : `update lost: ${REVISION_ANNOTATION} is ${object.metadata?.annotations?.[REVISION_ANNOTATION]}`;
}

/** The webhook's first creates, in two halves: how a cold `serve` (V8 not yet optimized) compares with a warm one. */
interface WarmUp {
  concurrency: number;
  halves: { creates: number; p50: number; p99: number; serveCpuMs: number }[];
}

interface ApiserverRun {
  results: PhaseResult[];
  version: string;
  switchMs: number[];
  warmUp: WarmUp;
  /** CPU % of one core per process over a few seconds with no requests, after the warm-up. */
  idle: Cpu;
  /** VmHWM (peak RSS since start, MB) of each webhook before the cluster policies and at the end. */
  peaks: Record<'beforePolicies' | 'end', { serve: number; floor: number; blocksFloor: number }>;
  /** serve's VmRSS once it has read the cluster policies, and how long that took. */
  policiesLoaded?: { count: number; seconds: number; statusSeconds: number; serveRssMb: number };
  nodeSettings: string;
  servePatch: unknown[];
}

/** Asks serve itself what it patches in the bench Deployment: the floor answers exactly that. */
async function servePatchFor(port: number, caCert: string, namespace: string): Promise<unknown[]> {
  const review = paddedDeploymentReview() as Record<string, any>;
  review.request.uid = 'floor-patch';
  review.request.namespace = namespace;
  review.request.object = mcpDeploymentObject('floor-patch', namespace);
  const { request } = await import('node:https');
  const body = JSON.stringify(review);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mutate', method: 'POST', ca: readFileSync(caCert), headers: { 'content-type': 'application/json' } }, (res) => {
      let out = '';
      res.setEncoding('utf8').on('data', (c: string) => (out += c));
      res.on('end', () => resolve(out));
    });
    req.on('error', reject);
    req.end(body);
  });
  const patch = (JSON.parse(text) as { response?: { patch?: string } }).response?.patch;
  if (!patch) throw new Error(`serve answered no patch for the bench Deployment: ${text.slice(0, 500)}`);
  return JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as unknown[];
}

/** Creates `count` MCPTransportPolicies beside the cluster default and waits until serve's informer holds them all and serve has written their status. */
async function installClusterPolicies(m: Measured, count: number): Promise<{ seconds: number; statusSeconds: number; serveRssMb: number; plans: { count: number; cpuMs: number } }> {
  const started = performance.now();
  const plansBefore = parseMetrics(await plainMetrics(m.serve.metricsPort));
  const path = `/apis/${POLICY_GROUP}/${POLICY_VERSION}/${POLICY_PLURAL}`;
  const operations = transportPolicies(count + 1)
    .slice(1) // the first is a cluster default; the cluster has one
    .map((policy): Operation => ({ method: 'POST', path, body: Buffer.from(JSON.stringify(policy)) }));
  const created = await runOperations(m.api, operations, 8);
  if (created.errors) throw new Error(`creating ${count} MCPTransportPolicies: ${created.errors} failed (${created.firstError})`);
  for (;;) {
    const accepted = total(parseMetrics(await plainMetrics(m.serve.metricsPort)), 'mcp_admission_policies', (l) => l.state === 'accepted');
    if (accepted >= count + 1) break;
    if (performance.now() - started > 180_000) throw new Error(`serve holds ${accepted} accepted policies after 180 s, expected ${count + 1}`);
    await sleep(250);
  }
  const seconds = (performance.now() - started) / 1000;
  // And until serve has written every policy's status, so that those
  // writes fall outside the measured windows, as they would in a cluster
  // where the policies were there before the traffic.
  for (;;) {
    const list = await mustAnswer<{ items: { metadata: { generation?: number }; status?: { observedGeneration?: number } }[] }>(m.api.send('GET', path), `list ${POLICY_PLURAL}`);
    const written = list.items.filter((p) => p.status?.observedGeneration !== undefined && p.status.observedGeneration === p.metadata.generation).length;
    if (written >= count + 1) break;
    if (performance.now() - started > 300_000) throw new Error(`serve wrote the status of ${written} of ${count + 1} policies in 300 s`);
    await sleep(1000);
  }
  const statusSeconds = (performance.now() - started) / 1000;
  const plans = histogramMean(plansBefore, parseMetrics(await plainMetrics(m.serve.metricsPort)), 'mcp_admission_policy_status_plan_cpu_seconds');
  return { seconds, statusSeconds, serveRssMb: statusMb(m.serve.process.pid, 'VmRSS'), plans: { count: plans.count, cpuMs: plans.count > 0 ? plans.ms * plans.count : 0 } };
}

/**
 * Deletes the `count` MCPTransportPolicies installClusterPolicies created
 * and waits until serve's informer holds the default alone and its status
 * plans have stopped (none for 3 s), so neither falls in a window.
 */
async function removeClusterPolicies(m: Measured, count: number): Promise<{ seconds: number; plans: number }> {
  const started = performance.now();
  const plansOf = async () => total(parseMetrics(await plainMetrics(m.serve.metricsPort)), 'mcp_admission_policy_status_plan_cpu_seconds_count');
  const plansBefore = await plansOf();
  const path = `/apis/${POLICY_GROUP}/${POLICY_VERSION}/${POLICY_PLURAL}`;
  const names = transportPolicies(count + 1)
    .slice(1)
    .map((policy) => (policy as { metadata: { name: string } }).metadata.name);
  const deleted = await runOperations(m.api, names.map((name): Operation => ({ method: 'DELETE', path: `${path}/${name}`, body: Buffer.alloc(0) })), 8);
  if (deleted.errors) throw new Error(`deleting ${count} MCPTransportPolicies: ${deleted.errors} failed (${deleted.firstError})`);
  for (;;) {
    const accepted = total(parseMetrics(await plainMetrics(m.serve.metricsPort)), 'mcp_admission_policies', (l) => l.state === 'accepted');
    if (accepted <= 1) break;
    if (performance.now() - started > 180_000) throw new Error(`serve still holds ${accepted} accepted policies 180 s after deleting ${count}`);
    await sleep(250);
  }
  for (let last = await plansOf(), quietSince = performance.now(); performance.now() - quietSince < 3000; ) {
    await sleep(500);
    const now = await plansOf();
    if (now !== last) [last, quietSince] = [now, performance.now()];
  }
  return { seconds: (performance.now() - started) / 1000, plans: (await plansOf()) - plansBefore };
}

function phasesToRun(): { phases: Phase[]; policyPhases: Phase[] } {
  const warmupFor = (c: number) => (flags.warmup !== undefined ? Number(flags.warmup) : 2 * c);
  // The blocks floor where asked for, in its place in the rounds' order.
  // The A/B's phases are the policy phase's: measured with the blocks floor when it is.
  const measuring = (key: string, configurations: readonly AdmissionConfiguration[]) =>
    configurations.filter((k) => k !== 'blocks-floor' || blocksFloorPhases.has(key.startsWith('ab-') ? 'policies' : key));
  const webhooksAndNone = (key: string) => measuring(key, ['none', 'floor', 'blocks-floor', 'mcp-admission']);
  const phases: Phase[] = concurrencies.map((c) => ({ key: `c${c}`, title: `back-to-back C=${c}`, verb: 'POST', concurrency: c, paceMs: 0, count: creates, warmup: warmupFor(c), configurations: measuring(`c${c}`, CONFIGURATIONS), profiled: true }));
  if (Number(flags.paced) > 0) {
    phases.push({ key: 'paced', title: `paced, one create every ${flags.pace} s`, verb: 'POST', concurrency: 1, paceMs, count: Number(flags.paced), warmup: 1, configurations: webhooksAndNone('paced'), profiled: false });
  }
  if (Number(flags.updates) > 0) {
    phases.push({ key: 'update', title: 'update (PUT) C=1', verb: 'PUT', concurrency: 1, paceMs: 0, count: Number(flags.updates), warmup: warmupFor(1), configurations: webhooksAndNone('update'), profiled: true });
  }
  const policyPhase = (key: string, title: string, clusterPolicies: number, prefill?: number): Phase => ({
    key,
    title,
    verb: 'POST',
    concurrency: 1,
    paceMs: 0,
    count: Number(flags['policy-n']),
    warmup: warmupFor(1),
    configurations: webhooksAndNone(key),
    profiled: false,
    clusterPolicies,
    ...(prefill && { prefill }),
  });
  if (policyAb) {
    // The policy phase alone, as an A/B in one run: the default policy
    // only, then N, then the N deleted and created again, so that a drift
    // of the machine or of the cluster over the run weighs on both arms.
    // With --prefill, one phase first with the cache as it is after the
    // warm-up, then the Deployments the full run's earlier phases leave in
    // serve's Deployment cache (and etcd): the phase's place in the run,
    // against the policies' number.
    const n = clusterPolicyCount;
    const steps: Phase[] = [];
    if (prefillCount > 0) steps.push(policyPhase('ab-1-early', 'C=1, default policy only, before the prefill', 0));
    steps.push(
      policyPhase('ab-1-a', `C=1, default policy only (A)${prefillCount > 0 ? `, ${prefillCount} Deployments more` : ''}`, 0, prefillCount),
      policyPhase('ab-n-a', `C=1, ${n} cluster policies (B)`, n),
      policyPhase('ab-1-b', 'C=1, default policy only (A again)', 0),
      policyPhase('ab-n-b', `C=1, ${n} cluster policies (B again)`, n),
    );
    return { phases: [], policyPhases: steps };
  }
  const policyPhases =
    clusterPolicyCount > 0 && Number(flags['policy-n']) > 0 ? [policyPhase('policies', `back-to-back C=1, ${clusterPolicyCount} cluster policies`, clusterPolicyCount)] : [];
  return { phases, policyPhases };
}

async function throughApiserver(progress: (s: string) => void): Promise<ApiserverRun> {
  const { phases, policyPhases } = phasesToRun();
  const all = [...phases, ...policyPhases];
  const env = await startE2E({ webhook: false });
  const api = apiClient(env.controlPlane.url, env.controlPlane.pki, Math.max(...concurrencies, 8));
  const processes: WebhookProcess[] = [];
  const profileWindows: [number, number][] = [];
  const floorProfileWindows: [number, number][] = [];
  const blocksFloorProfileWindows: [number, number][] = [];
  const updateWindows: [number, number][] = [];
  const floorUpdateWindows: [number, number][] = [];
  const blocksFloorUpdateWindows: [number, number][] = [];
  /** Every measured window, for `bench/gc-summary.ts --by-phase` when GC_TALLY_DIR is set. */
  const allWindows: { phase: string; configuration: AdmissionConfiguration; from: number; to: number; operations: number }[] = [];
  let stopSampler = () => undefined as void;
  try {
    const version = (await mustAnswer<{ gitVersion: string }>(api.send('GET', '/version'), 'GET /version')).gitVersion;
    const node = manifestNodeOptions();
    const buildDir = `${RESULTS}build/`;
    const entry = buildForBenchmark(REPO_ROOT, buildDir);
    const [certificates, [servePort, metricsPort, floorPort, blocksPort, blocksMetricsPort]] = await Promise.all([generateWebhookCertificates(join(env.dir, 'webhook-certs')), freePorts(5)]);
    const profileArgs = flags.profile ? ['--cpu-prof', '--cpu-prof-dir', flags.profile, '--cpu-prof-name', 'serve.cpuprofile', '--heap-prof', '--heap-prof-dir', flags.profile, '--heap-prof-name', 'serve.heapprofile'] : [];
    // The floor is profiled the same way, so the costs both pay (TLS, node:http) show as common.
    const floorProfileArgs = (name: string) => (flags.profile ? ['--cpu-prof', '--cpu-prof-dir', flags.profile, '--cpu-prof-name', `${name}.cpuprofile`] : []);
    if (flags.profile) mkdirSync(flags.profile, { recursive: true });
    // serve's own namespace, as installed: its policy status writer takes
    // its Lease there and writes every policy's status, as one replica does
    // in a cluster. Without it the Lease create fails and is retried every
    // few seconds, in every window.
    await mustAnswer(api.send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DEFAULT_INSTALL_NAMESPACE } }), `create namespace ${DEFAULT_INSTALL_NAMESPACE}`);
    const serve = await startServe({ entry, dir: env.dir, port: servePort!, metricsPort: metricsPort!, certificates, kubeconfig: env.controlPlane.kubeconfig, nodeArgs: [...node.flags, ...profileArgs, ...(perfRun?.nodeArgs('mcp-admission') ?? [])], nodeOptions: node.nodeOptions });
    processes.push(serve);
    const servePatch = await servePatchFor(servePort!, certificates.caCert, 'bench-warm');
    const floor = await startFloor({ buildDir, dir: env.dir, port: floorPort!, certificates, patch: servePatch, nodeArgs: [...floorProfileArgs('floor'), ...(perfRun?.nodeArgs('floor') ?? [])] });
    processes.push(floor);
    // The blocks floor runs with serve's Node flags, as serve does.
    const blocksFloor = await startFloor({
      buildDir,
      dir: env.dir,
      port: blocksPort!,
      certificates,
      patch: servePatch,
      nodeArgs: [...node.flags, ...floorProfileArgs('blocks-floor'), ...(perfRun?.nodeArgs('blocks-floor') ?? [])],
      blocks: { nodeOptions: node.nodeOptions, metricsPort: blocksMetricsPort! },
    });
    processes.push(blocksFloor);
    progress(`  serve (compiled, info logging, cluster policies; Node flags: ${node.source}) pid ${serve.process.pid}; floor pid ${floor.process.pid} and blocks floor pid ${blocksFloor.process.pid}, answering serve's ${servePatch.length}-operation patch\n`);
    for (const [name, p] of [['mcp-admission', serve], ['floor', floor], ['blocks-floor', blocksFloor]] as const) perfRun?.record(name, p.process.pid);
    const m: Measured = { api, apiserverPid: env.controlPlane.apiserver.pid, etcdPid: env.controlPlane.etcd.pid, serve: { ...serve, metricsPort: metricsPort! }, floor, blocksFloor };
    stopSampler = startRssSampler(m);

    const namespace = (phase: Phase, configuration: AdmissionConfiguration) => `bench-${phase.key}-${configuration}`;
    const namespaces = ['bench-probe', 'bench-warm', ...(prefillCount > 0 ? ['bench-prefill'] : []), ...all.flatMap((p) => p.configurations.map((k) => namespace(p, k)))];
    for (const name of namespaces) {
      await mustAnswer(api.send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }), `create namespace ${name}`);
    }
    const admission = admissionSwitch(env.kubectl, api, 'bench-probe', { serve: { port: servePort!, metricsPort: metricsPort! }, floor: { port: floorPort! }, blocksFloor: { port: blocksPort!, metricsPort: blocksMetricsPort! }, caBundle: certificates.caBundle });
    const switchMs: number[] = [];
    let current: AdmissionConfiguration | undefined;
    const use = async (configuration: AdmissionConfiguration) => {
      if (configuration === current) return;
      switchMs.push(await admission.use(configuration));
      current = configuration;
    };

    // A webhook that has served a few hundred reviews runs optimized code; a
    // fresh one does not. Warm each first, so each round's few warm-up
    // operations suffice, and report the difference for serve.
    const warmUp: WarmUp = { concurrency: Math.max(...concurrencies), halves: [] };
    const warmCount = Number(flags['warm-webhook']);
    let warmIndex = 0;
    const warmBodies = (count: number) => Array.from({ length: count }, () => createOf(`warm-${warmIndex++}`, 'bench-warm'));
    if (warmCount > 0) {
      for (const floorOf of ['floor', 'blocks-floor'] as const) {
        await use(floorOf);
        const warmed = await runOperations(api, warmBodies(warmCount), warmUp.concurrency);
        if (warmed.errors) throw new Error(`${floorOf} warm-up: ${warmed.firstError}`);
      }
      await use('mcp-admission');
      for (let half = 0; half < 2; half++) {
        const count = Math.floor(warmCount / 2);
        const { result, before, after } = await measured(m, () => runOperations(api, warmBodies(count), warmUp.concurrency));
        if (result.errors) throw new Error(`webhook warm-up: ${result.firstError}`);
        const ordered = sorted(result.latencies);
        warmUp.halves.push({ creates: count, p50: percentile(ordered, 50), p99: percentile(ordered, 99), serveCpuMs: ((after.cpu.serve - before.cpu.serve) * 1000) / count });
        progress(`  webhook warm-up ${half + 1}/2: ${count} creates at C=${warmUp.concurrency} under mcp-admission: p50 ${fixed(percentile(ordered, 50), 2)} ms, serve CPU ${fixed(warmUp.halves[half]!.serveCpuMs, 2)} ms/create\n`);
      }
    }
    // What the processes burn with no requests at all (informers, leases, GC, timers), to read CPU per operation against.
    const idleSeconds = 3;
    const { before: idleBefore, after: idleAfter } = await measured(m, () => sleep(idleSeconds * 1000));
    const idle = Object.fromEntries(Object.keys(idleAfter.cpu).map((k) => [k, ((idleAfter.cpu[k as keyof Cpu] - idleBefore.cpu[k as keyof Cpu]) / idleSeconds) * 100])) as unknown as Cpu;

    const results: PhaseResult[] = [];
    const runPhase = async (phase: Phase) => {
      const accs = new Map(phase.configurations.map((k) => [k, emptyAccumulated()]));
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? [...phase.configurations] : [...phase.configurations].reverse();
        const count = Math.floor(phase.count / rounds) + (round < phase.count % rounds ? 1 : 0);
        for (const configuration of order) {
          await use(configuration);
          const ns = namespace(phase, configuration);
          const acc = accs.get(configuration)!;
          const names = Array.from({ length: count }, (_, i) => `mcp-r${round}-${String(i).padStart(4, '0')}`);
          const warmNames = Array.from({ length: phase.warmup }, (_, i) => `warm-r${round}-${i}`);
          let warm: Operation[];
          let operations: Operation[];
          if (phase.verb === 'POST') {
            warm = warmNames.map((n) => createOf(n, ns));
            operations = names.map((n) => createOf(n, ns));
          } else {
            // The objects to update, created first (unmeasured) under the same configuration.
            const made = await runOperations(api, [...warmNames, ...names].map((n) => createOf(n, ns)), 4);
            if (made.errors) throw new Error(`${LABEL[configuration]}: creating objects to update failed: ${made.firstError}`);
            warm = warmNames.map((n) => updateOf(n, ns));
            operations = names.map((n) => updateOf(n, ns));
          }
          const warmed = await runOperations(api, warm, phase.concurrency);
          if (warmed.errors) throw new Error(`${LABEL[configuration]}: warm-up failed: ${warmed.firstError}`);
          if (phase.paceMs > 0) await sleep(phase.paceMs); // the first measured one comes after a full pause too
          progress(`  ${phase.title} round ${round + 1}/${rounds} ${LABEL[configuration]}: ${count} ${phase.verb === 'POST' ? 'creates' : 'updates'} (load ${loadavg()[0]!.toFixed(2)}) ...`);
          const { result: run, before, after, micros } = await measured(m, () => runOperations(api, operations, phase.concurrency, phase.paceMs), acc.rss);
          if (flags.profile && phase.profiled && configuration === 'mcp-admission') (phase.verb === 'PUT' ? updateWindows : profileWindows).push(micros);
          if (flags.profile && phase.profiled && configuration === 'floor') (phase.verb === 'PUT' ? floorUpdateWindows : floorProfileWindows).push(micros);
          if (flags.profile && phase.profiled && configuration === 'blocks-floor') (phase.verb === 'PUT' ? blocksFloorUpdateWindows : blocksFloorProfileWindows).push(micros);
          perfRun?.window(phase, configuration, micros, operations.length);
          allWindows.push({ phase: phase.title, configuration, from: micros[0], to: micros[1], operations: operations.length });
          accumulate(acc, phase.verb, before, after);
          acc.latencies.push(...run.latencies);
          acc.answers.push(...run.answers);
          acc.names.push(...names);
          acc.errors += run.errors;
          acc.firstError ??= run.firstError;
          acc.seconds += run.seconds;
          acc.loads.push(loadavg()[0]!);
          const ordered = sorted(run.latencies);
          const own = configuration === 'mcp-admission' ? `, serve CPU ${fixed(((after.cpu.serve - before.cpu.serve) * 1000) / operations.length, 2)} ms/op (main thread ${fixed(((after.cpu.serveMain - before.cpu.serveMain) * 1000) / operations.length, 2)})` : '';
          progress(` p50 ${fixed(percentile(ordered, 50), 2)} ms, p90 ${fixed(percentile(ordered, 90), 2)} ms${own}${run.errors ? `, ${run.errors} errors (${run.firstError})` : ''}\n`);
        }
      }
      for (const configuration of phase.configurations) {
        const acc = accs.get(configuration)!;
        let wrong = 0;
        let firstWrong: string | undefined;
        for (const answer of acc.answers) {
          const problem = checkAnswer(phase, configuration, JSON.parse(answer) as Record<string, any>);
          if (problem) {
            wrong++;
            firstWrong ??= problem;
          }
        }
        const ns = namespace(phase, configuration);
        const last = acc.names[acc.names.length - 1]!;
        const stored = await mustAnswer(api.send('GET', `${deploymentsPath(ns)}/${last}`), `read back ${ns}/${last}`);
        const readBack = checkAnswer(phase, configuration, stored) ?? 'ok';
        results.push({ phase, configuration, acc, wrong, ...(firstWrong !== undefined && { firstWrong }), readBack });
      }
    };

    for (const phase of phases) await runPhase(phase);
    const hwm = () => ({ serve: statusMb(serve.process.pid, 'VmHWM'), floor: statusMb(floor.process.pid, 'VmHWM'), blocksFloor: statusMb(blocksFloor.process.pid, 'VmHWM') });
    const beforePolicies = hwm();
    let policiesLoaded: ApiserverRun['policiesLoaded'];
    /** MCPTransportPolicies in the cluster beside the default. */
    let installed = 0;
    for (const phase of policyPhases) {
      if (phase.prefill) {
        progress(`  creating ${phase.prefill} labelled Deployments in bench-prefill under (i) none ...`);
        await use('none');
        const made = await runOperations(api, Array.from({ length: phase.prefill }, (_, i) => createOf(`prefill-${i}`, 'bench-prefill')), 8);
        if (made.errors) throw new Error(`prefill: ${made.errors} creates failed (${made.firstError})`);
        progress(` done in ${fixed(made.seconds, 1)} s\n`);
      }
      const wanted = phase.clusterPolicies ?? 0;
      if (wanted > 0 && installed === 0) {
        progress(`  creating ${wanted} MCPTransportPolicies ...`);
        const loaded = await installClusterPolicies(m, wanted);
        policiesLoaded ??= { count: wanted, ...loaded };
        installed = wanted;
        progress(` serve holds them after ${fixed(loaded.seconds, 1)} s and has written their status after ${fixed(loaded.statusSeconds, 1)} s, RSS ${fixed(loaded.serveRssMb, 0)} MB; ${loaded.plans.count} status plans meanwhile, ${fixed(loaded.plans.cpuMs, 0)} ms of CPU\n`);
      } else if (wanted === 0 && installed > 0) {
        progress(`  deleting the ${installed} MCPTransportPolicies ...`);
        const removed = await removeClusterPolicies(m, installed);
        installed = 0;
        progress(` serve holds the default alone after ${fixed(removed.seconds, 1)} s; ${removed.plans} status plans meanwhile\n`);
      }
      await runPhase(phase);
    }
    const peaks = { beforePolicies, end: hwm() };
    if (process.env.GC_TALLY_DIR) writeFileSync(join(process.env.GC_TALLY_DIR, 'windows-by-phase.json'), JSON.stringify({ clock: 'CLOCK_MONOTONIC microseconds', windows: allWindows }));
    if (flags.profile) {
      writeFileSync(join(flags.profile, 'windows.json'), JSON.stringify({ clock: 'CLOCK_MONOTONIC microseconds', windows: profileWindows }));
      writeFileSync(join(flags.profile, 'floor-windows.json'), JSON.stringify({ clock: 'CLOCK_MONOTONIC microseconds', windows: floorProfileWindows }));
      writeFileSync(join(flags.profile, 'blocks-floor-windows.json'), JSON.stringify({ clock: 'CLOCK_MONOTONIC microseconds', windows: blocksFloorProfileWindows }));
      writeFileSync(join(flags.profile, 'update-windows.json'), JSON.stringify({ clock: 'CLOCK_MONOTONIC microseconds', windows: updateWindows }));
      writeFileSync(join(flags.profile, 'floor-update-windows.json'), JSON.stringify({ clock: 'CLOCK_MONOTONIC microseconds', windows: floorUpdateWindows }));
      writeFileSync(join(flags.profile, 'blocks-floor-update-windows.json'), JSON.stringify({ clock: 'CLOCK_MONOTONIC microseconds', windows: blocksFloorUpdateWindows }));
    }
    return { results, version, switchMs, warmUp, idle, peaks, ...(policiesLoaded && { policiesLoaded }), nodeSettings: node.source, servePatch };
  } finally {
    await perfRun?.stop();
    stopSampler();
    api.close();
    // ManagedProcess.stop() waits for an unref'd child: once its SIGKILL
    // timer has fired, nothing keeps Node's event loop alive until the exit
    // event, and outside node:test the process ends mid-teardown. Hold it open.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      // A profiled serve writes its profiles on the way out: give it time.
      for (const p of processes) {
        const exit = await p.process.stop(flags.profile ? 60_000 : 5_000);
        progress(`${p.name}, stopped (SIGTERM${flags.profile ? ', SIGKILL after 60 s' : ', SIGKILL after 5 s'}): ${exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`}\n`);
      }
      await env.stop();
    } finally {
      clearInterval(keepAlive);
    }
  }
}


/** A webhook process in its configuration's windows: CPU ms per operation (also net of idle) and RSS MB. */
interface Figures {
  cpu: number;
  net: number;
  rss: number;
  rssMax: number;
}

function median(values: number[]): number {
  return percentile(sorted(values), 50);
}

interface Tables {
  latency: string;
  floor: string;
  webhooks: string;
  blocks: string;
  ratios: string;
  breakdown: string;
  cpu: string;
  verdict: string;
  runtime: string;
}

function apiserverTables(run: ApiserverRun): Tables {
  const { results, idle } = run;
  const verdicts: string[] = [];
  const phases = [...new Set(results.map((r) => r.phase))];
  const find = (phase: Phase, k: AdmissionConfiguration) => results.find((r) => r.phase === phase && r.configuration === k);
  const stat = (phase: Phase, k: AdmissionConfiguration, p: number | 'mean') => {
    const r = find(phase, k);
    if (!r) return NaN;
    const s = sorted(r.acc.latencies);
    return p === 'mean' ? mean(s) : percentile(s, p);
  };

  const latency = markdownTable(
    ['phase', 'configuration', 'ops', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'mean ms', 'ops/s', 'errors', 'stored objects checked', 'load avg after each round'],
    results.map(({ phase, configuration, acc, wrong, readBack }) => {
      const s = sorted(acc.latencies);
      return [
        phase.title,
        LABEL[configuration],
        String(s.length),
        fixed(percentile(s, 50), 2),
        fixed(percentile(s, 90), 2),
        fixed(percentile(s, 99), 2),
        fixed(s[s.length - 1] ?? NaN, 2),
        fixed(mean(s), 2),
        fixed(s.length / acc.seconds, phase.paceMs > 0 ? 2 : 0),
        String(acc.errors),
        wrong === 0 && readBack === 'ok' ? `all ${acc.answers.length} ok` : `${wrong} wrong; read-back ${readBack}`,
        acc.loads.map((l) => l.toFixed(1)).join(', '),
      ];
    }),
  );

  // serve against the floor: added latency over none, and the ratio with its
  // 95% bootstrap interval over this run's samples. A run's interval is the
  // least the uncertainty can be (see bootstrapInterval); pool several runs
  // with bench/apiserver-pool.ts to carry the spread between runs.
  const ratioInterval = (phase: Phase, reference: AdmissionConfiguration, subject: AdmissionConfiguration, p: number) => {
    const samples = (k: AdmissionConfiguration) => find(phase, k)?.acc.latencies ?? [];
    return bootstrapInterval([[samples('none'), samples(reference), samples(subject)]], addedRatio(p));
  };
  const floorRows = phases.map((phase) => {
    const cells: string[] = [phase.title];
    for (const p of [50, 90]) {
      const none = stat(phase, 'none', p);
      const floorAdded = stat(phase, 'floor', p) - none;
      const serveAdded = stat(phase, 'mcp-admission', p) - none;
      const ratio = serveAdded / floorAdded;
      const interval = ratioInterval(phase, 'floor', 'mcp-admission', p);
      const verdict = judge(interval, TARGET_ADDED_VS_FLOOR);
      cells.push(fixed(none, 2), fixed(stat(phase, 'floor', p), 2), fixed(stat(phase, 'mcp-admission', p), 2), fixed(floorAdded, 2), fixed(serveAdded, 2), `${withInterval(ratio, interval)} (${VERDICT_MARK[verdict]})`);
      verdicts.push(`- ${phase.title}: serve added / floor added at p${p} ${withInterval(ratio, interval)} (target ≤ ${TARGET_ADDED_VS_FLOOR}): ${verdict}`);
    }
    return cells;
  });
  const floor = markdownTable(
    ['phase', 'none p50', 'floor p50', 'serve p50', 'floor added p50', 'serve added p50', `serve/floor added p50 (≤ ${TARGET_ADDED_VS_FLOOR})`, 'none p90', 'floor p90', 'serve p90', 'floor added p90', 'serve added p90', `serve/floor added p90 (≤ ${TARGET_ADDED_VS_FLOOR})`],
    floorRows,
  );

  // Each webhook process in its own windows: CPU per operation and RSS.
  const figures = (phase: Phase, k: 'floor' | 'blocks-floor' | 'mcp-admission') => {
    const process = PROCESS_OF[k];
    const { acc } = find(phase, k)!;
    const perOp = (cpu: number) => (cpu * 1000) / acc.latencies.length;
    return {
      cpu: perOp(acc.cpu[process]),
      net: perOp(acc.cpu[process] - (idle[process] / 100) * acc.seconds),
      rss: median(acc.rss[process]),
      rssMax: Math.max(...acc.rss[process]),
    };
  };
  const webhookRows = phases.map((phase) => {
    const { cpu: cpuF, net: netF, rss: rssF, rssMax: rssMaxF } = figures(phase, 'floor');
    const { cpu: cpuS, net: netS, rss: rssS, rssMax: rssMaxS } = figures(phase, 'mcp-admission');
    // Paced, the operations are seconds apart and what a process burns idle
    // (timers, informers) outweighs them: judged net of idle. Back to back,
    // as measured.
    const cpuRatio = phase.paceMs > 0 ? netS / netF : cpuS / cpuF;
    const cpuVerdict = phase.paceMs > 0 ? judgeNetOfIdle(netS, netF, TARGET_CPU_VS_FLOOR) : cpuRatio <= TARGET_CPU_VS_FLOOR ? 'met' : 'MISSED';
    const rssRatio = rssS / rssF;
    verdicts.push(`- ${phase.title}: webhook CPU per operation serve/floor${phase.paceMs > 0 ? ' (net of idle)' : ''} ${fixed(cpuRatio, 2)} (target ≤ ${TARGET_CPU_VS_FLOOR}): ${cpuVerdict}; steady RSS serve/floor ${fixed(rssRatio, 2)} (target ≤ ${TARGET_RSS_VS_FLOOR}): ${rssRatio <= TARGET_RSS_VS_FLOOR ? 'met' : 'MISSED'}`);
    return [
      phase.title,
      fixed(cpuF, 2),
      fixed(cpuS, 2),
      `${fixed(cpuS / cpuF, 2)}${phase.paceMs > 0 ? '' : cpuRatio <= TARGET_CPU_VS_FLOOR ? ' (ok)' : ' (MISS)'}`,
      fixed(netF, 2),
      fixed(netS, 2),
      `${fixed(netS / netF, 2)}${phase.paceMs > 0 ? (cpuVerdict === 'met' ? ' (ok)' : cpuVerdict === 'MISSED' ? ' (MISS)' : ' (not judged)') : ''}`,
      fixed(rssF, 0),
      fixed(rssMaxF, 0),
      fixed(rssS, 0),
      fixed(rssMaxS, 0),
      `${fixed(rssRatio, 2)}${rssRatio <= TARGET_RSS_VS_FLOOR ? ' (ok)' : ' (MISS)'}`,
    ];
  });
  const webhooks = markdownTable(
    ['phase', 'floor CPU ms/op', 'serve CPU ms/op', `serve/floor CPU (≤ ${TARGET_CPU_VS_FLOOR})`, 'floor net of idle', 'serve net of idle', 'serve/floor net', 'floor RSS steady MB', 'floor RSS max MB', 'serve RSS steady MB', 'serve RSS max MB', `serve/floor steady RSS (≤ ${TARGET_RSS_VS_FLOOR})`],
    webhookRows,
  );

  // The blocks floor beside the floor and serve, where it was measured: what
  // of serve's excess over the floor the building blocks account for. No
  // target: these say what is left to cut.
  const blocksRows = phases
    .filter((phase) => phase.configurations.includes('blocks-floor'))
    .map((phase) => {
      const cells: string[] = [phase.title];
      const p50: number[] = [];
      for (const p of [50, 90]) {
        const none = stat(phase, 'none', p);
        const [floorAdded, blocksAdded, serveAdded] = (['floor', 'blocks-floor', 'mcp-admission'] as const).map((k) => stat(phase, k, p) - none) as [number, number, number];
        const serveOverBlocks = ratioInterval(phase, 'blocks-floor', 'mcp-admission', p);
        const blocksOverFloor = ratioInterval(phase, 'floor', 'blocks-floor', p);
        if (p === 50) p50.push(serveAdded / blocksAdded, blocksAdded / floorAdded);
        cells.push(fixed(stat(phase, 'blocks-floor', p), 2), fixed(blocksAdded, 2), withInterval(blocksAdded / floorAdded, blocksOverFloor), withInterval(serveAdded / blocksAdded, serveOverBlocks), fixed(serveAdded / floorAdded, 2));
      }
      const [f, b, s] = (['floor', 'blocks-floor', 'mcp-admission'] as const).map((k) => figures(phase, k)) as [Figures, Figures, Figures];
      // Paced, CPU net of idle, as above.
      const cpu = (x: Figures) => (phase.paceMs > 0 ? x.net : x.cpu);
      cells.push(fixed(cpu(b), 2), fixed(cpu(b) / cpu(f), 2), fixed(cpu(s) / cpu(b), 2), fixed(cpu(s) / cpu(f), 2), fixed(b.rss, 0), fixed(b.rssMax, 0), fixed(b.rss / f.rss, 2), fixed(s.rss / b.rss, 2), fixed(s.rss / f.rss, 2));
      verdicts.push(`- ${phase.title}: against the blocks floor, serve's added latency ${fixed(p50[0]!, 2)} at p50 and its CPU per operation ${fixed(cpu(s) / cpu(b), 2)}, steady RSS ${fixed(s.rss / b.rss, 2)} (the blocks floor over the floor: ${fixed(p50[1]!, 2)}, ${fixed(cpu(b) / cpu(f), 2)}, ${fixed(b.rss / f.rss, 2)})`);
      return cells;
    });
  const blocks = markdownTable(
    [
      'phase',
      'blocks p50', 'blocks added p50', 'blocks/floor added p50', 'serve/blocks added p50', 'serve/floor added p50',
      'blocks p90', 'blocks added p90', 'blocks/floor added p90', 'serve/blocks added p90', 'serve/floor added p90',
      'blocks CPU ms/op (paced: net of idle)', 'blocks/floor CPU', 'serve/blocks CPU', 'serve/floor CPU',
      'blocks RSS steady MB', 'blocks RSS max MB', 'blocks/floor steady RSS', 'serve/blocks steady RSS', 'serve/floor steady RSS',
    ],
    blocksRows,
  );

  // Issue 7's figures at each concurrency: mcp-admission against none and CEL.
  const createPhases = phases.filter((p) => p.key.startsWith('c') && p.configurations.includes('cel'));
  const ratioRows = createPhases.map((phase) => {
    const c = phase.concurrency;
    const vsNone = stat(phase, 'mcp-admission', 99) / stat(phase, 'none', 99);
    const vsCel = stat(phase, 'mcp-admission', 99) / stat(phase, 'cel', 99);
    const targeted = c === TARGET_CONCURRENCY;
    const mark = (ratio: number, target: number) => `${fixed(ratio, 2)}${targeted ? (ratio <= target ? ' (ok)' : ' (MISS)') : ''}`;
    if (targeted) {
      verdicts.push(`- p99 (iii)/(i) at C=${c}: ${fixed(vsNone, 2)} (target ≤ ${TARGET_VS_NONE}): ${vsNone <= TARGET_VS_NONE ? 'met' : 'MISSED'}`);
      verdicts.push(`- p99 (iii)/(iv) at C=${c}: ${fixed(vsCel, 2)} (target ≤ ${TARGET_VS_CEL}): ${vsCel <= TARGET_VS_CEL ? 'met' : 'MISSED'}`);
    }
    return [
      String(c),
      fixed(stat(phase, 'mcp-admission', 50) / stat(phase, 'none', 50), 2),
      mark(vsNone, TARGET_VS_NONE),
      fixed(stat(phase, 'mcp-admission', 50) / stat(phase, 'cel', 50), 2),
      mark(vsCel, TARGET_VS_CEL),
      fixed(stat(phase, 'mcp-admission', 'mean') - stat(phase, 'none', 'mean'), 2),
      fixed(stat(phase, 'floor', 'mean') - stat(phase, 'none', 'mean'), 2),
      fixed(stat(phase, 'cel', 'mean') - stat(phase, 'none', 'mean'), 2),
    ];
  });
  const ratios = markdownTable(
    ['C', 'p50 (iii)/(i)', `p99 (iii)/(i) (target ≤ ${TARGET_VS_NONE} at C=${TARGET_CONCURRENCY})`, 'p50 (iii)/(iv)', `p99 (iii)/(iv) (target ≤ ${TARGET_VS_CEL} at C=${TARGET_CONCURRENCY})`, 'mean added by (iii), ms', 'mean added by (ii), ms', 'mean added by (iv), ms'],
    ratioRows,
  );

  const ms = (acc: Accumulated, part: Part | 'serve') => (acc.sums[part].count ? acc.sums[part].ms / acc.sums[part].count : NaN);
  const perOp = (acc: Accumulated, part: Part | 'serve') => acc.sums[part].count / acc.latencies.length;
  const webhook = (k: AdmissionConfiguration) => k === 'mcp-admission' || k === 'floor' || k === 'blocks-floor';
  const breakdown = markdownTable(
    ['phase', 'configuration', 'client mean ms', 'API server request mean ms', 'mutating admission ms', 'validating admission ms', 'webhook /mutate call ms × calls/op', 'webhook /validate call ms × calls/op', 'serve decision ms', 'MutatingAdmissionPolicy plugin ms', 'ValidatingAdmissionPolicy plugin ms'],
    results.map(({ phase, configuration, acc }) => [
      phase.title,
      LABEL[configuration],
      fixed(mean(acc.latencies), 2),
      fixed(ms(acc, 'apiserver'), 2),
      fixed(ms(acc, 'mutating'), 2),
      fixed(ms(acc, 'validating'), 2),
      webhook(configuration) ? `${fixed(ms(acc, 'webhookMutate'), 2)} × ${fixed(perOp(acc, 'webhookMutate'), 2)}` : '',
      webhook(configuration) ? `${fixed(ms(acc, 'webhookValidate'), 2)} × ${fixed(perOp(acc, 'webhookValidate'), 2)}` : '',
      configuration === 'mcp-admission' ? fixed(ms(acc, 'serve'), 3) : '',
      fixed(ms(acc, 'mutatingPolicy'), 3),
      fixed(ms(acc, 'validatingPolicy'), 3),
    ]),
  );

  const cpu = markdownTable(
    ['phase', 'configuration', 'kube-apiserver CPU ms/op', 'etcd', 'serve', 'floor', 'blocks floor', 'client', 'total', 'total CPU % (of one core)'],
    results.map(({ phase, configuration, acc }) => {
      const per = (s: number) => fixed((s * 1000) / acc.latencies.length, 2);
      const busy = acc.cpu.apiserver + acc.cpu.etcd + acc.cpu.serve + acc.cpu.floor + acc.cpu.blocksFloor + acc.cpu.client;
      const webhookCpu = (k: keyof typeof PROCESS_OF) => per(acc.cpu[PROCESS_OF[k]]) + (configuration === k ? '' : ' (idle)');
      return [phase.title, LABEL[configuration], per(acc.cpu.apiserver), per(acc.cpu.etcd), webhookCpu('mcp-admission'), webhookCpu('floor'), webhookCpu('blocks-floor'), per(acc.cpu.client), per(busy), fixed((busy / acc.seconds) * 100, 0)];
    }),
  );
  for (const r of results) {
    if (r.wrong > 0 || r.readBack !== 'ok') verdicts.push(`- ${r.phase.title} ${LABEL[r.configuration]}: ${r.wrong} stored objects not as expected (${r.firstWrong ?? r.readBack})`);
    if (r.acc.errors > 0) verdicts.push(`- ${r.phase.title} ${LABEL[r.configuration]}: ${r.acc.errors} failed operations (${r.acc.firstError})`);
  }
  // Where serve's time per create goes, against the floor's, in each phase:
  // the API server's view of the two calls, serve's own decision, the rest
  // (TLS, HTTP, the event loop: waiting included), and what serve's runtime
  // did in its windows (GC pauses, event-loop delay, old space).
  const calls = (acc: Accumulated) => ms(acc, 'webhookMutate') * perOp(acc, 'webhookMutate') + ms(acc, 'webhookValidate') * perOp(acc, 'webhookValidate');
  const runtime = markdownTable(
    [
      'phase',
      'floor: both calls ms (API server)',
      'serve: both calls ms (API server)',
      'serve: decision ms × 2',
      'serve: calls outside the decision ms',
      'serve CPU ms/create: all threads / main thread',
      'main thread waiting for a CPU ms/create: floor / serve',
      'API server CPU ms/create under none / floor / serve',
      'steal ms/create in serve\'s windows',
      'serve GC pause ms/create: minor / major / incremental',
      `serve event-loop delay ms (over its ${EVENT_LOOP_SAMPLE_MS} ms timer): mean / p99 / max, median window`,
      'the same in none\'s windows',
      'serve old space MB',
      'load',
    ],
    phases
      .filter((phase) => phase.verb === 'POST' && phase.paceMs === 0 && phase.concurrency === 1 && find(phase, 'mcp-admission') && find(phase, 'floor'))
      .map((phase) => {
        const serve = find(phase, 'mcp-admission')!.acc;
        const floorAcc = find(phase, 'floor')!.acc;
        const noneAcc = find(phase, 'none')?.acc;
        const creates = serve.latencies.length;
        const decision = ms(serve, 'serve') * (serve.sums.serve.count / creates);
        const gc = (kind: string) => fixed((serve.runtime.gcMs[kind] ?? 0) / creates, 3);
        const lag = (r: ServeRuntime | undefined) => (r ? `${fixed(median(r.lagMeanMs), 2)} / ${fixed(median(r.lagP99Ms), 2)} / ${fixed(median(r.lagMaxMs), 2)}` : '');
        return [
          phase.title,
          fixed(calls(floorAcc), 2),
          fixed(calls(serve), 2),
          fixed(decision, 3),
          fixed(calls(serve) - decision, 2),
          `${fixed((serve.cpu.serve * 1000) / creates, 2)} / ${fixed((serve.cpu.serveMain * 1000) / creates, 2)}`,
          `${fixed((floorAcc.cpu.floorMainWait * 1000) / floorAcc.latencies.length, 2)} / ${fixed((serve.cpu.serveMainWait * 1000) / creates, 2)}`,
          [noneAcc, floorAcc, serve].map((a) => (a ? fixed((a.cpu.apiserver * 1000) / a.latencies.length, 2) : '')).join(' / '),
          fixed((serve.cpu.steal * 1000) / creates, 3),
          `${gc('minor')} / ${gc('major')} / ${gc('incremental')}`,
          lag(serve.runtime),
          lag(noneAcc?.runtime),
          fixed(median(serve.runtime.oldSpaceMb), 1),
          serve.loads.map((l) => l.toFixed(1)).join(', '),
        ];
      }),
  );
  // What else the API server served in each window: anything but the
  // creates, per create (the GETs of /metrics around a window fall outside it).
  const requests = results
    .filter(({ phase }) => phase.verb === 'POST' && phase.paceMs === 0 && phase.concurrency === 1)
    .map(({ phase, configuration, acc }) => {
      const other = Object.entries(acc.requests)
        .filter(([key]) => key !== 'POST deployments')
        .sort((a, b) => b[1] - a[1])
        .map(([key, n]) => `${key} ${n}`);
      return `- ${phase.title}, ${LABEL[configuration]}: ${acc.requests['POST deployments'] ?? 0} POST deployments for ${acc.latencies.length} creates; besides: ${other.join(', ') || 'nothing'}`;
    });
  const plans = results
    .filter((r) => r.configuration === 'mcp-admission')
    .map(({ phase, acc }) => `- ${phase.title}: ${acc.sums.plans.count} status plans in serve's windows, ${fixed(acc.sums.plans.ms, 1)} ms of CPU, ${fixed(acc.sums.plans.ms / acc.latencies.length, 3)} ms per operation`);
  return { latency, floor, webhooks, blocks, ratios, breakdown, cpu: `${cpu}\n\nserve's MCPTransportPolicy status plans (mcp_admission_policy_status_plan_cpu_seconds):\n${plans.join('\n')}`, verdict: verdicts.join('\n'), runtime: `${runtime}\n\nRequests the API server counted in the windows at C=1 (apiserver_request_total), beside the creates:\n${requests.join('\n')}` };
}

/** The run's raw figures, for pooling with other runs. */
function samplesOf(run: ApiserverRun, started: Date, machine: string): ApiserverSamples {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['describe', '--always', '--dirty'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    // Not a git checkout: the samples stand without it.
  }
  const phases: ApiserverSamples['phases'] = [];
  for (const { phase, configuration, acc } of run.results) {
    let entry = phases.find((p) => p.key === phase.key);
    if (!entry) phases.push((entry = { key: phase.key, title: phase.title, paced: phase.paceMs > 0, configurations: {} }));
    entry.configurations[configuration] = {
      latencies: acc.latencies,
      seconds: acc.seconds,
      cpuSeconds: { serve: acc.cpu.serve, floor: acc.cpu.floor, blocksFloor: acc.cpu.blocksFloor },
      rssSteadyMb: { serve: median(acc.rss.serve), floor: median(acc.rss.floor), blocksFloor: median(acc.rss.blocksFloor) },
    };
  }
  return { format: 1, started: started.toISOString(), commit, machine, phases };
}

// ---------------------------------------------------------------------------
// Scaling

function scalingTables(rows: ScalingRow[]): { size: string; policies: string } {
  const cells = (r: ScalingRow) => [r.path, fixed(r.bodyKb, 1), fixed(r.p50, 2), fixed(r.p99, 2), fixed(r.meanMs, 2), fixed(r.decisionMs, 3), fixed(r.serverCpuMsPerRequest, 3)];
  const common = ['path', 'body KB', 'p50 ms', 'p99 ms', 'mean ms', 'serve decision ms', 'serve CPU ms/req'];
  const first = rows[0]?.policies;
  const size = markdownTable(['containers', ...common], rows.filter((r) => r.policies === first).map((r) => [String(r.containers), ...cells(r)]));
  const firstContainers = rows[0]?.containers;
  const policies = markdownTable(
    ['policies', ...common, 'serve RSS MB'],
    rows.filter((r) => r.containers === firstContainers).map((r) => [String(r.policies), ...cells(r), fixed(r.rssMb, 0)]),
  );
  return { size, policies };
}

// ---------------------------------------------------------------------------

function cpuModel(): string {
  return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
}

async function main(): Promise<void> {
  const started = new Date();
  const stamp = started.toISOString().slice(0, 16).replace(':', '-');
  let samplesFile: string | undefined;
  const startedMs = performance.now();
  const out = (s: string) => process.stdout.write(s);
  const machine = `${availableParallelism()} CPUs (${cpuModel()}), Node ${process.version}, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
  out(`mcp-admission through the API server, and scaling\n${machine}\n`);
  const sections: string[] = [`# mcp-admission through the API server, and scaling, ${started.toISOString()}`, '', `Machine: ${machine}.`];

  if (!flags['skip-apiserver']) {
    out(`\nthrough the API server: ${creates} back-to-back creates per configuration at C=${concurrencies.join(', ')}; ${flags.paced} paced creates (one every ${flags.pace} s); ${flags.updates} updates; ${flags['policy-n']} creates with ${clusterPolicyCount} cluster policies; ${rounds} mirrored rounds${flags.profile ? `; serve profiled into ${flags.profile}` : ''}\n`);
    const run = await throughApiserver(out);
    const { version, switchMs, warmUp, idle, peaks, policiesLoaded } = run;
    const idleLine = `Idle, 3 s with no requests after the warm-up: kube-apiserver ${fixed(idle.apiserver, 1)}%, etcd ${fixed(idle.etcd, 1)}%, serve ${fixed(idle.serve, 1)}%, floor ${fixed(idle.floor, 1)}%, blocks floor ${fixed(idle.blocksFloor, 1)}% of one core.`;
    const peaksOf = (p: ApiserverRun['peaks']['end']) => `serve ${fixed(p.serve, 0)} MB, floor ${fixed(p.floor, 0)} MB, blocks floor ${fixed(p.blocksFloor, 0)} MB`;
    const peakLine = `Peak RSS (VmHWM, start-up included): ${peaksOf(peaks.beforePolicies)} before the cluster policies; ${peaksOf(peaks.end)} at the end.${policiesLoaded ? ` serve read ${policiesLoaded.count} MCPTransportPolicies in ${fixed(policiesLoaded.seconds, 1)} s (created and held) and had written their status after ${fixed(policiesLoaded.statusSeconds, 1)} s, RSS then ${fixed(policiesLoaded.serveRssMb, 0)} MB.` : ''}`;
    const warm = warmUp.halves
      .map((h, i) => `${i === 0 ? 'first' : 'second'} ${h.creates}: p50 ${fixed(h.p50, 2)} ms, p99 ${fixed(h.p99, 2)} ms, serve CPU ${fixed(h.serveCpuMs, 2)} ms/create`)
      .join('; ');
    const settingsLine = `serve: compiled JavaScript (tsconfig.build.json), default (info) logging to a file, policies from the cluster informer (--kubeconfig), Node flags from the manifests: ${run.nodeSettings}${flags.profile ? `; profiled (--cpu-prof, --heap-prof into ${flags.profile}): figures carry the profiler's cost` : ''}. Floor: bare node:https, serve's certificate, TLS and connection settings, answering serve's ${run.servePatch.length}-operation patch (${run.servePatch.map((op) => (op as { op: string; path: string }).op + ' ' + (op as { path: string }).path).join(', ')}) on /mutate and an allow on /validate, with Node's defaults. Blocks floor: the same answers from an express app (x-powered-by and ETag off, express.raw under serve's 7 MiB limit) with serve's envelope check (JSON.parse and zod), an info log line per review with serve's fields written asynchronously by serve's logger, serve's request histogram observed with its five labels, and serve's Node flags; no informer. Blocks floor in: ${flags['blocks-floor']}.`;
    const t = apiserverTables(run);
    mkdirSync(RESULTS, { recursive: true });
    samplesFile = `${RESULTS}apiserver-${stamp}.json`;
    writeFileSync(samplesFile, JSON.stringify(samplesOf(run, started, machine)));
    out(`\n${t.latency}\n\nserve against the floor (ms; added = over none; ratios with their 95% bootstrap interval over this run's samples):\n${t.floor}\n\nwebhook processes (CPU per operation in their own windows; RSS sampled every ${RSS_SAMPLE_MS} ms in them):\n${t.webhooks}\n${peakLine}\n\nthe floor on the building blocks beside the floor and serve (added = over none; CPU paced net of idle):\n${t.blocks}\n\n${t.ratios}\n\n${t.verdict}\n\nwhere the time goes (means from the API server's and serve's metrics):\n${t.breakdown}\n\nCPU per operation:\n${t.cpu}\n${idleLine}\n\nserve's time per create at C=1, outside its decision and in its runtime (its own metrics, read around each window):\n${t.runtime}\n`);
    if (perfRun) {
      const perfReport = await perfRun.report();
      out(`\n${perfReport}\n`);
      sections.push('', perfReport);
    }
    out(`kube-apiserver ${version}; ${settingsLine}\nadmission switches took ${switchMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s\nwebhook warm-up before measuring (C=${warmUp.concurrency}, mcp-admission): ${warm}\n`);
    sections.push(
      '',
      '## Through the real API server',
      '',
      `kube-apiserver ${version} and etcd from the end-to-end harness (etcd with --unsafe-no-fsync), one control plane for all configurations. The ~3 KB SSE Deployment, over HTTP/1.1 keep-alive with the admin client certificate: ${creates} back-to-back creates per configuration at C=${concurrencies.join(', ')}, ${flags.paced} creates one every ${flags.pace} s, ${flags.updates} updates (PUT of the manifest with one annotation changed), and ${flags['policy-n']} creates with ${clusterPolicyCount} MCPTransportPolicies in the cluster; ${rounds} mirrored rounds per phase, each after a few unmeasured operations. ${settingsLine} Load average is the 1-minute figure of the whole machine.`,
      '',
      t.latency,
      '',
      'serve against the floor (ms; added = over none; target: serve added ≤ 1.15 × floor added). Each ratio with its 95% bootstrap interval over this run\'s samples: ok when the whole interval is under the target, MISS when all of it is over, undecided when it holds the target. One run\'s interval leaves out the spread between runs; `npm run bench:apiserver:pool` pools several runs\' samples (written beside this file as JSON) and carries it:',
      '',
      t.floor,
      '',
      `Webhook processes, each in its own configuration's windows: CPU per operation (time on CPU of all its threads, from /proc/PID/task/*/schedstat; "net of idle" subtracts what the process burns with no requests over the same time) and RSS (VmRSS sampled every ${RSS_SAMPLE_MS} ms; steady = median):`,
      '',
      t.webhooks,
      '',
      peakLine,
      '',
      "The floor on the building blocks (ii b) beside the floor and serve, in the phases that measured it: added latency over none at p50 and p90, the webhook process's CPU per operation (paced: net of idle) and its RSS, and the ratios between the three. It does the floor's work on express, zod, pino and prom-client as serve uses them (serve's envelope check, logger and request histogram), with serve's Node flags, and holds no informer: serve's policy and front-door watches are costs it does not pay.",
      '',
      t.blocks,
      '',
      t.ratios,
      '',
      t.verdict,
      '',
      'Where the time goes (means, ms, over the measured operations; from `apiserver_request_duration_seconds`, `apiserver_admission_step_admission_duration_seconds`, `apiserver_admission_webhook_admission_duration_seconds`, `apiserver_admission_controller_admission_duration_seconds` and serve\'s `mcp_admission_request_duration_seconds`):',
      '',
      t.breakdown,
      '',
      'CPU per operation (time on CPU of all threads, /proc/PID/task/*/schedstat, over the measured windows):',
      '',
      t.cpu,
      '',
      idleLine,
      '',
      "serve's time per create at C=1: both webhook calls as the API server times them (`apiserver_admission_webhook_admission_duration_seconds`), serve's decision in them (`mcp_admission_request_duration_seconds`, two per create) and the rest (TLS, HTTP, the event loop, waiting included); and serve's runtime in its windows from its own default metrics: GC pauses by kind (`nodejs_gc_duration_seconds`), event-loop delay (`nodejs_eventloop_lag_*`, reset at each scrape, so each window's own; in serve's windows and, for comparison, in none's, when serve only watches) and V8's old space after each window:",
      '',
      t.runtime,
      '',
      `Before measuring, each webhook was warmed with ${flags['warm-webhook']} creates at C=${warmUp.concurrency}; serve's: ${warm}. Admission switches took ${switchMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s.`,
    );
  }

  if (!flags['skip-scaling']) {
    out(`\nscaling: ${flags.requests} sequential requests per cell and path after ${flags['scaling-warmup']} unmeasured\n`);
    const dir = mkdtempSync(join(tmpdir(), 'mcp-admission-bench-scaling-'));
    try {
      const rows = await runScaling(
        { dir, containerCounts: list(flags.containers), policyCounts: list(flags.policies), requests: Number(flags.requests), warmup: Number(flags['scaling-warmup']) },
        out,
      );
      const t = scalingTables(rows);
      out(`\nagainst object size (${rows[0]?.policies} policy):\n${t.size}\n\nagainst number of policies (${rows[0]?.containers} container):\n${t.policies}\n`);
      sections.push(
        '',
        '## Scaling',
        '',
        `Straight to \`serve\` (from source, \`--policy FILE\`, \`--log-level warn\`), one sequential HTTPS keep-alive client, ${flags.requests} requests per cell and path after ${flags['scaling-warmup']} unmeasured. /validate gets the object as /mutate's patch leaves it. "serve decision" is serve's own histogram (decode + policy, no TLS or HTTP).`,
        '',
        `Against object size (${rows[0]?.policies} policy):`,
        '',
        t.size,
        '',
        `Against number of policies (${rows[0]?.containers} container):`,
        '',
        t.policies,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const took = `${fixed((performance.now() - startedMs) / 60_000, 1)} min`;
  sections.push('', `Load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}. The run took ${took}.`, '');
  mkdirSync(RESULTS, { recursive: true });
  const file = `${RESULTS}apiserver-${stamp}.md`;
  writeFileSync(file, sections.join('\n'));
  const relative = (f: string) => f.replace(new URL('..', import.meta.url).pathname, '');
  out(`\nthe run took ${took}\nwritten to ${relative(file)}${samplesFile ? `, its samples to ${relative(samplesFile)}` : ''}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:apiserver: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

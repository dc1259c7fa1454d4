/**
 * Admission benchmark through the real API server, and scaling (`npm run
 * bench:apiserver`, not a test; issue 7). Prints tables and writes them as
 * Markdown to `bench/results/apiserver-<date>.md`.
 *
 * **Through the real API server.** On one control plane of the end-to-end
 * harness (etcd + kube-apiserver, `startE2E()` with mcp-admission serving and
 * reading policies from the cluster, as in production), N MCP Deployments
 * (the ~3 KB SSE Deployment of `reviews.ts`) are created with POST
 * /apis/apps/v1/namespaces/NS/deployments at concurrency C under three
 * admission configurations (`admission-configs.ts`): (i) none, (ii)
 * mcp-admission's mutating + validating webhooks, (iii) the equivalent
 * MutatingAdmissionPolicy + ValidatingAdmissionPolicy in CEL. Each
 * configuration gets a fresh namespace per concurrency. The N creates are
 * split into rounds run in mirrored order (none, mcp-admission, cel, then
 * cel, mcp-admission, none, ...), so a drift in the machine's load over the
 * run weighs on every configuration alike; each round starts with a few
 * unmeasured creates. Every created object (the API server's answer) is
 * checked for what its configuration should have done, and one is read back.
 * Besides the client's latency, the API server's and the webhook's own
 * metrics and the processes' CPU say where the time goes.
 *
 * **Scaling** (`scaling.ts`): /mutate and /validate straight to `serve`,
 * against object size and number of policies.
 *
 * Flags: `--n 400` (creates per configuration and concurrency),
 * `--concurrency 16,1`, `--rounds 2`, `--warmup W` (unmeasured creates per
 * round, default 2 × C), `--warm-webhook 300` (creates through mcp-admission
 * before anything is measured, reported in two halves: cold against warm), `--requests 300` and `--scaling-warmup 50` (per
 * scaling cell and path), `--containers 1,10,50`, `--policies 1,10,100,1000`,
 * `--skip-apiserver`, `--skip-scaling`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startE2E, type E2E } from '../test/support/harness.ts';
import { CONFIGURATIONS, admissionSwitch, checkStored, type AdmissionConfiguration } from './lib/admission-configs.ts';
import { apiClient, histogramMean, mustAnswer, parseMetrics, plainMetrics, type ApiClient, type Sample } from './lib/kube-api.ts';
import { processCpuSeconds } from './lib/load.ts';
import { runScaling, type ScalingRow } from './lib/scaling.ts';
import { fixed, markdownTable, mean, percentile, sorted } from './lib/stats.ts';
import { mcpDeploymentObject } from './lib/workloads.ts';

const RESULTS = new URL('results/', import.meta.url).pathname;
const TARGET_VS_NONE = 1.1;
const TARGET_VS_CEL = 1.05;
const TARGET_CONCURRENCY = 16;
const CLOCK_TICKS = 100; // USER_HZ

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '16,1' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string' },
    requests: { type: 'string', default: '300' },
    'scaling-warmup': { type: 'string', default: '50' },
    containers: { type: 'string', default: '1,10,50' },
    policies: { type: 'string', default: '1,10,100,1000' },
    'warm-webhook': { type: 'string', default: '300' },
    'skip-apiserver': { type: 'boolean', default: false },
    'skip-scaling': { type: 'boolean', default: false },
  },
});
const list = (s: string) => s.split(',').map(Number);
const creates = Number(flags.n);
const concurrencies = list(flags.concurrency);
const rounds = Number(flags.rounds);

const LABEL: Record<AdmissionConfiguration, string> = { none: '(i) none', 'mcp-admission': '(ii) mcp-admission', cel: '(iii) CEL policies' };

// ---------------------------------------------------------------------------
// Through the real API server

/** Means (ms) from the API server's and serve's metrics, as Δsum/Δcount over the measured windows. */
const BREAKDOWN = {
  apiserver: { metric: 'apiserver_request_duration_seconds', where: (l: Record<string, string>) => l.verb === 'POST' && l.resource === 'deployments' },
  mutating: { metric: 'apiserver_admission_step_admission_duration_seconds', where: (l: Record<string, string>) => l.type === 'admit' && l.operation === 'CREATE' },
  validating: { metric: 'apiserver_admission_step_admission_duration_seconds', where: (l: Record<string, string>) => l.type === 'validate' && l.operation === 'CREATE' },
  webhookMutate: { metric: 'apiserver_admission_webhook_admission_duration_seconds', where: (l: Record<string, string>) => l.name === 'mutate.mcp-admission.dev' },
  webhookValidate: { metric: 'apiserver_admission_webhook_admission_duration_seconds', where: (l: Record<string, string>) => l.name === 'validate.mcp-admission.dev' },
  mutatingPolicy: { metric: 'apiserver_admission_controller_admission_duration_seconds', where: (l: Record<string, string>) => l.name === 'MutatingAdmissionPolicy' && l.operation === 'CREATE' },
  validatingPolicy: { metric: 'apiserver_admission_controller_admission_duration_seconds', where: (l: Record<string, string>) => l.name === 'ValidatingAdmissionPolicy' && l.operation === 'CREATE' },
} as const;
type Part = keyof typeof BREAKDOWN;

interface Accumulated {
  latencies: number[];
  errors: number;
  firstError?: string;
  seconds: number;
  /** API server answers of measured creates, checked after the run. */
  answers: string[];
  names: string[];
  /** Σ of Δsum (ms) and Δcount per breakdown part, and for serve's own decision time. */
  sums: Record<Part | 'serve', { ms: number; count: number }>;
  cpu: { apiserver: number; etcd: number; serve: number; client: number };
  loads: number[];
}

function emptyAccumulated(): Accumulated {
  const sums = Object.fromEntries([...Object.keys(BREAKDOWN), 'serve'].map((k) => [k, { ms: 0, count: 0 }])) as Accumulated['sums'];
  return { latencies: [], errors: 0, seconds: 0, answers: [], names: [], sums, cpu: { apiserver: 0, etcd: 0, serve: 0, client: 0 }, loads: [] };
}

interface Snapshot {
  apiserver: Sample[];
  serve: Sample[];
  cpu: Accumulated['cpu'];
}

function cpuNow(env: E2E): Accumulated['cpu'] {
  const client = process.cpuUsage();
  return {
    apiserver: processCpuSeconds(env.controlPlane.apiserver.pid, CLOCK_TICKS),
    etcd: processCpuSeconds(env.controlPlane.etcd.pid, CLOCK_TICKS),
    serve: processCpuSeconds(env.webhook!.process()!.pid, CLOCK_TICKS),
    client: (client.user + client.system) / 1e6,
  };
}

async function metricsNow(env: E2E, api: ApiClient): Promise<Pick<Snapshot, 'apiserver' | 'serve'>> {
  const [apiserver, serve] = await Promise.all([api.send('GET', '/metrics').then((a) => a.body), plainMetrics(env.webhook!.metricsPort)]);
  return { apiserver: parseMetrics(apiserver), serve: parseMetrics(serve) };
}

/**
 * Runs `window` between two snapshots. CPU is read at the window's very
 * edges, the metrics outside them: fetching and parsing the API server's
 * /metrics costs both sides more CPU than dozens of creates.
 */
async function measured<T>(env: E2E, api: ApiClient, window: () => Promise<T>): Promise<{ result: T; before: Snapshot; after: Snapshot }> {
  const metricsBefore = await metricsNow(env, api);
  const cpuBefore = cpuNow(env);
  const result = await window();
  const cpuAfter = cpuNow(env);
  const metricsAfter = await metricsNow(env, api);
  return { result, before: { ...metricsBefore, cpu: cpuBefore }, after: { ...metricsAfter, cpu: cpuAfter } };
}

function accumulate(into: Accumulated, before: Snapshot, after: Snapshot): void {
  for (const [part, { metric, where }] of Object.entries(BREAKDOWN) as [Part, (typeof BREAKDOWN)[Part]][]) {
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
  for (const key of Object.keys(into.cpu) as (keyof Accumulated['cpu'])[]) into.cpu[key] += after.cpu[key] - before.cpu[key];
}

/** POSTs `bodies` to `namespace` over `concurrency` loops; latencies of 201s, errors for anything else. */
async function createAll(api: ApiClient, namespace: string, bodies: Buffer[], concurrency: number) {
  const path = `/apis/apps/v1/namespaces/${namespace}/deployments`;
  const latencies: number[] = [];
  const answers: string[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        try {
          const answer = await api.send('POST', path, bodies[i]!);
          if (answer.status === 201) {
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
      }
    }),
  );
  return { latencies, answers, errors, firstError, seconds: (performance.now() - started) / 1000 };
}

/** The webhook's first creates, in two halves: how a cold `serve` (V8 not yet optimized) compares with a warm one. */
interface WarmUp {
  concurrency: number;
  halves: { creates: number; p50: number; p99: number; serveCpuMs: number }[];
}

interface ApiserverResult {
  concurrency: number;
  configuration: AdmissionConfiguration;
  acc: Accumulated;
  /** Objects whose stored form was not what the configuration should give, and the first such. */
  wrong: number;
  firstWrong?: string;
  readBack: string;
}

interface ApiserverRun {
  results: ApiserverResult[];
  version: string;
  switchMs: number[];
  warmUp: WarmUp;
  /** CPU % of one core per process over a few seconds with no requests, after the warm-up. */
  idle: Accumulated['cpu'];
}

async function throughApiserver(progress: (s: string) => void): Promise<ApiserverRun> {
  const env = await startE2E();
  const api = apiClient(env.controlPlane.url, env.controlPlane.pki, Math.max(...concurrencies, 2));
  try {
    const version = (await mustAnswer<{ gitVersion: string }>(api.send('GET', '/version'), 'GET /version')).gitVersion;
    const namespace = (concurrency: number, configuration: AdmissionConfiguration) => `bench-c${concurrency}-${configuration}`;
    const namespaces = ['bench-probe', 'bench-warm', ...concurrencies.flatMap((c) => CONFIGURATIONS.map((k) => namespace(c, k)))];
    for (const name of namespaces) {
      await mustAnswer(api.send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }), `create namespace ${name}`);
    }
    const admission = admissionSwitch(env, api, 'bench-probe');
    const results: ApiserverResult[] = [];
    const switchMs: number[] = [];
    let current: AdmissionConfiguration = 'mcp-admission'; // as startE2E() leaves it

    // A webhook that has served a few hundred reviews runs optimized code; a
    // fresh one does not. Warm it first, so each round's few warm-up creates
    // suffice, and report the difference.
    const warmUp: WarmUp = { concurrency: Math.max(...concurrencies), halves: [] };
    const warmCount = Number(flags['warm-webhook']);
    for (let half = 0; half < 2 && warmCount > 0; half++) {
      const count = Math.floor(warmCount / 2);
      const bodies = Array.from({ length: count }, (_, i) => Buffer.from(JSON.stringify(mcpDeploymentObject(`warm-${half}-${i}`, 'bench-warm'))));
      const { result, before, after } = await measured(env, api, () => createAll(api, 'bench-warm', bodies, warmUp.concurrency));
      if (result.errors) throw new Error(`webhook warm-up: ${result.firstError}`);
      const ordered = sorted(result.latencies);
      warmUp.halves.push({ creates: count, p50: percentile(ordered, 50), p99: percentile(ordered, 99), serveCpuMs: ((after.cpu.serve - before.cpu.serve) * 1000) / count });
      progress(`  webhook warm-up ${half + 1}/2: ${count} creates at C=${warmUp.concurrency} under mcp-admission: p50 ${fixed(percentile(ordered, 50), 2)} ms, serve CPU ${fixed(warmUp.halves[half]!.serveCpuMs, 2)} ms/create\n`);
    }
    // What the processes burn with no requests at all (informers, leases, GC), to read CPU per create against.
    const idleSeconds = 3;
    const { before: idleBefore, after: idleAfter } = await measured(env, api, () => new Promise((r) => setTimeout(r, idleSeconds * 1000)));
    const idle = Object.fromEntries(
      Object.keys(idleAfter.cpu).map((k) => [k, ((idleAfter.cpu[k as keyof Accumulated['cpu']] - idleBefore.cpu[k as keyof Accumulated['cpu']]) / idleSeconds) * 100]),
    ) as Accumulated['cpu'];

    for (const concurrency of concurrencies) {
      const accs = new Map(CONFIGURATIONS.map((k) => [k, emptyAccumulated()]));
      const warmup = flags.warmup !== undefined ? Number(flags.warmup) : 2 * concurrency;
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? [...CONFIGURATIONS] : [...CONFIGURATIONS].reverse();
        const count = Math.floor(creates / rounds) + (round < creates % rounds ? 1 : 0);
        for (const configuration of order) {
          if (configuration !== current) {
            switchMs.push(await admission.use(configuration));
            current = configuration;
          }
          const ns = namespace(concurrency, configuration);
          const acc = accs.get(configuration)!;
          const names = Array.from({ length: count }, (_, i) => `mcp-r${round}-${String(i).padStart(4, '0')}`);
          const warm = Array.from({ length: warmup }, (_, i) => Buffer.from(JSON.stringify(mcpDeploymentObject(`warm-r${round}-${i}`, ns))));
          const bodies = names.map((name) => Buffer.from(JSON.stringify(mcpDeploymentObject(name, ns))));
          const warmed = await createAll(api, ns, warm, concurrency);
          if (warmed.errors) throw new Error(`${LABEL[configuration]}: warm-up create failed: ${warmed.firstError}`);
          progress(`  C=${concurrency} round ${round + 1}/${rounds} ${LABEL[configuration]}: ${count} creates (load ${loadavg()[0]!.toFixed(2)}) ...`);
          const { result: run, before, after } = await measured(env, api, () => createAll(api, ns, bodies, concurrency));
          accumulate(acc, before, after);
          acc.latencies.push(...run.latencies);
          acc.answers.push(...run.answers);
          acc.names.push(...names);
          acc.errors += run.errors;
          acc.firstError ??= run.firstError;
          acc.seconds += run.seconds;
          acc.loads.push(loadavg()[0]!);
          const ordered = sorted(run.latencies);
          progress(` p50 ${fixed(percentile(ordered, 50), 2)} ms, p99 ${fixed(percentile(ordered, 99), 2)} ms${run.errors ? `, ${run.errors} errors (${run.firstError})` : ''}\n`);
        }
      }
      for (const configuration of CONFIGURATIONS) {
        const acc = accs.get(configuration)!;
        let wrong = 0;
        let firstWrong: string | undefined;
        for (const answer of acc.answers) {
          const problem = checkStored(configuration, JSON.parse(answer));
          if (problem) {
            wrong++;
            firstWrong ??= problem;
          }
        }
        const ns = namespace(concurrency, configuration);
        const last = acc.names[acc.names.length - 1]!;
        const stored = await mustAnswer(api.send('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${last}`), `read back ${ns}/${last}`);
        const readBack = checkStored(configuration, stored) ?? 'ok';
        results.push({ concurrency, configuration, acc, wrong, ...(firstWrong !== undefined && { firstWrong }), readBack });
      }
    }
    return { results, version, switchMs, warmUp, idle };
  } finally {
    api.close();
    // ManagedProcess.stop() waits for an unref'd child: once its SIGKILL
    // timer has fired, nothing keeps Node's event loop alive until the exit
    // event, and outside node:test the process ends mid-teardown. Hold it open.
    const keepAlive = setInterval(() => undefined, 1000);
    await env.stop().finally(() => clearInterval(keepAlive));
    const exit = env.webhook?.process()?.exitStatus();
    progress(`serve, stopped by the harness (SIGTERM, SIGKILL after 5 s): ${exit ? (exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`) : 'unknown'}\n`);
  }
}

function apiserverTables(results: ApiserverResult[]): { latency: string; ratios: string; breakdown: string; cpu: string; verdict: string } {
  const latencyRows = results.map(({ concurrency, configuration, acc, wrong, readBack }) => {
    const s = sorted(acc.latencies);
    return [
      String(concurrency),
      LABEL[configuration],
      String(s.length),
      fixed(percentile(s, 50), 2),
      fixed(percentile(s, 90), 2),
      fixed(percentile(s, 99), 2),
      fixed(s[s.length - 1] ?? NaN, 2),
      fixed(mean(s), 2),
      fixed(s.length / acc.seconds, 0),
      String(acc.errors),
      wrong === 0 && readBack === 'ok' ? `all ${acc.answers.length} ok` : `${wrong} wrong; read-back ${readBack}`,
      acc.loads.map((l) => l.toFixed(1)).join(', '),
    ];
  });
  const latency = markdownTable(['C', 'configuration', 'creates', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'mean ms', 'creates/s', 'errors', 'stored objects checked', 'load avg after each round'], latencyRows);

  const stat = (c: number, k: AdmissionConfiguration, p: number | 'mean') => {
    const acc = results.find((r) => r.concurrency === c && r.configuration === k)!.acc;
    const s = sorted(acc.latencies);
    return p === 'mean' ? mean(s) : percentile(s, p);
  };
  const verdicts: string[] = [];
  const ratioRows = concurrencies.map((c) => {
    const vsNone = stat(c, 'mcp-admission', 99) / stat(c, 'none', 99);
    const vsCel = stat(c, 'mcp-admission', 99) / stat(c, 'cel', 99);
    const targeted = c === TARGET_CONCURRENCY;
    const mark = (ratio: number, target: number) => `${fixed(ratio, 2)}${targeted ? (ratio <= target ? ' (ok)' : ' (MISS)') : ''}`;
    if (targeted) {
      verdicts.push(`- p99 (ii)/(i) at C=${c}: ${fixed(vsNone, 2)} (target ≤ ${TARGET_VS_NONE}): ${vsNone <= TARGET_VS_NONE ? 'met' : 'MISSED'}`);
      verdicts.push(`- p99 (ii)/(iii) at C=${c}: ${fixed(vsCel, 2)} (target ≤ ${TARGET_VS_CEL}): ${vsCel <= TARGET_VS_CEL ? 'met' : 'MISSED'}`);
    }
    return [
      String(c),
      fixed(stat(c, 'mcp-admission', 50) / stat(c, 'none', 50), 2),
      mark(vsNone, TARGET_VS_NONE),
      fixed(stat(c, 'mcp-admission', 50) / stat(c, 'cel', 50), 2),
      mark(vsCel, TARGET_VS_CEL),
      fixed(stat(c, 'mcp-admission', 50) - stat(c, 'none', 50), 2),
      fixed(stat(c, 'mcp-admission', 'mean') - stat(c, 'none', 'mean'), 2),
      fixed(stat(c, 'cel', 'mean') - stat(c, 'none', 'mean'), 2),
    ];
  });
  const ratios = markdownTable(
    ['C', 'p50 (ii)/(i)', `p99 (ii)/(i) (target ≤ ${TARGET_VS_NONE} at C=${TARGET_CONCURRENCY})`, 'p50 (ii)/(iii)', `p99 (ii)/(iii) (target ≤ ${TARGET_VS_CEL} at C=${TARGET_CONCURRENCY})`, 'p50 added by (ii), ms', 'mean added by (ii), ms', 'mean added by (iii), ms'],
    ratioRows,
  );

  const m = (acc: Accumulated, part: Part | 'serve') => (acc.sums[part].count ? acc.sums[part].ms / acc.sums[part].count : NaN);
  const perCreate = (acc: Accumulated, part: Part | 'serve') => acc.sums[part].count / acc.latencies.length;
  const breakdownRows = results.map(({ concurrency, configuration, acc }) => [
    String(concurrency),
    LABEL[configuration],
    fixed(mean(acc.latencies), 2),
    fixed(m(acc, 'apiserver'), 2),
    fixed(m(acc, 'mutating'), 2),
    fixed(m(acc, 'validating'), 2),
    configuration === 'mcp-admission' ? `${fixed(m(acc, 'webhookMutate'), 2)} × ${fixed(perCreate(acc, 'webhookMutate'), 2)}` : '',
    configuration === 'mcp-admission' ? `${fixed(m(acc, 'webhookValidate'), 2)} × ${fixed(perCreate(acc, 'webhookValidate'), 2)}` : '',
    configuration === 'mcp-admission' ? fixed(m(acc, 'serve'), 3) : '',
    fixed(m(acc, 'mutatingPolicy'), 3),
    fixed(m(acc, 'validatingPolicy'), 3),
  ]);
  const breakdown = markdownTable(
    ['C', 'configuration', 'client mean ms', 'API server POST mean ms', 'mutating admission ms', 'validating admission ms', 'webhook /mutate call ms × calls/create', 'webhook /validate call ms × calls/create', 'serve decision ms', 'MutatingAdmissionPolicy plugin ms', 'ValidatingAdmissionPolicy plugin ms'],
    breakdownRows,
  );

  const cpuRows = results.map(({ concurrency, configuration, acc }) => {
    const per = (s: number) => fixed((s * 1000) / acc.latencies.length, 2);
    const busy = acc.cpu.apiserver + acc.cpu.etcd + acc.cpu.serve + acc.cpu.client;
    return [String(concurrency), LABEL[configuration], per(acc.cpu.apiserver), per(acc.cpu.etcd), configuration === 'mcp-admission' ? per(acc.cpu.serve) : per(acc.cpu.serve) + ' (idle)', per(acc.cpu.client), per(busy), fixed((busy / acc.seconds) * 100, 0)];
  });
  const cpu = markdownTable(['C', 'configuration', 'kube-apiserver CPU ms/create', 'etcd', 'serve', 'client', 'total', 'total CPU % (of one core)'], cpuRows);
  for (const r of results) {
    if (r.wrong > 0 || r.readBack !== 'ok') verdicts.push(`- C=${r.concurrency} ${LABEL[r.configuration]}: ${r.wrong} stored objects not as expected (${r.firstWrong ?? r.readBack})`);
    if (r.acc.errors > 0) verdicts.push(`- C=${r.concurrency} ${LABEL[r.configuration]}: ${r.acc.errors} failed creates (${r.acc.firstError})`);
  }
  return { latency, ratios, breakdown, cpu, verdict: verdicts.join('\n') };
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
  const out = (s: string) => process.stdout.write(s);
  const machine = `${availableParallelism()} CPUs (${cpuModel()}), Node ${process.version}, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
  out(`mcp-admission through the API server, and scaling\n${machine}\n`);
  const sections: string[] = [`# mcp-admission through the API server, and scaling, ${started.toISOString()}`, '', `Machine: ${machine}.`];

  if (!flags['skip-apiserver']) {
    out(`\nthrough the API server: ${creates} creates per configuration and concurrency (${concurrencies.join(', ')}), in ${rounds} mirrored rounds\n`);
    const { results, version, switchMs, warmUp, idle } = await throughApiserver(out);
    const idleLine = `Idle, 3 s with no requests after the warm-up: kube-apiserver ${fixed(idle.apiserver, 1)}%, etcd ${fixed(idle.etcd, 1)}%, serve ${fixed(idle.serve, 1)}% of one core.`;
    const warm = warmUp.halves
      .map((h, i) => `${i === 0 ? 'first' : 'second'} ${h.creates}: p50 ${fixed(h.p50, 2)} ms, p99 ${fixed(h.p99, 2)} ms, serve CPU ${fixed(h.serveCpuMs, 2)} ms/create`)
      .join('; ');
    const t = apiserverTables(results);
    out(`\n${t.latency}\n\n${t.ratios}\n\n${t.verdict}\n\nwhere the time goes (means from the API server's and serve's metrics):\n${t.breakdown}\n\nCPU per create:\n${t.cpu}\n${idleLine}\n`);
    out(`kube-apiserver ${version}; admission switches took ${switchMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s\nwebhook warm-up before measuring (C=${warmUp.concurrency}, mcp-admission): ${warm}\n`);
    sections.push(
      '',
      '## Through the real API server',
      '',
      `kube-apiserver ${version} and etcd from the end-to-end harness (etcd with --unsafe-no-fsync), one control plane for all configurations. ${creates} creates of the ~3 KB SSE Deployment per configuration and concurrency, POST over HTTP/1.1 keep-alive with the admin client certificate, in ${rounds} mirrored rounds, each after ${flags.warmup ?? '2 × C'} unmeasured creates. mcp-admission: \`serve\` from source as the harness runs it, cluster policy source, default (info) logging. Load average is the 1-minute figure of the whole machine.`,
      '',
      t.latency,
      '',
      t.ratios,
      '',
      t.verdict,
      '',
      'Where the time goes (means, ms, over the measured creates; from `apiserver_request_duration_seconds`, `apiserver_admission_step_admission_duration_seconds`, `apiserver_admission_webhook_admission_duration_seconds`, `apiserver_admission_controller_admission_duration_seconds` and serve\'s `mcp_admission_request_duration_seconds`):',
      '',
      t.breakdown,
      '',
      'CPU per create (utime+stime from /proc over the measured windows):',
      '',
      t.cpu,
      '',
      idleLine,
      '',
      `Before measuring, the webhook was warmed with ${flags['warm-webhook']} creates at C=${warmUp.concurrency} under mcp-admission: ${warm}. Admission switches took ${switchMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s.`,
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

  sections.push('', `Load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}.`, '');
  mkdirSync(RESULTS, { recursive: true });
  const file = `${RESULTS}apiserver-${started.toISOString().slice(0, 16).replace(':', '-')}.md`;
  writeFileSync(file, sections.join('\n'));
  out(`\nwritten to ${file.replace(new URL('..', import.meta.url).pathname, '')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:apiserver: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

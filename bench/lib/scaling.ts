/**
 * Scaling part of `npm run bench:apiserver` (issue 7): latency of `/mutate`
 * and `/validate` against the size of the object (a Deployment with 1, 10,
 * 50 containers) and against the number of MCPTransportPolicy objects in
 * force (1, 10, 100, 1,000, from `--policy FILE`), sent straight to
 * `mcp-admission serve`.
 *
 * One sequential keep-alive client (no queueing: latency is service time),
 * `serve` started by the end-to-end harness (`createWebhookServer`: the
 * certificate of certs/generate.sh, from source) with `--log-level warn` so
 * the per-request log line, a constant, does not blur what scales. Bodies
 * are what the API server sends: the Deployment review to /mutate, and the
 * object as patched by that answer to /validate.
 *
 * Besides the client's latency, each cell reports the server's own decision
 * time (decode + policy, from its `mcp_admission_request_duration_seconds`
 * histogram, without TLS and HTTP) and its CPU per request from /proc.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { parse } from 'yaml';
import { POLICY_GROUP, POLICY_KIND, POLICY_VERSION } from '../../src/contract.ts';
import { createWebhookServer, type WebhookServer } from '../../test/support/harness/webhook.ts';
import { REPO_ROOT } from '../../test/support/harness.ts';
import { histogramMean, parseMetrics, plainMetrics } from './kube-api.ts';
import { processCpuSeconds, statusMb } from './load.ts';
import { mean, percentile, sorted } from './stats.ts';
import { deploymentReviewWithContainers } from './workloads.ts';

type Json = Record<string, any>;

export interface ScalingOptions {
  /** Scratch directory (certificates, policy files, logs). */
  dir: string;
  containerCounts: number[];
  policyCounts: number[];
  /** Measured requests per cell and path. */
  requests: number;
  /** Unmeasured requests first, per cell and path. */
  warmup: number;
}

export interface ScalingRow {
  containers: number;
  policies: number;
  path: '/mutate' | '/validate';
  bodyKb: number;
  requests: number;
  p50: number;
  p99: number;
  meanMs: number;
  /** The server's own mean decision time (decode + policy), ms. */
  decisionMs: number;
  serverCpuMsPerRequest: number;
  /** VmRSS of serve after the cell, MB. */
  rssMb: number;
}

/**
 * `count` MCPTransportPolicy objects: examples/cluster-default-policy.yaml, then
 * namespace policies with a mix of selectors (matchLabels, In, NotIn,
 * Exists/DoesNotExist) of which about half match the benchmark's namespace
 * ("tools") and must be merged in order of specificity, and some listing
 * exempt namespaces (checked on every request). Matching ones restate the
 * defaults, so every cell makes the same decision and only the work grows.
 */
export function transportPolicies(count: number): Json[] {
  const clusterDefault = parse(readFileSync(join(REPO_ROOT, 'examples/cluster-default-policy.yaml'), 'utf8')) as Json;
  const policies = [clusterDefault];
  const name = 'kubernetes.io/metadata.name';
  for (let i = 1; i < count; i++) {
    const teams = Array.from({ length: 5 }, (_, j) => `team-${i}-${j}`);
    const selectors: Json[] = [
      { matchLabels: { [name]: `team-${i}` } }, // another namespace
      { matchExpressions: [{ key: name, operator: 'In', values: teams }] }, // other namespaces
      { matchExpressions: [{ key: name, operator: 'NotIn', values: teams }] }, // matches "tools"
      {
        matchExpressions: [
          { key: 'environment', operator: 'DoesNotExist' },
          { key: name, operator: 'Exists' },
          { key: name, operator: 'NotIn', values: [`legacy-${i}`] },
        ],
      }, // matches "tools", most specific
    ];
    policies.push({
      apiVersion: `${POLICY_GROUP}/${POLICY_VERSION}`,
      kind: POLICY_KIND,
      metadata: { name: `team-${String(i).padStart(4, '0')}` },
      spec: {
        mode: 'mutate',
        namespaceSelector: selectors[i % selectors.length],
        ...(i % 10 === 5 && { exemptNamespaces: [`legacy-${i}`, `sandbox-${i}`] }),
        defaults: { terminationGracePeriodSeconds: 120, maxSurge: '25%', sessionAffinityTimeoutSeconds: 10800 },
        bounds: { minTerminationGracePeriodSeconds: 30, maxTerminationGracePeriodSeconds: 3600 },
      },
    });
  }
  return policies;
}

interface Answer {
  ms: number;
  response: { uid: string; allowed: boolean; patch?: string; status?: { message?: string } };
}

function post(agent: Agent, port: number, path: string, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sent = performance.now();
    const req = request(
      { agent, host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const ms = performance.now() - sent;
          if (res.statusCode !== 200) return reject(new Error(`${path}: HTTP ${res.statusCode}`));
          resolve({ ms, ...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Pick<Answer, 'response'>) });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Bodies with distinct uids, so each answer can be checked against its request. */
function bodiesOf(review: Json, count: number): { bodies: Buffer[]; uids: string[] } {
  const uids = Array.from({ length: count }, () => randomUUID());
  return { uids, bodies: uids.map((uid) => Buffer.from(JSON.stringify({ ...review, request: { ...review.request, uid } }))) };
}

async function measureCell(server: WebhookServer, agent: Agent, containers: number, policies: number, options: ScalingOptions): Promise<ScalingRow[]> {
  const review = deploymentReviewWithContainers(containers);
  const pid = server.process()!.pid;
  const rows: ScalingRow[] = [];
  // /mutate first: its patch gives the object /validate judges, as in the API server.
  let validateReview: Json | undefined;
  for (const path of ['/mutate', '/validate'] as const) {
    const cellReview = path === '/mutate' ? review : validateReview!;
    const { bodies, uids } = bodiesOf(cellReview, options.warmup + options.requests);
    const latencies: number[] = [];
    let before = '';
    let cpuBefore = 0;
    for (let i = 0; i < bodies.length; i++) {
      if (i === options.warmup) {
        before = await plainMetrics(server.metricsPort);
        cpuBefore = processCpuSeconds(pid, 100);
      }
      const answer = await post(agent, server.port, path, bodies[i]!);
      if (answer.response.uid !== uids[i]) throw new Error(`${path}: answer for the wrong uid`);
      if (!answer.response.allowed) throw new Error(`${path} denied the benchmark's object: ${answer.response.status?.message}`);
      if (i >= options.warmup) latencies.push(answer.ms);
      if (path === '/mutate' && i === 0) {
        if (!answer.response.patch) throw new Error('/mutate returned no patch for an SSE Deployment');
        const patch = JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8')) as Operation[];
        const object = fastJsonPatch.applyPatch(structuredClone(review.request.object), patch).newDocument;
        validateReview = { ...review, request: { ...review.request, object } };
      }
    }
    const cpu = processCpuSeconds(pid, 100) - cpuBefore;
    const after = await plainMetrics(server.metricsPort);
    const webhook = path.slice(1);
    const decision = histogramMean(parseMetrics(before), parseMetrics(after), 'mcp_admission_request_duration_seconds', (l) => l.webhook === webhook);
    const ordered = sorted(latencies);
    rows.push({
      containers,
      policies,
      path,
      bodyKb: bodies[0]!.length / 1024,
      requests: latencies.length,
      p50: percentile(ordered, 50),
      p99: percentile(ordered, 99),
      meanMs: mean(ordered),
      decisionMs: decision.ms,
      serverCpuMsPerRequest: (cpu * 1000) / latencies.length,
      rssMb: statusMb(pid, 'VmRSS'),
    });
  }
  return rows;
}

/**
 * Runs the scaling cells: every container count with the first policy count,
 * then every other policy count with the first container count. One `serve`
 * process per policy count.
 */
export async function runScaling(options: ScalingOptions, progress: (line: string) => void = () => undefined): Promise<ScalingRow[]> {
  const rows: ScalingRow[] = [];
  for (const [p, policies] of options.policyCounts.entries()) {
    const dir = join(options.dir, `policies-${policies}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'policies.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: transportPolicies(policies) }));
    const server = await createWebhookServer({ dir, args: ['--policy', file, '--log-level', 'warn'] });
    await server.start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(server.certificates.caCert) });
    try {
      for (const containers of p === 0 ? options.containerCounts : options.containerCounts.slice(0, 1)) {
        progress(`  ${containers} container(s), ${policies} polic${policies === 1 ? 'y' : 'ies'} ...`);
        const cell = await measureCell(server, agent, containers, policies, options);
        rows.push(...cell);
        progress(` ${cell.map((r) => `${r.path} p50 ${r.p50.toFixed(2)} ms`).join(', ')}\n`);
      }
    } finally {
      agent.destroy();
      await server.stop();
    }
  }
  return rows;
}

/**
 * What an UPDATE makes `serve` do that a CREATE does not, in process
 * (`node --expose-gc --max-semi-space-size=64 bench/update-path.ts`, not a
 * test; issue 13). `bench:apiserver` times updates and creates through the
 * real API server; this says which of serve's stages an update changes.
 *
 * 1. **Real reviews.** On the end-to-end harness's control plane, a recording
 *    webhook (registered with deploy/overlays/local, answering serve's own
 *    patch so the stored objects are what serve would store) receives the
 *    reviews of 3 creates and 3 updates (PUT of the manifest with one
 *    annotation changed, as `bench:apiserver` sends them); a watch of
 *    labelled Deployments, as the front-door facts' informer opens it,
 *    records what each write sends serve's informer.
 * 2. **Stages**, per review (µs and KiB allocated per call, medians of
 *    batches no collection interrupted, as `bench:request-path`): the body's
 *    `JSON.parse`, `decodeAdmissionReview`, the decision, and on UPDATE
 *    /validate `onlyProberAnnotationsChanged`; per watch event, its parse and
 *    transform, and what the cache keeps of it.
 * 3. **Whole exchanges** over loopback HTTP: CPU of this process (client
 *    included) per operation, both calls, for serve's app and for a floor
 *    handler (`JSON.parse` of the body, a fixed answer), creates and updates
 *    in interleaved rounds. What an update adds to serve over what it adds
 *    to the floor is the update's own cost in serve's handler.
 *
 * Flags: `--calls 200` (per batch), `--batches 15`, `--ops 1500` (per
 * exchange round), `--rounds 4`.
 */
import { readFileSync } from 'node:fs';
import { Agent, createServer as createHttpServer, request } from 'node:http';
import { createServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { mutateRequest, validateRequest, type AdmissionDeps } from '../src/admission/admission.ts';
import { decodeAdmissionReview } from '../src/admission/admission-review.ts';
import { onlyProberAnnotationsChanged } from '../src/admission/prober-update.ts';
import { completeReview } from '../src/admission/response.ts';
import { createLogger } from '../src/cli/logger.ts';
import { MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../src/contract.ts';
import { deploymentFacts, withoutBookkeeping } from '../src/kubernetes/cluster-facts.ts';
import { createApp } from '../src/server/app.ts';
import { createMetrics } from '../src/server/metrics.ts';
import { staticSettings } from '../src/settings/static-source.ts';
import { startE2E } from '../test/support/harness.ts';
import { generateWebhookCertificates, installWebhookConfigurations } from '../test/support/harness/webhook.ts';
import { apiClient, mustAnswer } from './lib/kube-api.ts';
import { fixed, markdownTable } from './lib/stats.ts';
import { mcpDeploymentObject } from './lib/workloads.ts';

const { values: flags } = parseArgs({
  options: { calls: { type: 'string', default: '200' }, batches: { type: 'string', default: '15' }, ops: { type: 'string', default: '1500' }, rounds: { type: 'string', default: '4' } },
});
const CALLS = Number(flags.calls);
const BATCHES = Number(flags.batches);
if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc --max-semi-space-size=64');
const gc = globalThis.gc as () => void;
const JSON_TYPE = 'application/json';
const NAMESPACE = 'update-path';
/** The annotation an update changes, as bench:apiserver's updates do. */
const REVISION_ANNOTATION = 'bench.mcp-admission.dev/revision';
const admission: AdmissionDeps = { settings: staticSettings(), ownNamespace: 'mcp-admission' };

type Review = { request: { uid: string; operation: string; object: unknown; oldObject?: unknown } };

/** Serve's answer, so what the API server stores (and sends as oldObject later) is what serve would have it store. */
function answer(path: string, body: Buffer): string {
  const decoded = decodeAdmissionReview(body, JSON_TYPE);
  if (!decoded.ok) throw new Error(decoded.message);
  const outcome = (path.startsWith('/mutate') ? mutateRequest : validateRequest)(decoded.request, admission);
  return JSON.stringify(completeReview(decoded.apiVersion, decoded.request.uid, outcome.result));
}

async function capture(): Promise<{ reviews: Record<string, Buffer>; events: string[] }> {
  const env = await startE2E({ webhook: false });
  const reviews: Record<string, Buffer> = {};
  const events: string[] = [];
  try {
    const certificates = await generateWebhookCertificates(join(env.dir, 'recording-webhook'));
    const recorder = createServer({ cert: readFileSync(certificates.cert), key: readFileSync(certificates.key) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const review = JSON.parse(body.toString('utf8')) as Review & { request: { namespace?: string; kind: { kind: string } } };
        const path = (req.url ?? '/').split('?')[0]!;
        if (review.request.namespace === NAMESPACE && review.request.kind.kind === 'Deployment') reviews[`${review.request.operation} ${path}`] = body;
        res.writeHead(200, { 'content-type': JSON_TYPE }).end(answer(path, body));
      });
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    await installWebhookConfigurations(env.kubectl, (recorder.address() as AddressInfo).port, certificates.caBundle);
    const api = apiClient(env.controlPlane.url, env.controlPlane.pki, 4);
    await mustAnswer(api.send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }), 'create namespace');
    // The front-door facts' watch of labelled Deployments, with the admin's certificate.
    const pem = (text: string) => (text.includes('-----BEGIN') ? text : readFileSync(text));
    const { servingCA, admin } = env.controlPlane.pki;
    const selector = encodeURIComponent(`${MCP_COMPONENT_LABEL}=${MCP_COMPONENT_VALUE}`);
    const watch = httpsRequest(`${env.controlPlane.url}/apis/apps/v1/namespaces/${NAMESPACE}/deployments?watch=true&labelSelector=${selector}`, { ca: pem(servingCA.cert), cert: pem(admin.cert), key: pem(admin.key) }, (res) => {
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        pending += text;
        for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
          events.push(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
        }
      });
    });
    watch.end();
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (let i = 0; i < 3; i++) {
      const object = mcpDeploymentObject(`update-${i}`, NAMESPACE) as { metadata: { annotations: Record<string, string> } };
      await mustAnswer(api.send('POST', `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`, object), 'create');
      object.metadata.annotations[REVISION_ANNOTATION] = '2';
      await mustAnswer(api.send('PUT', `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/update-${i}`, object), 'update');
    }
    for (let i = 0; i < 100 && events.length < 6; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    watch.destroy();
    api.close();
    recorder.closeAllConnections();
    recorder.close();
  } finally {
    await env.stop();
  }
  for (const key of ['CREATE /mutate', 'CREATE /validate', 'UPDATE /mutate', 'UPDATE /validate']) if (!reviews[key]) throw new Error(`no ${key} review recorded`);
  return { reviews, events };
}

let collections = 0;
new PerformanceObserver((list) => {
  collections += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

/** Median µs and bytes per call over batches no collection interrupted; what `run` returns is kept until the batch ends. */
async function measure(run: (i: number) => unknown): Promise<{ micros: number; bytes: number }> {
  for (let i = 0; i < CALLS; i++) run(i);
  const micros: number[] = [];
  const bytes: number[] = [];
  const kept: unknown[] = new Array(CALLS);
  for (let attempt = 0; micros.length < BATCHES && attempt < BATCHES * 4; attempt++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const seen = collections;
    const before = process.memoryUsage().heapUsed;
    const start = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) kept[i] = run(i);
    const elapsed = Number(process.hrtime.bigint() - start) / 1e3;
    const grown = process.memoryUsage().heapUsed - before;
    kept.fill(undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (collections !== seen) continue;
    micros.push(elapsed / CALLS);
    bytes.push(grown / CALLS);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  return { micros: median(micros), bytes: median(bytes) };
}

process.stderr.write('recording reviews and watch events from a real API server ...\n');
const { reviews, events } = await capture();
const rows: string[][] = [];
const row = (what: string, stage: string, bytes: number | string, f: { micros: number; bytes: number }) => {
  rows.push([what, stage, String(bytes), fixed(f.micros, 2), fixed(f.bytes / 1024, 2)]);
  process.stderr.write(`  ${what}, ${stage}: ${fixed(f.micros, 2)} µs, ${fixed(f.bytes / 1024, 2)} KiB\n`);
};
for (const [key, body] of Object.entries(reviews)) {
  const decided = decodeAdmissionReview(body, JSON_TYPE);
  if (!decided.ok) throw new Error(decided.message);
  const decide = key.endsWith('/mutate') ? mutateRequest : validateRequest;
  row(key, 'JSON.parse of the body', body.length, await measure(() => JSON.parse(body.toString('utf8'))));
  row(key, 'decodeAdmissionReview', body.length, await measure(() => decodeAdmissionReview(body, JSON_TYPE)));
  row(key, 'decision (mutateRequest / validateRequest)', body.length, await measure(() => decide(decided.request, admission)));
  if (key === 'UPDATE /validate') {
    row(key, 'onlyProberAnnotationsChanged', body.length, await measure(() => onlyProberAnnotationsChanged(decided.request.object, decided.request.oldObject)));
  }
}
for (const type of ['ADDED', 'MODIFIED']) {
  const line = events.find((e) => e.includes(`"type":"${type}"`));
  if (!line) throw new Error(`no ${type} watch event recorded`);
  const buffer = Buffer.from(line);
  row(`watch event ${type}`, 'JSON.parse + deploymentFacts (what the Deployment cache keeps)', buffer.length, await measure(() => deploymentFacts((JSON.parse(buffer.toString('utf8')) as { object: object }).object)));
}
/** What a cache holds per object once the rest of the event is collected: KiB of heap per kept object, over 10,000. */
function retainedKiB(line: string, keep: (object: object) => unknown): number {
  const count = 10_000;
  const kept: unknown[] = new Array(count).fill(undefined);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) kept[i] = keep((JSON.parse(line) as { object: object }).object);
  gc();
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  kept.fill(undefined);
  return grown / count / 1024;
}
const modifiedLine = events.find((e) => e.includes('"type":"MODIFIED"'))!;
const perOperation = { CREATE: events.filter((e) => e.includes('"type":"ADDED"')).length, UPDATE: events.filter((e) => e.includes('"type":"MODIFIED"')).length };

// Whole exchanges: serve's app and a floor handler, each on its own loopback port.
const metrics = createMetrics({ defaultMetrics: false });
const logger = createLogger({ level: 'info', base: { service: 'mcp-admission' } }, new Writable({ write: (_chunk, _encoding, done) => done() }));
const serve = createApp({ admission, logger, metrics, ready: () => true }).listen(0, '127.0.0.1');
const floorPatch = JSON.parse(answer('/mutate', reviews['CREATE /mutate']!)).response.patch as string;
const floor = createHttpServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Review;
    const response = req.url === '/mutate' ? { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: floorPatch } : { uid: review.request.uid, allowed: true };
    const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
    res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) }).end(body);
  });
}).listen(0, '127.0.0.1');
await new Promise((resolve) => setTimeout(resolve, 100));
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const post = (port: number, path: string, body: Buffer) =>
  new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': JSON_TYPE, 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
const ports = { serve: (serve.address() as AddressInfo).port, floor: (floor.address() as AddressInfo).port };
const cpu: Record<string, number[]> = {};
const ops = Number(flags.ops);
for (let round = 0; round < Number(flags.rounds); round++) {
  for (const [who, port] of Object.entries(ports)) {
    for (const operation of ['CREATE', 'UPDATE']) {
      const mutate = reviews[`${operation} /mutate`]!;
      const validate = reviews[`${operation} /validate`]!;
      for (let i = 0; i < 100; i++) {
        await post(port, '/mutate', mutate);
        await post(port, '/validate', validate);
      }
      const before = process.cpuUsage();
      for (let i = 0; i < ops; i++) {
        await post(port, '/mutate', mutate);
        await post(port, '/validate', validate);
      }
      const used = process.cpuUsage(before);
      (cpu[`${who} ${operation}`] ??= []).push((used.user + used.system) / ops);
    }
  }
}
agent.destroy();
serve.close();
floor.close();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const m = (key: string) => median(cpu[key]!);

process.stdout.write(`\nWatch events per write of a labelled Deployment: ${perOperation.CREATE} ADDED for 3 creates, ${perOperation.UPDATE} MODIFIED for 3 updates.\n\n`);
process.stdout.write(
  `A cached Deployment (MODIFIED event) holds ${fixed(retainedKiB(modifiedLine, deploymentFacts), 2)} KiB of heap once the event's garbage is collected ` +
    `(${fixed(retainedKiB(modifiedLine, withoutBookkeeping), 2)} KiB with only the bookkeeping dropped, as the Service cache keeps its objects).\n\n`,
);
process.stdout.write(`${markdownTable(['review or event', 'stage', 'bytes', 'µs per call', 'KiB allocated per call'], rows)}\n\n`);
process.stdout.write(
  `${markdownTable(
    ['exchanges (/mutate + /validate, loopback HTTP, client included)', 'CPU µs per operation, median of rounds', 'rounds'],
    Object.entries(cpu).map(([key, values]) => [key, fixed(median(values), 0), values.map((v) => fixed(v, 0)).join(', ')]),
  )}\n\n`,
);
process.stdout.write(
  `update - create: serve ${fixed(m('serve UPDATE') - m('serve CREATE'), 0)} µs, floor ${fixed(m('floor UPDATE') - m('floor CREATE'), 0)} µs; ` +
    `what an update adds to serve beyond what it adds to the floor: ${fixed(m('serve UPDATE') - m('serve CREATE') - (m('floor UPDATE') - m('floor CREATE')), 0)} µs per operation\n`,
);

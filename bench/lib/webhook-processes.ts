/**
 * The two webhook processes of the through-the-API-server benchmark, each a
 * process of its own so /proc measures it alone:
 *
 * - `serve` as production runs it: compiled JavaScript (`build.ts`), info
 *   logging, policies from the cluster informer (`--kubeconfig`), and the
 *   Node flags the manifests pin (`manifestNodeOptions`);
 * - the floor (`floor-server.ts`), its types stripped the same way, with
 *   serve's certificate, TLS and connection settings, answering serve's
 *   patch for the bench Deployment on /mutate;
 * - the floor on the building blocks (`blocks-floor-server.ts`), the same
 *   way, with serve's Node flags and body limit too.
 *
 * Both run under the harness's process groups (`startProcess`), so nothing
 * outlives the benchmark.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../test/support/harness.ts';
import { writeFloorEntry } from './build.ts';
import { IMAGE_MALLOC_ENV } from './node-options.ts';
import { startProcess, type ManagedProcess } from '../../test/support/harness/processes.ts';
import type { WebhookCertificates } from '../../test/support/harness/webhook.ts';
import {
  CONNECTIONS_CHECKING_INTERVAL_MS,
  HANDSHAKE_TIMEOUT_MS,
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  REQUEST_TIMEOUT_MS,
} from '../../src/server/server.ts';
import { SERVER_CIPHERS } from '../../src/server/tls-settings.ts';
// The parent may load the policy code; the blocks floor is handed the limit instead.
import { MAX_BODY_BYTES } from '../../src/server/app.ts';

/** A running webhook process and where it listens. */
export interface WebhookProcess {
  name: string;
  port: number;
  process: ManagedProcess;
}

/**
 * NODE_OPTIONS the manifests pin for the webhook container
 * (deploy/webhook/deployment.yaml, `env` of the `webhook` container), and
 * Node flags in the image's ENTRYPOINT (Dockerfile, between `node` and the
 * script), so the benchmark runs serve as the cluster does. Empty when
 * neither pins any.
 */
export function manifestNodeOptions(root = REPO_ROOT): { nodeOptions: string; flags: string[]; source: string } {
  const docs = parseAllDocuments(readFileSync(join(root, 'deploy/webhook/deployment.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const deployment = docs.find((d) => d?.kind === 'Deployment');
  const container = (deployment?.spec?.template?.spec?.containers ?? []).find((c: { name: string }) => c.name === 'webhook');
  const env = (container?.env ?? []) as { name: string; value?: string }[];
  const nodeOptions = env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))?.[1];
  const argv = entrypoint ? (JSON.parse(entrypoint) as string[]) : [];
  const flags = argv[0] === 'node' ? argv.slice(1).filter((a) => a.startsWith('--')) : [];
  const malloc = Object.entries(IMAGE_MALLOC_ENV).map(([name, value]) => `${name}=${value}`).join(' ');
  const parts = [nodeOptions && `NODE_OPTIONS="${nodeOptions}" (deploy/webhook/deployment.yaml)`, flags.length > 0 && `${flags.join(' ')} (Dockerfile ENTRYPOINT)`, malloc && `${malloc} (Dockerfile ENV)`].filter(Boolean);
  return { nodeOptions, flags, source: parts.length > 0 ? parts.join(', ') : 'none pinned in deploy/webhook/deployment.yaml or the Dockerfile' };
}

/** GETs https://127.0.0.1:port/path trusting `ca`; the status code, 0 when nothing answers. */
function httpsStatus(port: number, path: string, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, ca, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function waitAnswering(proc: ManagedProcess, port: number, path: string, ca: Buffer, ok: (status: number) => boolean): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (proc.exitStatus()) throw new Error(`${proc.name} exited while starting:\n${proc.logTail()}`);
    if (ok(await httpsStatus(port, path, ca))) return;
    if (performance.now() > deadline) {
      await proc.stop();
      throw new Error(`${proc.name} not answering on port ${port} after 60 s:\n${proc.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Extra Node flags for a measurement, from the benchmark's environment:
 * `BENCH_SERVE_NODE_ARGS` for serve, `BENCH_FLOOR_NODE_ARGS` for the floor,
 * words separated by spaces (e.g. `--trace-gc`, or `--import
 * bench/lib/gc-tally.mjs` with `GC_TALLY_DIR`). `BENCH_SERVE_NODE_OPTIONS`
 * replaces the manifests' NODE_OPTIONS, to compare heap settings.
 */
function extraNodeArgs(name: 'BENCH_SERVE_NODE_ARGS' | 'BENCH_FLOOR_NODE_ARGS'): string[] {
  return (process.env[name] ?? '').split(' ').filter(Boolean);
}

/**
 * Environment without KUBECONFIG or MCP_ADMISSION_* (only flags decide),
 * plus NODE_OPTIONS when given, and with `image`, the image's malloc
 * settings (Dockerfile `ENV MALLOC_*`, which the pod inherits).
 */
function cleanEnv(nodeOptions: string, image: boolean): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'KUBECONFIG' && name !== 'NODE_OPTIONS' && !name.startsWith('MCP_ADMISSION_') && !name.startsWith('MALLOC_')));
  return { ...env, ...(image && IMAGE_MALLOC_ENV), ...(nodeOptions && { NODE_OPTIONS: nodeOptions }) };
}

export interface ServeOptions {
  /** Compiled entry point (`buildForBenchmark`). */
  entry: string;
  dir: string;
  port: number;
  metricsPort: number;
  certificates: WebhookCertificates;
  kubeconfig: string;
  /** Node flags before the entry point (the manifests' and e.g. --cpu-prof). */
  nodeArgs: string[];
  nodeOptions: string;
  /** The webhook's own namespace (`--namespace`), where it holds its Leases; serve's default when absent. */
  namespace?: string;
}

/** Starts `serve` with production settings and waits for /readyz. */
export async function startServe(options: ServeOptions): Promise<WebhookProcess> {
  const proc = startProcess({
    name: 'mcp-admission serve',
    command: join(REPO_ROOT, 'node_modules/.bin/node'),
    args: [
      ...options.nodeArgs,
      ...extraNodeArgs('BENCH_SERVE_NODE_ARGS'),
      options.entry,
      'serve',
      '--port', String(options.port),
      '--metrics-port', String(options.metricsPort),
      '--tls-cert', options.certificates.cert,
      '--tls-key', options.certificates.key,
      '--kubeconfig', options.kubeconfig,
      // Production waits for endpoints to drop a terminating pod; nothing routes by endpoints here.
      '--shutdown-delay-seconds', '0',
      ...(options.namespace ? ['--namespace', options.namespace] : []),
    ],
    cwd: REPO_ROOT,
    env: cleanEnv(process.env.BENCH_SERVE_NODE_OPTIONS ?? options.nodeOptions, true),
    logFile: join(options.dir, 'serve.log'),
  });
  await waitAnswering(proc, options.port, '/readyz', readFileSync(options.certificates.caCert), (s) => s === 200);
  return { name: 'serve', port: options.port, process: proc };
}

export interface FloorOptions {
  /** Where to write the floor's JavaScript (the build directory, holding compiled src/ for the blocks floor). */
  buildDir: string;
  dir: string;
  port: number;
  certificates: WebhookCertificates;
  /** The JSON Patch to answer on /mutate. */
  patch: unknown[];
  /** Node flags before the entry point (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /**
   * The floor on the building blocks (`blocks-floor-server.ts`) rather than
   * the bare one: run with serve's NODE_OPTIONS and body limit, its metrics
   * on `metricsPort`.
   */
  blocks?: { nodeOptions: string; metricsPort: number };
}

/** serve's TLS and connection settings (src/server/server.ts, tls-settings.ts), for the floor. */
export function serveServerOptions(): Record<string, unknown> {
  return {
    minVersion: 'TLSv1.2',
    ciphers: SERVER_CIPHERS,
    honorCipherOrder: true,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
  };
}

/** Starts a floor as JavaScript with serve's certificate and settings; waits until it answers. */
export async function startFloor(options: FloorOptions): Promise<WebhookProcess> {
  const name = options.blocks ? 'blocks-floor' : 'floor';
  const entry = writeFloorEntry(REPO_ROOT, options.buildDir, options.blocks ? 'blocks-floor-server' : 'floor-server');
  const patchFile = join(options.dir, `${name}-patch.json`);
  const settingsFile = join(options.dir, `${name}-server-options.json`);
  writeFileSync(patchFile, JSON.stringify(options.patch));
  writeFileSync(settingsFile, JSON.stringify(serveServerOptions()));
  const blocksArgs = options.blocks ? ['--body-limit', String(MAX_BODY_BYTES), '--metrics-port', String(options.blocks.metricsPort)] : [];
  const proc = startProcess({
    name: `${name} webhook`,
    command: join(REPO_ROOT, 'node_modules/.bin/node'),
    args: [...(options.nodeArgs ?? []), ...extraNodeArgs('BENCH_FLOOR_NODE_ARGS'), entry, options.certificates.cert, options.certificates.key, '--port', String(options.port), '--patch', patchFile, '--server-options', settingsFile, ...blocksArgs],
    cwd: REPO_ROOT,
    env: cleanEnv(options.blocks?.nodeOptions ?? '', options.blocks !== undefined),
    logFile: join(options.dir, `${name}.log`),
  });
  // A floor has no /readyz: any answer means it listens.
  await waitAnswering(proc, options.port, '/readyz', readFileSync(options.certificates.caCert), (s) => s !== 0);
  return { name, port: options.port, process: proc };
}

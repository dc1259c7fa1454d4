/**
 * mcp-admission itself, as the end-to-end suite runs it: `mcp-admission
 * serve` from source as a child process, with a serving certificate made by
 * certs/generate.sh (the tool users run), registered with the API server
 * through deploy/overlays/local (the manifests users install), pointed at
 * 127.0.0.1 and given the generated caBundle.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { REPO_ROOT } from './controlplane.ts';
import { mustSucceed, type Kubectl } from './kubectl.ts';
import { freePorts } from './ports.ts';
import { describeExit, startProcess, type ManagedProcess } from './processes.ts';
import { mcpService } from '../objects.ts';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Files written by certs/generate.sh. */
export interface WebhookCertificates {
  dir: string;
  caCert: string;
  cert: string;
  key: string;
  /** ca.crt base64-encoded: the webhooks' caBundle. */
  caBundle: string;
}

/** Runs certs/generate.sh into `dir`, with extra arguments such as `--new-ca`. */
export async function generateWebhookCertificates(dir: string, args: string[] = []): Promise<WebhookCertificates> {
  await mkdir(dir, { recursive: true });
  try {
    await run(join(REPO_ROOT, 'certs/generate.sh'), ['-o', dir, ...args]);
  } catch (err) {
    throw new Error(`certs/generate.sh failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    cert: join(dir, 'tls.crt'),
    key: join(dir, 'tls.key'),
    caBundle: (await readFile(join(dir, 'ca-bundle.b64'), 'utf8')).trim(),
  };
}

/** The webhook server process; can be stopped and started again on the same ports. */
export interface WebhookServer {
  port: number;
  metricsPort: number;
  certificates: WebhookCertificates;
  /** The current process, if one was started. */
  process(): ManagedProcess | undefined;
  /** Starts the server and waits for /readyz; milliseconds it took. */
  start(): Promise<number>;
  stop(): Promise<void>;
  /** The log of every process started so far. */
  logTail(lines?: number): string;
}

/** Options for {@link createWebhookServer}. */
export interface WebhookServerOptions {
  /** Directory for certificates and logs. */
  dir: string;
  /** Extra `serve` flags, e.g. `--kubeconfig FILE`. */
  args?: string[];
  /**
   * Serve these files instead of the generated ones (which still provide the
   * caBundle), e.g. a Secret-volume-like layout whose contents a test swaps.
   */
  tls?: { cert: string; key: string };
}

/** GETs https://127.0.0.1:port/path trusting `ca`; resolves to the status code. */
function httpsStatus(port: number, path: string, ca: Buffer): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolvePromise(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Prepares certificates and ports for the webhook; {@link WebhookServer.start} runs it. */
export async function createWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const [certificates, ports] = await Promise.all([
    generateWebhookCertificates(join(options.dir, 'webhook-certs')),
    freePorts(2),
  ]);
  const [port, metricsPort] = ports as [number, number];
  const ca = await readFile(certificates.caCert);
  const logFile = join(options.dir, 'webhook.log');
  let current: ManagedProcess | undefined;

  const server: WebhookServer = {
    port,
    metricsPort,
    certificates,
    process: () => current,
    logTail: (lines) => current?.logTail(lines) ?? '',
    async start() {
      if (current && !current.exitStatus()) return 0;
      const started = performance.now();
      const proc = startProcess({
        name: 'mcp-admission serve',
        command: join(REPO_ROOT, 'node_modules/.bin/node'),
        args: [
          join(REPO_ROOT, 'src/cli/main.ts'),
          'serve',
          '--port', String(port),
          '--metrics-port', String(metricsPort),
          '--tls-cert', options.tls?.cert ?? certificates.cert,
          '--tls-key', options.tls?.key ?? certificates.key,
          // Production waits for endpoints to drop a terminating pod; here
          // nothing routes by endpoints, and the wait would only slow teardown.
          '--shutdown-delay-seconds', '0',
          ...(options.args ?? []),
        ],
        cwd: REPO_ROOT,
        // Only flags decide where policies come from, never a KUBECONFIG
        // or MCP_ADMISSION_* variable from the developer's shell.
        env: Object.fromEntries(
          Object.entries(process.env).filter(([name]) => name !== 'KUBECONFIG' && !name.startsWith('MCP_ADMISSION_')),
        ),
        logFile,
      });
      current = proc;
      const deadline = performance.now() + 30_000;
      let last = 'no answer yet';
      for (;;) {
        const status = proc.exitStatus();
        if (status) {
          throw new Error(`mcp-admission serve ${describeExit(status)} while starting:\n${proc.logTail()}`);
        }
        try {
          const code = await httpsStatus(port, '/readyz', ca);
          if (code === 200) return performance.now() - started;
          last = `/readyz answered ${code}`;
        } catch (err) {
          last = (err as Error).message;
        }
        if (performance.now() > deadline) {
          await proc.stop();
          throw new Error(`mcp-admission serve not ready on port ${port} (${last}):\n${proc.logTail()}`);
        }
        await sleep(100);
      }
    },
    async stop() {
      await current?.stop();
    },
  };
  return server;
}

type Json = Record<string, unknown>;

/**
 * Renders deploy/overlays/local with kubectl's kustomize and points every
 * webhook at `port` with `caBundle`: the webhook configurations users
 * install, with only the address and trust changed.
 */
export async function renderLocalOverlay(kubectl: Kubectl, port: number, caBundle: string): Promise<Json[]> {
  const rendered = await mustSucceed(kubectl, ['kustomize', join(REPO_ROOT, 'deploy/overlays/local')]);
  const objects = parseAllDocuments(rendered.stdout).map((doc) => doc.toJS() as Json);
  for (const object of objects) {
    for (const webhook of (object.webhooks ?? []) as Array<{ clientConfig: { url?: string; caBundle?: string } }>) {
      const { url } = webhook.clientConfig;
      if (!url) throw new Error(`deploy/overlays/local: webhook without clientConfig.url in ${String(object.kind)}`);
      const target = new URL(url);
      target.port = String(port);
      webhook.clientConfig.url = target.toString();
      webhook.clientConfig.caBundle = caBundle;
    }
  }
  return objects;
}

/** Names of every webhook in the rendered configurations. */
export function webhookNames(objects: Json[]): string[] {
  return objects.flatMap((o) => ((o.webhooks ?? []) as Array<{ name: string }>).map((w) => w.name));
}

/** A labelled SSE Service: the probe that tells whether the API server calls us yet. */
const PROBE_SERVICE = mcpService('mcp-admission-e2e-probe', { namespace: 'default' });

/**
 * Applies the local overlay and waits until the API server calls every
 * webhook that can see a Service. The API server learns of new webhook
 * configurations through an informer, a moment after they are stored; the
 * wait is read from its own metrics (apiserver_admission_webhook_request_total
 * by webhook name), so it holds whatever the webhook answers.
 */
export async function installWebhookConfigurations(
  kubectl: Kubectl,
  port: number,
  caBundle: string,
  timeoutMs = 20_000,
): Promise<Json[]> {
  const objects = await renderLocalOverlay(kubectl, port, caBundle);
  await mustSucceed(kubectl, ['apply', '-f', '-'], { input: stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
  // The policy webhook never sees a Service; the other two must both answer.
  const expected = webhookNames(objects).filter((name) => !name.startsWith('policy.'));
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    await kubectl(['create', '--dry-run=server', '-o', 'name', '-f', '-'], { input: JSON.stringify(PROBE_SERVICE) });
    const metrics = await mustSucceed(kubectl, ['get', '--raw', '/metrics']);
    const seen = expected.filter((name) =>
      metrics.stdout.split('\n').some((line) => line.startsWith('apiserver_admission_webhook_request_total{') && line.includes(`name="${name}"`)),
    );
    if (seen.length === expected.length) return objects;
    if (performance.now() > deadline) {
      throw new Error(`the API server did not call ${expected.filter((n) => !seen.includes(n)).join(', ')} within ${timeoutMs} ms`);
    }
    await sleep(200);
  }
}

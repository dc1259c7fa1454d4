/**
 * The installed path, end to end: an empty API server, the README's install
 * commands for one path, stand-in pods for the webhook Deployment the
 * install created (test/support/harness/pod.ts), and kube-apiserver calling
 * them through the Service: `--enable-aggregator-routing=true` makes it
 * resolve a webhook Service to its EndpointSlices' addresses, so the call
 * goes to the pod address with the installed caBundle, checked against the
 * serving certificate's name `<service>.<namespace>.svc`. Runs inside a
 * network of our own (test/support/harness/netns.ts).
 */
import { X509Certificate } from 'node:crypto';
import { cp, mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { mcpDeployment } from './objects.ts';
import { ensureNamespace, getJson, manifest, startE2E, type E2E } from './harness.ts';
import { REPO_ROOT } from './harness/controlplane.ts';
import { documentedCommands, runCommands, type CommandRun, type ShellOptions } from './harness/install-commands.ts';
import type { Network } from './harness/netns.ts';
import { startPod, type Pod } from './harness/pod.ts';

type Json = Record<string, any>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The webhook's Deployment and Service, as every install path names them. */
export const WEBHOOK = 'mcp-admission-webhook';

/** kube-apiserver flags for the installed path: webhooks reached at endpoint addresses. */
export const INSTALLED_PATH_APISERVER_ARGS = [
  '--enable-aggregator-routing=true',
  // Pods reach the API server at the node address, not only on loopback;
  // the node namespace is ours, so this listens on nothing of the machine's.
  '--bind-address=0.0.0.0',
];

/** Options for {@link install}. */
export interface InstallOptions {
  network: Network;
  /** The README block: `<!-- install: NAME -->`. */
  path: string;
  /** Where the webhook lands (what the commands say, after `rewrite`). */
  namespace: string;
  /** Applied to each documented command, e.g. to name another namespace. */
  rewrite?: (command: string) => string;
  /** Changes to the copy of the install tree before the commands run (it is the commands' working directory). */
  edit?: (root: string) => Promise<void>;
  /** Directories put first on PATH besides kubectl's (helm's). */
  extraPath?: string[];
}

/** An installed mcp-admission on a fresh API server. */
export interface Installed {
  env: E2E;
  namespace: string;
  commands: string[];
  runs: CommandRun[];
  /** Where the commands ran, for more documented commands (Verify, upgrade). */
  shell: ShellOptions;
  pods: Pod[];
  /** Milliseconds from the first install command to the first admitted MCP object. */
  firstAdmittedMs?: number;
  stop(): Promise<void>;
}

/**
 * A copy of what users install from (deploy/, certs/, examples/) under
 * `dir`: commands that write (certs/generate.sh writes certs/out/) or a
 * test that edits a file (another namespace) never touch the checkout.
 */
export async function copyInstallTree(dir: string): Promise<string> {
  const root = join(dir, 'checkout');
  for (const part of ['deploy', 'certs', 'examples', 'package.json']) {
    await cp(join(REPO_ROOT, part), join(root, part), { recursive: true, filter: (src) => !src.includes('/certs/out') });
  }
  return root;
}

/** Starts a fresh control plane and runs the documented commands of `options.path`. */
export async function install(options: InstallOptions): Promise<Installed> {
  const env = await startE2E({ webhook: false, clusterPolicies: false, apiserverArgs: INSTALLED_PATH_APISERVER_ARGS });
  const pods: Pod[] = [];
  const installed: Installed = {
    env,
    namespace: options.namespace,
    commands: [],
    runs: [],
    shell: { cwd: env.dir, kubeconfig: env.controlPlane.kubeconfig, path: [], home: env.dir },
    pods,
    async stop() {
      await Promise.all(pods.map((p) => p.process.stop()));
      await env.stop();
    },
  };
  try {
    installed.commands = documentedCommands(options.path).map(options.rewrite ?? ((c) => c));
    const root = await copyInstallTree(env.dir);
    await options.edit?.(root);
    const home = join(env.dir, 'home');
    await mkdir(home, { recursive: true });
    installed.shell = { cwd: root, kubeconfig: env.controlPlane.kubeconfig, path: [env.controlPlane.binDir, ...(options.extraPath ?? [])], home };
    installed.runs = await runCommands(installed.commands, installed.shell);
    return installed;
  } catch (err) {
    await installed.stop();
    throw err;
  }
}

/**
 * Starts a stand-in for every replica of the webhook Deployment (as many as
 * the network has pod slots), in parallel, as the scheduler would.
 */
export async function startWebhookPods(installed: Installed, network: Network): Promise<Pod[]> {
  const deployment = await getJson<Json>(installed.env.kubectl, ['deployment', WEBHOOK, '-n', installed.namespace]);
  const replicas = Math.min(deployment.spec.replicas ?? 1, network.pods.length);
  const started = await Promise.allSettled(
    network.pods.slice(0, replicas).map((slot) =>
      startPod({
        controlPlane: installed.env.controlPlane,
        network,
        slot,
        namespace: installed.namespace,
        deployment: WEBHOOK,
        dir: join(installed.env.dir, 'pods'),
      }),
    ),
  );
  for (const result of started) if (result.status === 'fulfilled') installed.pods.push(result.value);
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return installed.pods;
}

/** The prober's Deployment (`probe --watch`), as every install path names it by default. */
export const PROBER = 'mcp-admission-prober';

/**
 * Starts a stand-in for the prober Deployment's one pod, in the first pod
 * slot the webhook's stand-ins left free, and waits for its readiness probe
 * (/healthz on the metrics port) as the kubelet would.
 */
export async function startProberPod(installed: Installed, network: Network): Promise<Pod> {
  const used = new Set(installed.pods.map((p) => p.ip));
  const slot = network.pods.find((s) => !used.has(s.ip));
  if (!slot) throw new Error(`no pod slot left for the prober: the network has ${network.pods.length}, the webhook uses ${used.size}`);
  const pod = await startPod({
    controlPlane: installed.env.controlPlane,
    network,
    slot,
    namespace: installed.namespace,
    deployment: PROBER,
    dir: join(installed.env.dir, 'pods'),
  });
  installed.pods.push(pod);
  return pod;
}

/** GET `http://host:port/path` (a pod's plain-HTTP port). */
export function httpGet(host: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}:${port}${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/** An SSE server Deployment as a developer would apply it. */
export const sseServer = (namespace: string, name = 'weather'): Json =>
  mcpDeployment(name, { namespace, annotations: { protocol: 'sse' } });

/**
 * Applies an SSE Deployment until the API server admits it (webhook pods
 * come up after the install returns; until then the Fail policy refuses).
 * Resolves to the stored object.
 */
export async function firstAdmitted(installed: Installed, namespace: string, timeoutMs = 60_000): Promise<Json> {
  const { kubectl } = installed.env;
  await ensureNamespace(kubectl, namespace);
  const deadline = performance.now() + timeoutMs;
  let last = '';
  for (;;) {
    const result = await kubectl(['apply', '-f', '-'], { input: manifest(sseServer(namespace)) });
    if (result.code === 0) return getJson<Json>(kubectl, ['deployment', 'weather', '-n', namespace]);
    last = result.stderr;
    if (performance.now() > deadline) throw new Error(`no MCP object admitted within ${timeoutMs} ms: ${last}`);
    await sleep(200);
  }
}

/** What a TLS client trusting `caBundle` sees when it connects to `host:port` asking for `serverName`. */
export function tlsHandshake(host: string, port: number, serverName: string, caBundle: string): Promise<{ authorized: boolean; error?: string; subjectAltName?: string; issuer?: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, servername: serverName, ca: Buffer.from(caBundle, 'base64'), rejectUnauthorized: false, timeout: 3000 }, () => {
      const peer = socket.getPeerX509Certificate();
      resolve({
        authorized: socket.authorized,
        error: socket.authorizationError ? String(socket.authorizationError) : undefined,
        subjectAltName: peer?.subjectAltName,
        issuer: peer?.issuer,
      });
      socket.end();
    });
    socket.on('timeout', () => socket.destroy(new Error('timeout')));
    socket.on('error', (err) => resolve({ authorized: false, error: err.message }));
  });
}

/** The certificates in a base64 PEM bundle. */
export function bundleCertificates(caBundle: string): X509Certificate[] {
  const pem = Buffer.from(caBundle, 'base64').toString('utf8');
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((c) => new X509Certificate(c));
}

/** Sum of kube-apiserver's apiserver_admission_webhook_request_total for `webhook`, admitted (not rejected) calls only. */
export async function webhookCalls(installed: Installed, webhook: string): Promise<number> {
  const { stdout } = await installed.env.kubectl(['get', '--raw', '/metrics']);
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('apiserver_admission_webhook_request_total{') && l.includes(`name="${webhook}"`) && l.includes('rejected="false"'))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}


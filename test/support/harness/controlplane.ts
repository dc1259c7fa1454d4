/**
 * A real Kubernetes control plane for the end-to-end suite: etcd and
 * kube-apiserver on 127.0.0.1, built from source by test/controlplane/build.sh.
 * Flags follow controller-runtime's envtest (RBAC, secure serving only,
 * service-account keys, ServiceAccount admission off since no controller
 * manager creates default accounts), with an admin client certificate and a
 * kubeconfig for kubectl.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeControlPlanePKI, type ControlPlanePKI } from './pki.ts';
import { freePorts } from './ports.ts';
import { describeExit, startProcess, type ManagedProcess } from './processes.ts';
import { kubectlFor, type Kubectl } from './kubectl.ts';

/** The repository root (this file is test/support/harness/controlplane.ts). */
export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

const BUILD_SCRIPT = join(REPO_ROOT, 'test/controlplane/build.sh');

/** Raised when the control plane cannot be built: the suite must fail, loudly. */
export class ControlPlaneBuildError extends Error {
  override name = 'ControlPlaneBuildError';
}

/**
 * Runs test/controlplane/build.sh and returns the directory holding etcd,
 * kube-apiserver and kubectl. A warm cache answers in milliseconds; a cold
 * build takes minutes and reports progress on stderr, which is passed
 * through. Exit 3 (no Go) and every other failure throw with the script's
 * own message, so a machine without Go fails the suite instead of skipping it.
 */
export function buildControlPlane(): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(BUILD_SCRIPT, [], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      process.stderr.write(chunk);
    });
    child.once('error', (err) => reject(new ControlPlaneBuildError(`cannot run ${BUILD_SCRIPT}: ${err.message}`)));
    child.once('close', (code) => {
      const binDir = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0 && binDir) return resolvePromise(binDir);
      reject(
        new ControlPlaneBuildError(
          `test/controlplane/build.sh exited ${code}: the end-to-end suite cannot run without ` +
            `etcd, kube-apiserver and kubectl.\n${stderr.trim()}`,
        ),
      );
    });
  });
}

/** A running control plane. */
export interface ControlPlane {
  /** Where etcd, kube-apiserver and kubectl live. */
  binDir: string;
  /** Temporary directory for data, certificates and logs; removed by the owner. */
  dir: string;
  /** https://127.0.0.1:PORT */
  url: string;
  /** Admin kubeconfig (system:masters). */
  kubeconfig: string;
  pki: ControlPlanePKI;
  kubectl: Kubectl;
  etcd: ManagedProcess;
  apiserver: ManagedProcess;
  /** Milliseconds from spawning etcd to kube-apiserver's /readyz answering ok. */
  startMs: number;
  /** Stops kube-apiserver, then etcd. */
  stop(): Promise<void>;
}

/** Options for {@link startControlPlane}. */
export interface ControlPlaneOptions {
  binDir: string;
  /** An empty directory owned by the caller. */
  dir: string;
  /** Extra kube-apiserver flags, e.g. `--runtime-config=...`. */
  apiserverArgs?: string[];
  /** How long kube-apiserver may take to become ready; default 90 s. */
  readyTimeoutMs?: number;
}

function kubeconfigYaml(url: string, pki: ControlPlanePKI): string {
  // JSON is YAML; no serializer needed. File paths, not inline data, so the
  // certificates stay inspectable in the temp directory when a run fails.
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server: url, 'certificate-authority': pki.servingCA.cert } }],
      users: [{ name: 'admin', user: { 'client-certificate': pki.admin.cert, 'client-key': pki.admin.key } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'admin' } }],
      'current-context': 'e2e',
    },
    null,
    2,
  );
}

/** GET `url` with the admin certificate; resolves to status code and body, or an error. */
function probe(url: string, pki: ControlPlanePKI): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      {
        ca: readFileSync(pki.servingCA.cert),
        cert: readFileSync(pki.admin.cert),
        key: readFileSync(pki.admin.key),
        timeout: 2000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts etcd and kube-apiserver in `options.dir` and waits until
 * kube-apiserver's /readyz is ok (which includes etcd and the bootstrap
 * controllers: RBAC roles, priority levels, the default namespaces). On
 * failure everything started is stopped before the error is thrown.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const started = performance.now();
  const { binDir, dir } = options;
  const pkiDir = join(dir, 'pki');
  const etcdDir = join(dir, 'etcd');
  await Promise.all([mkdir(pkiDir), mkdir(etcdDir, { mode: 0o700 })]);
  const [pki, ports] = await Promise.all([makeControlPlanePKI(pkiDir), freePorts(3)]);
  const [etcdClientPort, etcdPeerPort, apiserverPort] = ports as [number, number, number];
  const url = `https://127.0.0.1:${apiserverPort}`;
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigYaml(url, pki), { mode: 0o600 });

  const etcdClientUrl = `http://127.0.0.1:${etcdClientPort}`;
  const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  const etcd = startProcess({
    name: 'etcd',
    command: join(binDir, 'etcd'),
    args: [
      '--name=e2e',
      `--data-dir=${join(etcdDir, 'data')}`,
      `--listen-client-urls=${etcdClientUrl}`,
      `--advertise-client-urls=${etcdClientUrl}`,
      // The peer port must be free too, or a second etcd on the machine
      // (another test file, a developer's cluster) fails on :2380.
      `--listen-peer-urls=${etcdPeerUrl}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl}`,
      `--initial-cluster=e2e=${etcdPeerUrl}`,
      // Throwaway data: no fsync makes every write an order of magnitude
      // cheaper (envtest does the same).
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ],
    logFile: join(dir, 'etcd.log'),
  });

  const apiserver = startProcess({
    name: 'kube-apiserver',
    command: join(binDir, 'kube-apiserver'),
    args: [
      `--etcd-servers=${etcdClientUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // Kubernetes >= 1.35 refuses a loopback advertise address with the
      // endpoint reconciler; nothing here needs the `kubernetes` Endpoints.
      '--endpoint-reconciler-type=none',
      `--secure-port=${apiserverPort}`,
      `--cert-dir=${pkiDir}`,
      `--tls-cert-file=${pki.serving.cert}`,
      `--tls-private-key-file=${pki.serving.key}`,
      `--client-ca-file=${pki.clientCA.cert}`,
      '--authorization-mode=RBAC',
      `--service-account-issuer=${url}/`,
      `--service-account-key-file=${pki.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // No controller manager runs, so no default ServiceAccount is ever
      // created; with this plugin on, no Pod could be admitted.
      '--disable-admission-plugins=ServiceAccount',
      ...(options.apiserverArgs ?? []),
    ],
    logFile: join(dir, 'kube-apiserver.log'),
  });

  const stop = async (): Promise<void> => {
    await apiserver.stop();
    await etcd.stop();
  };

  try {
    const deadline = performance.now() + (options.readyTimeoutMs ?? 90_000);
    let last = 'no answer yet';
    for (;;) {
      for (const proc of [etcd, apiserver]) {
        const status = proc.exitStatus();
        if (status) {
          throw new Error(`${proc.name} ${describeExit(status)} while starting:\n${proc.logTail()}`);
        }
      }
      try {
        const { status, body } = await probe(`${url}/readyz`, pki);
        if (status === 200) break;
        last = `/readyz ${status}: ${body.trim().split('\n').filter((l) => l.includes('failed')).join('; ')}`;
      } catch (err) {
        last = (err as Error).message;
      }
      if (performance.now() > deadline) {
        throw new Error(`kube-apiserver not ready at ${url} (${last}):\n${apiserver.logTail()}`);
      }
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    binDir,
    dir,
    url,
    kubeconfig,
    pki,
    kubectl: kubectlFor(join(binDir, 'kubectl'), kubeconfig, join(dir, 'kubectl-cache')),
    etcd,
    apiserver,
    startMs: performance.now() - started,
    stop,
  };
}

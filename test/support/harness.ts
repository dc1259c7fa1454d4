/**
 * The end-to-end environment: a real control plane (etcd, kube-apiserver,
 * kubectl built from source), mcp-admission serving from this checkout, and
 * the webhook configurations from deploy/overlays/local. One environment per
 * test file:
 *
 * ```ts
 * let env: E2E;
 * before(async () => { env = await startE2E(); });
 * after(() => env?.stop());
 * ```
 *
 * Teardown stops every process group and removes the temporary directory,
 * also when a test or the setup fails. MCP_ADMISSION_E2E_KEEP=1 keeps the
 * directory (logs, certificates, kubeconfig) for a look after the run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildControlPlane, startControlPlane, type ControlPlane } from './harness/controlplane.ts';
import { mustSucceed, type Kubectl, type KubectlOptions, type KubectlResult } from './harness/kubectl.ts';
import { installCrds, installDefaultPolicy } from './harness/manifests.ts';
import { createWebhookServer, installWebhookConfigurations, type WebhookServer } from './harness/webhook.ts';

export { REPO_ROOT } from './harness/controlplane.ts';
export { getJson, mustSucceed, type Kubectl, type KubectlResult } from './harness/kubectl.ts';
export { waitForEstablished } from './harness/manifests.ts';

/** How long each stage took, in milliseconds. */
export interface E2ETimings {
  /** test/controlplane/build.sh: a stat per binary when warm. */
  buildMs: number;
  /** etcd and kube-apiserver, from spawn to /readyz ok. */
  controlPlaneMs: number;
  /** mcp-admission serve, from spawn to /readyz ok. */
  webhookMs: number;
  /** Applying the local overlay until the API server calls the webhooks. */
  registerMs: number;
  totalMs: number;
}

/** A running end-to-end environment. */
export interface E2E {
  dir: string;
  controlPlane: ControlPlane;
  /** Undefined when started with `webhook: false`. */
  webhook: WebhookServer | undefined;
  kubectl: Kubectl;
  /** `kubectl apply -f -` of `objects` (one object, or several as a List). */
  apply(objects: object | object[], args?: string[], options?: KubectlOptions): Promise<KubectlResult>;
  timings: E2ETimings;
  /** Stops everything and removes the directory; safe to call twice. */
  stop(): Promise<void>;
}

/** Options for {@link startE2E}. */
export interface E2EOptions {
  /** Start mcp-admission and register it (default true). */
  webhook?: boolean;
  /** Extra `mcp-admission serve` flags. */
  webhookArgs?: string[];
  /**
   * Install deploy/crd and deploy/policy before the webhook starts, and let
   * the webhook read policies from the cluster as it does in production
   * (default true). False: no CRD, built-in defaults.
   */
  clusterPolicies?: boolean;
  /** Extra kube-apiserver flags. */
  apiserverArgs?: string[];
}

/** Serializes objects for `kubectl apply -f -`. JSON is what kubectl reads best. */
export function manifest(objects: object | object[]): string {
  return JSON.stringify(Array.isArray(objects) ? { apiVersion: 'v1', kind: 'List', items: objects } : objects);
}

/** Builds (or finds) the control plane, starts it and, by default, the webhook. */
export async function startE2E(options: E2EOptions = {}): Promise<E2E> {
  const started = performance.now();
  const timings: E2ETimings = { buildMs: 0, controlPlaneMs: 0, webhookMs: 0, registerMs: 0, totalMs: 0 };
  const binDir = await buildControlPlane();
  timings.buildMs = performance.now() - started;

  const dir = await mkdtemp(join(tmpdir(), 'mcp-admission-e2e-'));
  let controlPlane: ControlPlane | undefined;
  let webhook: WebhookServer | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      await webhook?.stop();
      await controlPlane?.stop();
    } finally {
      if (process.env.MCP_ADMISSION_E2E_KEEP) {
        process.stderr.write(`e2e: kept ${dir}\n`);
      } else {
        await rm(dir, { recursive: true, force: true });
      }
    }
  };

  try {
    controlPlane = await startControlPlane({ binDir, dir, apiserverArgs: options.apiserverArgs });
    timings.controlPlaneMs = controlPlane.startMs;
    const { kubectl } = controlPlane;
    const clusterPolicies = (options.clusterPolicies ?? true) && (await installCrds(kubectl));
    // The default policy waits on kubectl's discovery of the new kind; the
    // webhook starts meanwhile. Its configurations are registered only after
    // both, as in a real install, where kustomize orders them last.
    const defaultPolicy = clusterPolicies ? installDefaultPolicy(kubectl) : Promise.resolve();
    try {
      if (options.webhook ?? true) {
        const args = [
          ...(clusterPolicies ? ['--kubeconfig', controlPlane.kubeconfig] : ['--policy-source', 'builtin']),
          ...(options.webhookArgs ?? []),
        ];
        webhook = await createWebhookServer({ dir, args });
        timings.webhookMs = await webhook.start();
      }
    } finally {
      // Awaited on failure too: no kubectl may outlive the temp directory.
      await defaultPolicy.catch(() => undefined);
    }
    await defaultPolicy;
    if (webhook) {
      const registering = performance.now();
      await installWebhookConfigurations(kubectl, webhook.port, webhook.certificates.caBundle);
      timings.registerMs = performance.now() - registering;
    }
    timings.totalMs = performance.now() - started;
    const ms = (n: number): string => `${Math.round(n)} ms`;
    process.stderr.write(
      `e2e: ready in ${ms(timings.totalMs)} (build.sh ${ms(timings.buildMs)}, control plane ${ms(timings.controlPlaneMs)}` +
        (webhook ? `, webhook ${ms(timings.webhookMs)}, registered ${ms(timings.registerMs)}` : '') + `) in ${dir}\n`,
    );
    return {
      dir,
      controlPlane,
      webhook,
      kubectl,
      apply: (objects, args = [], applyOptions = {}) =>
        kubectl(['apply', '-f', '-', ...args], { ...applyOptions, input: manifest(objects) }),
      timings,
      stop,
    };
  } catch (err) {
    const log = webhook?.logTail();
    await stop();
    if (log && err instanceof Error && !err.message.includes(log)) err.message += `\nwebhook log:\n${log}`;
    throw err;
  }
}

/** Creates namespace `name` (idempotent). */
export async function ensureNamespace(kubectl: Kubectl, name: string): Promise<void> {
  await mustSucceed(kubectl, ['apply', '-f', '-'], {
    input: manifest({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
  });
}

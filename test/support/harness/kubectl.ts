/**
 * The real kubectl, run against the harness's kubeconfig: the scenarios
 * assert on what a user would see (exit code, stdout, stderr with its
 * "Warning:" lines and denial messages), so nothing is parsed away.
 */
import { spawn } from 'node:child_process';

/** What one kubectl invocation produced. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for one kubectl call. */
export interface KubectlOptions {
  /** Written to kubectl's stdin (for `-f -`). */
  input?: string;
  /** Killed after this long; default 60 s. */
  timeoutMs?: number;
}

/** Runs kubectl with `args`; resolves whatever the exit code. */
export type Kubectl = (args: string[], options?: KubectlOptions) => Promise<KubectlResult>;

/**
 * A {@link Kubectl} bound to `binary` and `kubeconfig`, caching discovery in
 * `cacheDir`: kubectl's default, ~/.kube/cache, would keep a directory per
 * random API server port forever.
 */
export function kubectlFor(binary: string, kubeconfig: string, cacheDir: string): Kubectl {
  return (args, options = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(binary, ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], {
        // Nothing from the developer's kubectl setup leaks in.
        env: { ...process.env, KUBECONFIG: kubeconfig },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
      child.stdin.on('error', () => {
        /* kubectl may exit before reading stdin; its exit code tells */
      });
      child.stdin.end(options.input ?? '');
    });
}

/** Thrown by {@link mustSucceed} with the whole kubectl output in its message. */
export class KubectlError extends Error {
  readonly result: KubectlResult;
  constructor(args: string[], result: KubectlResult) {
    super(`kubectl ${args.join(' ')} exited ${result.code}\n${result.stderr}${result.stdout}`);
    this.name = 'KubectlError';
    this.result = result;
  }
}

/** Runs kubectl and throws unless it exits 0; returns its result. */
export async function mustSucceed(kubectl: Kubectl, args: string[], options?: KubectlOptions): Promise<KubectlResult> {
  const result = await kubectl(args, options);
  if (result.code !== 0) throw new KubectlError(args, result);
  return result;
}

/** `kubectl get ... -o json`, parsed; throws when kubectl fails. */
export async function getJson<T = Record<string, unknown>>(kubectl: Kubectl, args: string[]): Promise<T> {
  const result = await mustSucceed(kubectl, ['get', ...args, '-o', 'json']);
  return JSON.parse(result.stdout) as T;
}

/**
 * Helm (built from its Go module by test/tools/build.sh) run against the
 * harness: its state (config, cache, data) in a directory of the test's
 * own, never the developer's.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './harness/controlplane.ts';
import { toolPath } from './tools.ts';

type Json = Record<string, any>;

/** The chart users install. */
export const CHART = join(REPO_ROOT, 'deploy/helm/mcp-admission');

/** The directory holding the `helm` binary, for PATH. */
export function helmDir(): string {
  return dirname(toolPath('helm'));
}

/** What one helm invocation produced. */
export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with `args`; state under `home`, KUBECONFIG when given. */
export function helm(args: string[], options: { home: string; kubeconfig?: string }): Promise<HelmResult> {
  return new Promise((resolve) => {
    execFile(
      toolPath('helm'),
      args,
      {
        env: {
          PATH: process.env.PATH,
          HOME: options.home,
          HELM_CONFIG_HOME: join(options.home, 'config'),
          HELM_CACHE_HOME: join(options.home, 'cache'),
          HELM_DATA_HOME: join(options.home, 'data'),
          ...(options.kubeconfig ? { KUBECONFIG: options.kubeconfig } : {}),
        },
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** `helm template` of the chart, parsed; throws on failure. */
export async function renderChart(release: string, namespace: string, values: string[], home: string): Promise<Json[]> {
  const result = await helm(['template', release, CHART, '--namespace', namespace, ...values.flatMap((v) => ['--set', v])], { home });
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as Json | null)
    .filter((o): o is Json => o !== null);
}

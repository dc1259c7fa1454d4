/**
 * The README's install commands, run word for word: each documented path is
 * a fenced `sh` block right after a marker comment
 * (`<!-- install: kustomize -->`), and the tests run exactly those lines
 * with a shell, against the harness's API server, recording a transcript
 * (each command and what it printed) for the reader.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './controlplane.ts';

/** The commands of the block marked `<!-- install: NAME -->` in `file` (default README.md). */
export function documentedCommands(name: string, file = join(REPO_ROOT, 'README.md')): string[] {
  const text = readFileSync(file, 'utf8');
  const marker = `<!-- install: ${name} -->`;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`${file}: no "${marker}" block`);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at + marker.length));
  if (!block?.[1]) throw new Error(`${file}: "${marker}" is not followed by a \`\`\`sh block`);
  return block[1]
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line && !line.startsWith('#'));
}

/** One command's run. */
export interface CommandRun {
  command: string;
  code: number;
  output: string;
  ms: number;
}

/** Where and with what the commands run. */
export interface ShellOptions {
  cwd: string;
  kubeconfig: string;
  /** Directories put first on PATH (kubectl's, helm's). */
  path: string[];
  /** HOME for the commands (helm and kubectl keep caches under it). */
  home: string;
  timeoutMs?: number;
}

function runOne(command: string, options: ShellOptions): Promise<CommandRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], {
      cwd: options.cwd,
      env: {
        PATH: [...options.path, process.env.PATH ?? '/usr/bin:/bin'].join(':'),
        HOME: options.home,
        KUBECONFIG: options.kubeconfig,
        LANG: 'C.UTF-8',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ command, code: code ?? (signal ? 128 : 1), output, ms: performance.now() - started });
    });
  });
}

/** Runs `commands` one after another, stopping at the first that fails. */
export async function runCommands(commands: string[], options: ShellOptions): Promise<CommandRun[]> {
  const runs: CommandRun[] = [];
  for (const command of commands) {
    const run = await runOne(command, options);
    runs.push(run);
    if (run.code !== 0) break;
  }
  return runs;
}

/** A transcript as a terminal shows it: `$ command`, its output, and the exit code when not 0. */
export function transcript(runs: CommandRun[]): string {
  return runs
    .map((r) => `$ ${r.command}\n${r.output}${r.output.endsWith('\n') || !r.output ? '' : '\n'}${r.code ? `(exit ${r.code})\n` : ''}`)
    .join('');
}

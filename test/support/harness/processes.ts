/**
 * Child processes of the end-to-end harness (etcd, kube-apiserver, the
 * webhook): each runs in a process group of its own, writes to a log file,
 * and is killed with its whole group on stop, and again by a safety net when
 * the test process exits or is interrupted, so no run leaves orphans behind.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** How a process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process started by {@link startProcess}. */
export interface ManagedProcess {
  /** Short name for messages, e.g. `kube-apiserver`. */
  readonly name: string;
  /** Process id, also the id of its process group. */
  readonly pid: number;
  /** File that receives the process's stdout and stderr. */
  readonly logFile: string;
  /** Settles once the process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** The exit status, or undefined while it runs. */
  exitStatus(): ExitStatus | undefined;
  /** The last lines of its log, for error messages. */
  logTail(lines?: number): string;
  /**
   * SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the
   * process has exited. Safe to call more than once.
   */
  stop(graceMs?: number): Promise<ExitStatus>;
}

/** Options for {@link startProcess}. */
export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Process groups still running, for the exit safety net. */
const liveGroups = new Set<number>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // A negative pid addresses the group: the process and anything it forked.
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

let safetyNetInstalled = false;
function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  // Runs on normal exit and on process.exit(); `after` hooks that never ran
  // (a crashed test file) still leave no orphan kube-apiserver behind.
  process.on('exit', () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  });
  // Signals end Node without an 'exit' event unless handled. The test runner
  // sends SIGTERM to a file's process when the run is cancelled.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
      process.kill(process.pid, signal);
    });
  }
}

/** Starts `command` detached in a new process group, output to `logFile`. */
export function startProcess(options: StartOptions): ManagedProcess {
  installSafetyNet();
  const log = openSync(options.logFile, 'a');
  let child;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
  } finally {
    closeSync(log); // the child holds its own copy of the descriptor
  }
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`${options.name}: could not start ${options.command}`);
  }
  liveGroups.add(pid);
  // An unref'd child does not keep the test process alive: if teardown is
  // skipped, Node still exits and the 'exit' safety net kills the group.
  child.unref();

  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      // The leader is gone; anything it forked is killed with the group.
      killGroup(pid, 'SIGKILL');
      liveGroups.delete(pid);
      resolve(status);
    });
  });
  child.once('error', () => {
    /* reported through 'exit' */
  });

  const logTail = (lines = 30): string => {
    try {
      return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };

  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    exitStatus: () => status,
    logTail,
    async stop(graceMs = 5000) {
      if (status) return status;
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Describes how a process ended, for error messages. */
export function describeExit(status: ExitStatus): string {
  return status.signal ? `killed by ${status.signal}` : `exited with code ${status.code}`;
}

/**
 * Waits until one of `sources` has logged a line matching `pattern` (in its
 * last `lines` lines), for at most `timeoutMs`, then returns: the caller's
 * assertion reads the log and says what is missing. serve gathers its log
 * lines and writes them within a second (src/cli/logger.ts), so a line may
 * reach the file a moment after what it reports happened.
 */
export async function untilLogged(sources: ReadonlyArray<{ logTail(lines?: number): string }>, pattern: RegExp, { lines = 400, timeoutMs = 10_000 } = {}): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!sources.some((s) => pattern.test(s.logTail(lines))) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

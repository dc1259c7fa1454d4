/**
 * Starts `test/support/peers/python_server.py` with the venv that
 * `test/support/peers/setup-python.sh` made, and waits until it accepts connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The venv's python, by the same rule as setup-python.sh. */
export function pythonPath(): string {
  const cache = process.env.MCP_ADMISSION_CACHE || join(homedir(), '.cache', 'mcp-admission');
  return join(cache, 'python-venv', 'bin', 'python');
}

/** Throws, with the fix, when the venv is missing: the test must fail, never skip. */
export function requirePython(): string {
  const python = pythonPath();
  if (!existsSync(python)) {
    throw new Error(`Python MCP SDK venv not found at ${python}: run test/support/peers/setup-python.sh first`);
  }
  return python;
}

/** A free TCP port on 127.0.0.1 (uvicorn cannot report a port-0 bind to us). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`python peer exited ${child.exitCode}: ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`python peer did not listen on ${port} within ${timeoutMs} ms: ${stderr()}`);
}

/** A running python peer. */
export interface PythonPeer {
  baseUrl: string;
  close(): Promise<void>;
}

/** Starts the Python SDK server with `transport`. */
export async function startPythonServer(transport: 'sse' | 'streamable-http'): Promise<PythonPeer> {
  const python = requirePython();
  const port = await freePort();
  const script = join(import.meta.dirname, 'python_server.py');
  const child = spawn(python, [script, transport, '127.0.0.1', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  try {
    await waitForPort(port, child, 20_000, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

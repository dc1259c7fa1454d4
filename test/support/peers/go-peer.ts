/**
 * Real MCP servers built with the two Go SDKs users run — the official Go SDK
 * (`github.com/modelcontextprotocol/go-sdk`) and mcp-go
 * (`github.com/mark3labs/mcp-go`) — serving the legacy HTTP+SSE transport
 * (2024-11-05) or Streamable HTTP. The program is `test/tools/mcp-peer`, built
 * and cached by `test/tools/build.sh`; each peer is its own process, offering
 * `echo` (answers `text`) and `whoami` (answers its replica name).
 */
import { spawn } from 'node:child_process';
import { toolPath } from '../tools.ts';

export type GoSdk = 'official' | 'mcp-go';
export type GoTransport = 'sse' | 'streamable-http';

/** How to start one Go peer. */
export interface GoPeerOptions {
  sdk: GoSdk;
  transport: GoTransport;
  /** host:port; default 127.0.0.1:0 (a free port). */
  listen?: string;
  /** Endpoint path; default /mcp for streamable-http, /sse for sse. */
  path?: string;
  /** What `whoami` answers; default the listen address. */
  replica?: string;
  /** Streamable HTTP without sessions. */
  stateless?: boolean;
  /**
   * Accept any Host header although listening on loopback: both SDKs refuse a
   * non-localhost Host there (DNS-rebinding protection), which is what a proxy
   * in front on loopback sends.
   */
  anyHost?: boolean;
  /** Run inside this network namespace (`ip netns exec`), e.g. on a pod address of a test's own. */
  netns?: string;
}

/** A running Go peer. */
export interface GoPeer {
  sdk: GoSdk;
  transport: GoTransport;
  replica: string;
  /** The endpoint a client connects to: the SSE stream, or the Streamable HTTP endpoint. */
  url: string;
  /** `url` without its path. */
  baseUrl: string;
  /** SSE only: where the session's POSTs go (also what the endpoint event says, with a session id). */
  messagePath?: string;
  pid: number;
  /** SIGTERM; the peer closes every connection at once. */
  close(): Promise<void>;
}

interface ReadyLine {
  sdk: GoSdk;
  transport: GoTransport;
  replica: string;
  url: string;
  messagePath?: string;
}

const readyPrefix = 'mcp-peer ready ';

/** Starts one Go peer and resolves once it listens (its ready line), or rejects with its stderr. */
export async function startGoPeer(options: GoPeerOptions): Promise<GoPeer> {
  const args = ['--sdk', options.sdk, '--transport', options.transport, '--listen', options.listen ?? '127.0.0.1:0'];
  if (options.path) args.push('--path', options.path);
  if (options.replica) args.push('--replica', options.replica);
  if (options.stateless) args.push('--stateless');
  if (options.anyHost) args.push('--any-host');
  const binary = toolPath('mcp-peer');
  const [command, argv] = options.netns ? ['ip', ['netns', 'exec', options.netns, binary, ...args]] : [binary, args];
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    let stdout = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`mcp-peer ${args.join(' ')}: ${why}: ${stderr.trim()}`));
    };
    const timer = setTimeout(() => fail('no ready line within 10 s'), 10_000);
    const early = (code: number | null, signal: NodeJS.Signals | null) => fail(`exited (${code ?? signal}) before it was ready`);
    child.once('exit', early);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const end = stdout.indexOf('\n');
      if (end < 0) return;
      const line = stdout.slice(0, end);
      if (!line.startsWith(readyPrefix)) return fail(`unexpected output ${JSON.stringify(line)}`);
      clearTimeout(timer);
      child.removeListener('exit', early);
      resolve(JSON.parse(line.slice(readyPrefix.length)) as ReadyLine);
    });
  });

  return {
    ...ready,
    baseUrl: new URL(ready.url).origin,
    pid: child.pid!,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

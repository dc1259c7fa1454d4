/**
 * Legacy SSE sessions driven by the official MCP SDK clients, for the
 * front-door tests: the TypeScript SDK's Client over SSEClientTransport, in
 * this process, and the Python SDK's ClientSession over sse_client, in the
 * venv of test/support/peers/setup-python.sh. Each opens one session,
 * calls the Go peers' `whoami` tool (it answers the replica's name) `calls`
 * times, and reports what happened; nothing throws, since failing is what
 * some scenarios show.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { requirePython } from './peers/python-peer.ts';

/** What one session did. */
export interface SessionOutcome {
  client: 'typescript' | 'python';
  connected: boolean;
  ok: number;
  failed: number;
  /** Calls answered, by replica name. */
  replicas: Record<string, number>;
  /** The first error, shortened. */
  error: string | null;
}

export interface SessionOptions {
  calls: number;
  /** Seconds to keep the stream open and silent after the first call. */
  idleSeconds?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const short = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 300);

/** One session with the TypeScript SDK client. */
export async function typescriptSession(url: string, options: SessionOptions): Promise<SessionOutcome> {
  const outcome: SessionOutcome = { client: 'typescript', connected: false, ok: 0, failed: 0, replicas: {}, error: null };
  const client = new Client({ name: 'front-door-test', version: '1.0.0' });
  const transport = new SSEClientTransport(new URL(url));
  try {
    await withTimeout(client.connect(transport), 10_000, 'connect');
    outcome.connected = true;
    for (let i = 0; i < options.calls; i++) {
      if (i === 1 && options.idleSeconds) await sleep(options.idleSeconds * 1000);
      try {
        const result = (await client.callTool({ name: 'whoami', arguments: {} }, undefined, { timeout: 5000 })) as {
          content?: Array<{ text?: string }>;
          isError?: boolean;
        };
        const text = result.content?.[0]?.text ?? '';
        if (result.isError) throw new Error(text);
        outcome.ok += 1;
        outcome.replicas[text] = (outcome.replicas[text] ?? 0) + 1;
      } catch (err) {
        outcome.error ??= short(err);
      }
    }
  } catch (err) {
    outcome.error ??= short(err);
  } finally {
    await client.close().catch(() => undefined);
  }
  outcome.failed = options.calls - outcome.ok;
  return outcome;
}

/** One session with the Python SDK client. */
export async function pythonSession(url: string, options: SessionOptions): Promise<SessionOutcome> {
  const script = join(import.meta.dirname, 'peers', 'python_sse_client.py');
  const args = [script, url, String(options.calls), String(options.idleSeconds ?? 0)];
  const stdout = await new Promise<string>((resolve) => {
    execFile(requirePython(), args, { timeout: 120_000 }, (err, out, errOut) => {
      resolve(out.trim() || JSON.stringify({ connected: false, ok: 0, failed: options.calls, replicas: {}, error: short(errOut || err) }));
    });
  });
  const parsed = JSON.parse(stdout.split('\n').at(-1)!) as Omit<SessionOutcome, 'client'>;
  return { client: 'python', connected: parsed.connected, ok: parsed.ok, failed: parsed.failed, replicas: parsed.replicas, error: parsed.error };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Milliseconds from sending the SSE GET to the first byte of the body (the
 * `endpoint` event), and what that first chunk says. A proxy that buffers
 * the stream holds it back until the buffer fills, which on a quiet SSE
 * stream is never: then this rejects after `timeoutMs`.
 */
export async function firstByte(url: string, timeoutMs = 5000): Promise<{ ms: number; chunk: string; contentType: string | null }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const started = performance.now();
  try {
    const response = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    const ms = performance.now() - started;
    await reader.cancel().catch(() => undefined);
    return { ms, chunk: new TextDecoder().decode(value), contentType: response.headers.get('content-type') };
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

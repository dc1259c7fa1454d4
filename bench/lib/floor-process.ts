/**
 * What every floor webhook process of the benchmarks shares, so that the
 * bare floor (`floor-server.ts`) and the floor on the building blocks
 * (`blocks-floor-server.ts`) differ only in how they handle a review: the
 * command line, the fixed answer, and how the process listens and stops.
 *
 * Imports nothing but node: modules, so the bare floor's RSS stays Node's own.
 *
 * Command line: `CERT_FILE KEY_FILE [--port N] [--patch FILE]
 * [--server-options FILE]` and any options a floor adds.
 * - `--patch FILE` (a JSON Patch): what /mutate answers for a Deployment,
 *   base64 in `response.patch` with `patchType: JSONPatch` — what `serve`
 *   answers the API server for the bench Deployment (`bench/apiserver.ts`).
 * - `--server-options FILE`: TLS and connection settings (a JSON object
 *   handed to `https.createServer`, e.g. `serve`'s ciphers and timeouts);
 *   by default TLS 1.2+ with Node's ciphers and the timeouts below.
 */
import { readFileSync } from 'node:fs';
import { createServer, type ServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

export interface FloorArguments {
  certFile: string;
  keyFile: string;
  port: number;
  /** The patch for /mutate, base64 of its JSON; undefined: every path answers "allowed". */
  patch: string | undefined;
  settings: ServerOptions;
  /** The floor's own options, as parsed. */
  extra: Record<string, string | boolean | undefined>;
}

/** Parses the command line every floor takes, plus the floor's own string options `extra`. */
export function floorArguments(usage: string, extra: ParseArgsOptionsConfig = {}): FloorArguments {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { port: { type: 'string', default: '0' }, patch: { type: 'string' }, 'server-options': { type: 'string' }, ...extra },
  });
  const [certFile, keyFile] = positionals;
  if (!certFile || !keyFile) throw new Error(`usage: ${usage}`);
  const settings: ServerOptions = values['server-options']
    ? (JSON.parse(readFileSync(values['server-options'] as string, 'utf8')) as ServerOptions)
    : { minVersion: 'TLSv1.2', keepAliveTimeout: 65_000, headersTimeout: 10_000, requestTimeout: 30_000 };
  // The patch is encoded once: a fixed answer is all a floor gives.
  const patch = values.patch ? Buffer.from(JSON.stringify(JSON.parse(readFileSync(values.patch as string, 'utf8')))).toString('base64') : undefined;
  return { certFile, keyFile, port: Number(values.port), patch, settings, extra: values as FloorArguments['extra'] };
}

/**
 * The fixed answer, as JSON: the request's uid, allowed, and `patch` (base64)
 * when given: the floor has decided nothing.
 */
export function fixedAnswer(uid: string, patch: string | undefined): string {
  const response = patch !== undefined ? { uid, allowed: true, patchType: 'JSONPatch', patch } : { uid, allowed: true };
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
}

/**
 * Serves `handler` over HTTPS with the arguments' certificate and settings on
 * 127.0.0.1, prints `{"port":N}` on stdout once listening, and closes every
 * connection on SIGTERM.
 */
export function listenFloor(args: FloorArguments, handler: (req: IncomingMessage, res: ServerResponse) => void): void {
  const server = createServer({ ...args.settings, cert: readFileSync(args.certFile), key: readFileSync(args.keyFile) }, handler);
  server.listen(args.port, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  process.on('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}

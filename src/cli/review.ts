/**
 * `mcp-admission review -f FILE [--policy FILE] [-o yaml|json]`: the
 * decisions `serve` would make, offline. Each object goes through the
 * mutating path, the patch is applied, and the result through the validating
 * path, exactly as the API server chains the two webhooks.
 *
 * Exit codes: 0 every object allowed, 1 any denied, 2 bad input.
 */
import { readFile } from 'node:fs/promises';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { stringify } from 'yaml';
import { z } from 'zod';
import { DEFAULT_INSTALL_NAMESPACE } from '../contract.ts';
import { mutateRequest, validateRequest, type AdmissionDeps } from '../admission/admission.ts';
import { factsFromObjects } from '../admission/object-facts.ts';
import { findResource } from '../admission/resources.ts';
import type { AdmissionRequest } from '../admission/admission-review.ts';
import { parseManifests } from '../manifests/parse.ts';
import { loadPolicyFile } from '../settings/policy-file.ts';
import { staticSettings } from '../settings/static-source.ts';
import { flagUsage, parseConfig, type Flags } from './config.ts';

const REVIEW_FLAGS: Flags = {
  filename: { help: 'manifests to review, YAML or JSON, - for stdin', short: 'f' },
  policy: { help: 'MCPTransportPolicy objects to decide with (default: built-in defaults)' },
  output: { help: 'yaml or json (default yaml)', short: 'o' },
  'webhook-namespace': { help: `the webhook's own namespace, never judged (default ${DEFAULT_INSTALL_NAMESPACE})` },
};

const ReviewConfigShape = z.object({
  filename: z.string({ error: 'give -f FILE, or -f - for stdin' }),
  policy: z.string().optional(),
  output: z.enum(['yaml', 'json']).default('yaml'),
  webhookNamespace: z.string().default(DEFAULT_INSTALL_NAMESPACE),
});

const USAGE = `usage: mcp-admission review -f FILE|- [--policy FILE] [-o yaml|json] [--webhook-namespace NS]

${flagUsage(REVIEW_FLAGS)}
`;

/** One entry of `review -o json` (DESIGN.md "Command line"). */
export interface ReviewEntry {
  kind: string;
  namespace: string | null;
  name: string | null;
  allowed: boolean;
  patch: Operation[];
  /** What the patch changes, in words (the same lines `serve` logs). */
  changes: string[];
  object: unknown;
  denials: Array<{ field: string; message: string }>;
  warnings: string[];
}

/** Kinds judged against the rest of the input (their backend Services, their controller). */
const ROUTE_KINDS = new Set(['networking.k8s.io/v1 Ingress', 'gateway.networking.k8s.io/v1 HTTPRoute']);
const isRoute = (input: unknown): boolean => {
  const o = input as { apiVersion?: unknown; kind?: unknown };
  return ROUTE_KINDS.has(`${String(o?.apiVersion)} ${String(o?.kind)}`);
};

/**
 * Reviews parsed manifests with the webhook's own decision functions. Routes
 * (Ingress, HTTPRoute) are judged last, against the other objects as they
 * would be stored (the Services after their own mutation), as the webhook
 * judges them against its informer caches; unless `deps.facts` says otherwise.
 */
export function reviewObjects(objects: readonly unknown[], deps: AdmissionDeps): ReviewEntry[] {
  const entries: ReviewEntry[] = new Array(objects.length);
  const order = objects.map((input, index) => ({ input, index }));
  const others = order.filter(({ input }) => !isRoute(input));
  for (const { input, index } of others) entries[index] = reviewOne(input, index, deps);
  const facts = deps.facts ?? factsFromObjects([...others.map(({ index }) => entries[index]!.object), ...objects.filter(isRoute)]);
  for (const { input, index } of order.filter(({ input }) => isRoute(input))) entries[index] = reviewOne(input, index, { ...deps, facts });
  return entries;
}

function reviewOne(input: unknown, index: number, deps: AdmissionDeps): ReviewEntry {
  const object = input as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: string; namespace?: string } };
  if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
    throw new ReviewInputError(`object ${index + 1} has no apiVersion or kind`);
  }
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/', 2) : ['', object.apiVersion];
  const kind = { group: group ?? '', version: version ?? '', kind: object.kind };
  const namespace = object.metadata?.namespace ?? null;
  const entry: ReviewEntry = {
    kind: object.kind,
    namespace,
    name: object.metadata?.name ?? null,
    allowed: true,
    patch: [],
    changes: [],
    object: input,
    denials: [],
    warnings: [],
  };
  // Kinds the webhook is not configured for never reach it: allowed as they are.
  if (!findResource(kind)) return entry;

  const request = (obj: unknown): AdmissionRequest => ({
    uid: `review-${index + 1}`,
    kind,
    operation: 'CREATE',
    ...(namespace !== null && { namespace }),
    ...(entry.name !== null && { name: entry.name }),
    object: obj,
  });
  const mutation = mutateRequest(request(input), deps);
  if (mutation.decision === 'invalid') throw new ReviewInputError(`object ${index + 1}: ${mutation.result.status?.message}`);
  entry.patch = mutation.result.patch ?? [];
  entry.changes = mutation.changes ?? [];
  entry.object = fastJsonPatch.applyPatch(structuredClone(input), entry.patch, true, false).newDocument;
  const validation = validateRequest(request(entry.object), deps);
  entry.allowed = validation.result.allowed;
  entry.denials = (validation.result.status?.details?.causes ?? []).map(({ field, message }) => ({ field, message }));
  entry.warnings = validation.result.warnings ?? [];
  return entry;
}

export class ReviewInputError extends Error {}

export async function run(args: string[]): Promise<number> {
  let options: z.infer<typeof ReviewConfigShape>;
  try {
    options = parseConfig(REVIEW_FLAGS, ReviewConfigShape, args, process.env);
  } catch (err) {
    process.stderr.write(`mcp-admission review: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  try {
    const text = options.filename === '-' ? await readStdin() : await readFile(options.filename, 'utf8');
    const policies = options.policy ? await loadPolicyFile(options.policy) : [];
    const entries = reviewObjects(parseManifests(text, options.filename), {
      settings: staticSettings(policies),
      ownNamespace: options.webhookNamespace,
    });
    process.stdout.write(options.output === 'json' ? `${JSON.stringify(entries, null, 2)}\n` : stringify(entries, { aliasDuplicateObjects: false }));
    return entries.every((e) => e.allowed) ? 0 : 1;
  } catch (err) {
    process.stderr.write(`mcp-admission review: ${(err as Error).message}\n`);
    return 2;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

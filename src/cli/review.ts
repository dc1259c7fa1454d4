/**
 * `mcp-admission review -f FILE [--policy FILE] [-o yaml|json]`: the
 * decisions `serve` would make, offline. Each object goes through the
 * mutating path, the patch is applied, and the result through the validating
 * path, exactly as the API server chains the two webhooks.
 *
 * Exit codes: 0 every object allowed, 1 any denied, 2 bad input.
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import { DEFAULT_INSTALL_NAMESPACE } from '../contract.ts';
import type { AdmissionDeps } from '../admission/admission.ts';
import { factsFromObjects } from '../admission/object-facts.ts';
import { findResource } from '../admission/resources.ts';
import { decideOffline, kindOf, OfflineInputError, type OfflineDecision } from '../admission/offline.ts';
import { readManifestInputs } from '../manifests/inputs.ts';
import { parseManifests } from '../manifests/parse.ts';
import type { TransportPolicy } from '../policy/transport-policy.ts';
import { loadPolicyFile } from '../settings/policy-file.ts';
import { staticSettings, type NamespaceLabels } from '../settings/static-source.ts';
import { mergeNamespaceLabels, parseNamespaceLabels } from './namespace-labels.ts';
import { flagUsage, readCommandLine, type Flags } from './config.ts';

const REVIEW_FLAGS: Flags = {
  filename: { help: 'manifests to review: a file, a directory (its .yaml/.yml/.json), - for stdin; repeatable', short: 'f', multiple: true },
  recursive: { help: 'with a directory, its subdirectories too', short: 'R', type: 'boolean' },
  policy: { help: 'MCPTransportPolicy objects to decide with (default: built-in defaults)' },
  'namespace-labels': { help: 'NS=key=value,...: labels of a namespace, for label-selected policies; repeatable', multiple: true },
  cluster: { help: 'take policies and namespace labels from the cluster (current kubeconfig)', type: 'boolean' },
  kubeconfig: { help: 'with --cluster: this kubeconfig (default KUBECONFIG, ~/.kube/config, in-cluster)' },
  output: { help: 'yaml, json or table (default yaml)', short: 'o' },
  'webhook-namespace': { help: `the webhook's own namespace, never judged (default ${DEFAULT_INSTALL_NAMESPACE})` },
  help: { help: 'this help', short: 'h', type: 'boolean' },
};

const ReviewConfigShape = z.object({
  filename: z.array(z.string()).optional(),
  recursive: z.stringbool().default(false),
  policy: z.string().optional(),
  namespaceLabels: z.array(z.string()).default([]),
  cluster: z.stringbool().default(false),
  kubeconfig: z.string().optional(),
  output: z.enum(['yaml', 'json', 'table']).default('yaml'),
  webhookNamespace: z.string().default(DEFAULT_INSTALL_NAMESPACE),
  help: z.stringbool().default(false),
});

const USAGE = `usage: mcp-admission review -f FILE|DIR|- [-f ...] [-R] [--policy FILE | --cluster] [--namespace-labels NS=k=v,...]
                            [-o yaml|json|table] [--webhook-namespace NS]

Decides offline what the webhook would do to each object: the mutating
webhook's patch, then the validating webhook on the result. Namespace labels
for label-selected policies come from Namespace objects in the input,
--namespace-labels, or the cluster (--cluster).

${flagUsage(REVIEW_FLAGS)}

exit codes: 0 every object allowed, 1 any object denied, 2 bad input (no
objects, unreadable files, an invalid policy, or a policy whose
namespaceSelector cannot be evaluated for want of namespace labels)
`;

/**
 * One entry of `review -o json` (DESIGN.md "Command line"): which object,
 * then the decision on it, in the terms of the offline decision.
 */
export type ReviewEntry = { kind: string; namespace: string | null; name: string | null } & Pick<
  OfflineDecision,
  'allowed' | 'patch' | 'changes' | 'object' | 'denials' | 'wouldDeny' | 'warnings'
>;

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

/** One object through both webhooks (src/admission/offline.ts, as `audit` decides), named for the report. */
function reviewOne(input: unknown, index: number, deps: AdmissionDeps): ReviewEntry {
  const metadata = ((input as { metadata?: unknown }).metadata ?? {}) as { name?: string; namespace?: string };
  let decision: OfflineDecision;
  try {
    decision = decideOffline(input, deps, `review-${index + 1}`);
  } catch (err) {
    if (err instanceof OfflineInputError) throw new ReviewInputError(`object ${index + 1}: ${err.message}`);
    throw err;
  }
  const { allowed, patch, changes, object, denials, wouldDeny, warnings } = decision;
  return {
    kind: String((input as { kind?: unknown }).kind),
    namespace: metadata.namespace ?? null,
    name: metadata.name ?? null,
    allowed,
    patch,
    changes,
    object,
    denials,
    wouldDeny,
    warnings,
  };
}

export class ReviewInputError extends Error {}

export async function run(args: string[]): Promise<number> {
  const options = readCommandLine({ name: 'review', usage: USAGE, flags: REVIEW_FLAGS, shape: ReviewConfigShape }, args, process.env);
  if (typeof options === 'number') return options;
  const usageError = (message: string): number => {
    process.stderr.write(`mcp-admission review: ${message}\n\n${USAGE}`);
    return 2;
  };
  if (!options.filename?.length) return usageError('give -f FILE, or -f - for stdin');
  if (options.cluster && options.policy) return usageError('give --policy FILE or --cluster, not both');
  try {
    const inputs = await readManifestInputs(options.filename, { recursive: options.recursive, stdin: readStdin });
    const objects = inputs.flatMap(({ source, text }) => parseManifests(text, source));
    if (objects.length === 0) throw new ReviewInputError(`no objects in ${options.filename.join(', ')}`);

    let policies = options.policy ? await loadPolicyFile(options.policy) : [];
    let clusterLabels: NamespaceLabels = new Map();
    if (options.cluster) {
      const [{ loadKubeAccess }, { KubeClient }, { readClusterPolicies }] = await Promise.all([
        import('../kubernetes/kube-access.ts'),
        import('../kubernetes/kube-client.ts'),
        import('../settings/cluster-read.ts'),
      ]);
      const client = new KubeClient(await loadKubeAccess({ kubeconfig: options.kubeconfig }));
      const cluster = await readClusterPolicies(client).finally(() => client.access.close());
      policies = cluster.policies;
      clusterLabels = cluster.namespaces;
    }
    // The flag wins over the input, the input over the cluster: the manifests
    // say what the namespace will be once applied.
    const labels = mergeNamespaceLabels(clusterLabels, namespacesInInput(objects), parseNamespaceLabels(options.namespaceLabels));
    const unevaluable = unevaluableSelectors(objects, policies, labels, options.webhookNamespace);
    if (unevaluable) throw new ReviewInputError(unevaluable);

    const entries = reviewObjects(objects, { settings: staticSettings(policies, labels), ownNamespace: options.webhookNamespace });
    process.stdout.write(
      options.output === 'json'
        ? `${JSON.stringify(entries, null, 2)}\n`
        : options.output === 'table'
          ? reviewTable(entries)
          : stringify(entries, { aliasDuplicateObjects: false }),
    );
    return entries.every((e) => e.allowed) ? 0 : 1;
  } catch (err) {
    process.stderr.write(`mcp-admission review: ${(err as Error).message}\n`);
    return 2;
  }
}

/** Labels of the Namespace objects among the input. */
function namespacesInInput(objects: readonly unknown[]): Map<string, Record<string, string>> {
  const found = new Map<string, Record<string, string>>();
  for (const object of objects) {
    const o = object as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; labels?: unknown } };
    if (o.apiVersion === 'v1' && o.kind === 'Namespace' && typeof o.metadata?.name === 'string') {
      found.set(o.metadata.name, (o.metadata.labels ?? {}) as Record<string, string>);
    }
  }
  return found;
}

/**
 * Offline, a namespace's labels are known only when given. A policy that
 * selects namespaces by any other label than the name cannot be matched
 * against a namespace whose labels are unknown, and deciding as if it did
 * not match would say "allowed" where the cluster refuses: say so instead.
 */
function unevaluableSelectors(objects: readonly unknown[], policies: readonly TransportPolicy[], labels: NamespaceLabels, ownNamespace: string): string | undefined {
  const selecting = policies.filter((p) => {
    const selector = p.spec.namespaceSelector;
    if (!selector) return false;
    const keys = [...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((e) => e.key)];
    return keys.some((key) => key !== 'kubernetes.io/metadata.name');
  });
  if (selecting.length === 0) return undefined;
  const unknown = new Set<string>();
  for (const object of objects) {
    const o = object as { metadata?: { namespace?: string } };
    if (!findResource(kindOf(object) ?? { group: '', version: '', kind: '' })) continue;
    const namespace = o.metadata?.namespace ?? 'default';
    if (namespace !== ownNamespace && !labels.has(namespace)) unknown.add(namespace);
  }
  if (unknown.size === 0) return undefined;
  const names = [...unknown].sort();
  return (
    `cannot evaluate the namespaceSelector of MCPTransportPolicy ${selecting.map((p) => p.name).join(', ')} for namespace ${names.join(', ')}: ` +
    `its labels are unknown offline. Add its Namespace object to the input, pass --namespace-labels ${names[0]}=key=value,..., or use --cluster.`
  );
}

/** One row per object, then each problem with its fix, then a summary line. */
export function reviewTable(entries: readonly ReviewEntry[]): string {
  const verdict = (e: ReviewEntry) => (!e.allowed ? 'denied' : e.wouldDeny.length ? 'warned' : e.patch.length ? 'mutated' : 'allowed');
  const rows = [['NAMESPACE', 'KIND', 'NAME', 'RESULT', 'CHANGES', 'PROBLEMS'], ...entries.map((e) => [
    e.namespace ?? '', e.kind, e.name ?? '', verdict(e), String(e.changes.length), String(e.denials.length + e.wouldDeny.length),
  ])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('   ').trimEnd());
  const details: string[] = [];
  for (const e of entries) {
    const problems = [...e.denials, ...e.wouldDeny];
    if (problems.length === 0) continue;
    const what = e.allowed ? 'would be denied in mode validate (warned now)' : 'denied';
    details.push(`${e.kind.toLowerCase()}/${e.name} ${what}:\n${problems.map((p, i) => `  ${i + 1}. ${p.field}: ${p.message.replace(/\n/g, '\n     ')}`).join('\n')}`);
  }
  const count = (v: string) => entries.filter((e) => verdict(e) === v).length;
  const summary = `${entries.length} object${entries.length === 1 ? '' : 's'}: ${count('allowed')} allowed, ${count('mutated')} mutated, ${count('warned')} warned, ${count('denied')} denied`;
  return `${lines.join('\n')}\n${details.length ? `\n${details.join('\n\n')}\n` : ''}\n${summary}\n`;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * What the cluster settings source's caches hold for 1,000 policies and
 * 500 namespaces, as stored objects and as kept (`npm run
 * bench:policy-cache`, not a test; ~30 s on a built control plane).
 *
 * On the end-to-end harness's control plane: `bench:apiserver`'s policies
 * created by POST (the cluster default is applied by kubectl, so it carries
 * the last-applied annotation), each one's status written through the
 * status subresource as the status writer does, and namespaces with a
 * label. Then, in this process: the JSON size of the listed objects and of
 * their managedFields, and the heap that the parsed objects hold (one
 * parse per object, as watch events arrive), all of each object against
 * what `policyKept` / `namespaceKept` keep (heap used after two full
 * collections, `--expose-gc`).
 *
 * Flags: `--policies 1000`, `--namespaces 500`.
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadKubeAccess } from '../src/kubernetes/kube-access.ts';
import { KubeClient, PATCH } from '../src/kubernetes/kube-client.ts';
import { namespaceKept, policyKept } from '../src/settings/cached-objects.ts';
import { startE2E } from '../test/support/harness.ts';
import { transportPolicies } from './lib/scaling.ts';
import { fixed, markdownTable } from './lib/stats.ts';

const { values: flags } = parseArgs({ options: { policies: { type: 'string', default: '1000' }, namespaces: { type: 'string', default: '500' } } });
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc (npm run bench:policy-cache)');

type Listed = { items: Array<Record<string, any>> };

async function stored(): Promise<{ policies: Listed; namespaces: Listed }> {
  const env = await startE2E({ webhook: false });
  const client = new KubeClient(await loadKubeAccess({ kubeconfig: env.controlPlane.kubeconfig }));
  try {
    const path = '/apis/mcp-admission.dev/v1alpha1/mcptransportpolicies';
    const policies = transportPolicies(Number(flags.policies) + 1).slice(1) as Array<{ metadata: { name: string } }>;
    const inBatches = async <T>(items: T[], call: (item: T) => Promise<unknown>) => {
      for (let i = 0; i < items.length; i += 8) await Promise.all(items.slice(i, i + 8).map(call));
    };
    await inBatches(policies, (p) => client.create(path, p));
    const conditions = ['Accepted', 'Invalid', 'Conflicting'].map((type) => ({
      type,
      status: type === 'Accepted' ? 'True' : 'False',
      reason: 'Valid',
      message: 'In force.',
      observedGeneration: 1,
      lastTransitionTime: '2026-11-24T21:00:00Z',
    }));
    await inBatches(policies, (p) => client.patch(`${path}/${p.metadata.name}/status`, { status: { observedGeneration: 1, conditions } }, PATCH.merge));
    const names = Array.from({ length: Number(flags.namespaces) }, (_, i) => i);
    await inBatches(names, (i) => client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${i}`, labels: { team: `t${i % 7}` } } }));
    return { policies: await client.get<Listed>(path), namespaces: await client.get<Listed>('/api/v1/namespaces') };
  } finally {
    await client.access.close();
    await env.stop();
  }
}

/** Heap MB held by the objects of `list`, each parsed from its own JSON, whole or as `keep` keeps it. */
function heldMb(list: Listed, keep?: (object: Record<string, any>) => Record<string, any>): number {
  const texts = list.items.map((object) => JSON.stringify(object));
  gc!();
  gc!();
  const before = process.memoryUsage().heapUsed;
  const held = texts.map((text) => (keep ? keep(JSON.parse(text)) : JSON.parse(text)));
  gc!();
  gc!();
  const mb = (process.memoryUsage().heapUsed - before) / 1e6;
  if (held.length !== list.items.length) throw new Error('unreachable');
  return mb;
}

const { policies, namespaces } = await stored();
const json = (list: Listed, part?: (o: Record<string, any>) => unknown) => list.items.reduce((sum, o) => sum + (JSON.stringify(part ? part(o) : o)?.length ?? 0), 0) / 1e6;
const rows = [
  ['policies', policies, policyKept],
  ['namespaces', namespaces, namespaceKept],
] as const;
process.stdout.write(
  `The settings source's caches, stored against kept; ${availableParallelism()} CPUs, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n\n` +
    markdownTable(
      ['objects', 'count', 'JSON MB', 'of which managedFields', 'JSON MB as kept', 'heap MB held', 'heap MB held as kept'],
      rows.map(([what, list, keep]) => [
        what,
        String(list.items.length),
        fixed(json(list), 2),
        fixed(json(list, (o) => o.metadata?.managedFields), 2),
        fixed(json(list, keep as (o: Record<string, any>) => unknown), 2),
        fixed(heldMb(list), 2),
        fixed(heldMb(list, keep as (o: Record<string, any>) => Record<string, any>), 2),
      ]),
    ) +
    '\n',
);

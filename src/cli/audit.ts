/**
 * `mcp-admission audit [-n NS | -A] [-o table|json]`: every labelled
 * Deployment and Service in the cluster, with what the webhook would do to
 * it now: compliant, would mutate (the patch), would refuse (the fix).
 */
import { z } from 'zod';
import { auditObjects, auditSummary, unlabelledRoutes, type AuditEntry, type UnlabelledRoute } from '../admission/audit.ts';
import { DEFAULT_INSTALL_NAMESPACE, MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../contract.ts';
import { staticSettings } from '../settings/static-source.ts';
import { flagUsage, readCommandLine, type Flags } from './config.ts';

const AUDIT_FLAGS: Flags = {
  namespace: { help: 'one namespace (default: the kubeconfig context\'s, else "default")', short: 'n' },
  'all-namespaces': { help: 'every namespace', short: 'A', type: 'boolean' },
  output: { help: 'table or json (default table; json: one entry per object)', short: 'o' },
  kubeconfig: { help: 'the cluster (default: KUBECONFIG, ~/.kube/config, or in-cluster)' },
  'webhook-namespace': { help: `the webhook's own namespace, never judged (default ${DEFAULT_INSTALL_NAMESPACE})` },
  help: { help: 'this help', short: 'h', type: 'boolean' },
};

const AuditConfigShape = z
  .object({
    namespace: z.string().optional(),
    allNamespaces: z.stringbool().default(false),
    output: z.enum(['table', 'json']).default('table'),
    kubeconfig: z.string().optional(),
    webhookNamespace: z.string().default(DEFAULT_INSTALL_NAMESPACE),
    help: z.stringbool().default(false),
  })
  .refine((c) => !(c.namespace && c.allNamespaces), { message: 'give -n NAMESPACE or -A, not both' });

export const AUDIT_USAGE = `usage: mcp-admission audit [-n NAMESPACE | -A] [-o table|json] [--kubeconfig FILE]

Lists every Deployment and Service labelled ${MCP_COMPONENT_LABEL}=${MCP_COMPONENT_VALUE}
with what the webhook would do to it now, under the policies in the cluster:
compliant, would-mutate (with the patch), would-refuse (with each fix),
would-warn (mode warn: what validate would refuse, with each fix), not-judged;
and each unlabelled Ingress or HTTPRoute that routes to an SSE MCP Service
(unlabelled-route, with the label to add).

${flagUsage(AUDIT_FLAGS)}

exit codes: 0 nothing would be refused or warned, 1 some object would be
refused or warned or a route lacks the label, 2 bad input or the cluster could not be read
`;

const SELECTOR = `${MCP_COMPONENT_LABEL}=${MCP_COMPONENT_VALUE}`;

export async function run(args: string[]): Promise<number> {
  const values = readCommandLine({ name: 'audit', usage: AUDIT_USAGE, flags: AUDIT_FLAGS, shape: AuditConfigShape }, args, process.env);
  if (typeof values === 'number') return values;

  let entries: AuditEntry[];
  try {
    const [{ AppsV1Api, CoreV1Api, CustomObjectsApi, NetworkingV1Api }, { ObjectSerializer }, { readClusterPolicies }, { loadKubeConfig }, { loadKubeAccess }, { KubeClient }] = await Promise.all([
      import('@kubernetes/client-node'),
      // Not re-exported by the package index; the package has no exports map, so the path is public.
      import('@kubernetes/client-node/dist/serializer.js'),
      import('../settings/cluster-read.ts'),
      import('../kubernetes/kube-config.ts'),
      import('../kubernetes/kube-access.ts'),
      import('../kubernetes/kube-client.ts'),
    ]);
    const kubeConfig = loadKubeConfig({ kubeconfig: values.kubeconfig });
    const client = new KubeClient(await loadKubeAccess({ kubeconfig: values.kubeconfig }));
    const namespace = values.allNamespaces ? undefined : (values.namespace ?? (kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace || 'default'));
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const networking = kubeConfig.makeApiClient(NetworkingV1Api);
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const gateway = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };
    const [cluster, deployments, services, ingresses, httpRoutes] = await Promise.all([
      readClusterPolicies(client).finally(() => client.access.close()),
      namespace ? apps.listNamespacedDeployment({ namespace, labelSelector: SELECTOR }) : apps.listDeploymentForAllNamespaces({ labelSelector: SELECTOR }),
      namespace ? core.listNamespacedService({ namespace, labelSelector: SELECTOR }) : core.listServiceForAllNamespaces({ labelSelector: SELECTOR }),
      // Every route, labelled or not: the unlabelled ones to SSE servers are the finding.
      namespace ? networking.listNamespacedIngress({ namespace }) : networking.listIngressForAllNamespaces(),
      (namespace ? custom.listNamespacedCustomObject({ ...gateway, namespace }) : custom.listClusterCustomObject(gateway)).catch((err: unknown) => {
        // No Gateway API CRDs: no HTTPRoutes.
        if ((err as { code?: number }).code === 404) return { items: [] };
        throw err;
      }) as Promise<{ items?: unknown[] }>,
    ]);
    // Back to the JSON the API server sent (client-node's models rename some
    // fields), with the apiVersion and kind a list leaves out of its items.
    const objects = [
      ...deployments.items.map((d) => ({ ...ObjectSerializer.serialize(d, 'V1Deployment'), apiVersion: 'apps/v1', kind: 'Deployment' })),
      ...services.items.map((s) => ({ ...ObjectSerializer.serialize(s, 'V1Service'), apiVersion: 'v1', kind: 'Service' })),
    ];
    const deps = { settings: staticSettings(cluster.policies, cluster.namespaces), ownNamespace: values.webhookNamespace };
    entries = auditObjects(objects, deps);
    const routes = [
      ...ingresses.items.map((i) => ({ ...ObjectSerializer.serialize(i, 'V1Ingress'), apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' })),
      ...(httpRoutes.items ?? []).map((r) => ({ ...(r as object), kind: 'HTTPRoute' })),
    ];
    entries.push(...unlabelledRoutes(routes, objects, deps).map(routeEntry));
    entries.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  } catch (err) {
    process.stderr.write(`mcp-admission audit: ${(err as Error).message}\n`);
    return 2;
  }
  process.stdout.write(values.output === 'json' ? `${JSON.stringify(entries, null, 2)}\n` : auditTable(entries));
  return entries.some((e) => e.verdict === 'would-refuse' || e.verdict === 'would-warn' || e.verdict === 'unlabelled-route') ? 1 : 0;
}

/** An unlabelled route as an audit line: the fix is the label to add. */
function routeEntry(route: UnlabelledRoute): AuditEntry {
  return {
    ...route,
    verdict: 'unlabelled-route',
    mode: '',
    patch: [],
    changes: [],
    fixes: [{ field: 'metadata.labels', message: route.message }],
    warnings: [],
  };
}

/** A kubectl-style table, the detail of each object under it, and a summary line. */
export function auditTable(entries: readonly AuditEntry[]): string {
  const rows = [['NAMESPACE', 'KIND', 'NAME', 'MODE', 'VERDICT'], ...entries.map((e) => [e.namespace, e.kind, e.name, e.mode, e.verdict])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('   ').trimEnd());
  const details: string[] = [];
  for (const e of entries) {
    const target = `${e.kind.toLowerCase()}/${e.name} -n ${e.namespace}`;
    if (e.verdict === 'would-mutate') details.push(`${target} would be mutated: ${e.changes.join('; ')}\n  patch: ${JSON.stringify(e.patch)}`);
    if (e.verdict === 'would-refuse' || e.verdict === 'would-warn') {
      const what = e.verdict === 'would-refuse' ? 'would be refused' : 'would be refused in mode validate (warned now)';
      details.push(`${target} ${what}:\n${e.fixes.map((f, i) => `  ${i + 1}. ${f.field}: ${f.message.replace(/\n/g, '\n     ')}`).join('\n')}`);
    }
    if (e.verdict === 'unlabelled-route') details.push(`${target} ${e.fixes[0]!.message}`);
    if (e.verdict === 'not-judged') details.push(`${target} is not judged: ${e.reason}`);
  }
  return `${lines.join('\n')}\n${details.length ? `\n${details.join('\n\n')}\n` : ''}\n${auditSummary(entries)}\n`;
}

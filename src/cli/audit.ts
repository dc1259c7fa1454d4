/**
 * `mcp-admission audit [-n NS | -A] [-o table|json]`: every labelled
 * Deployment and Service in the cluster, with what the webhook would do to
 * it now: compliant, would mutate (the patch), would refuse (the fix).
 */
import { parseArgs } from 'node:util';
import { auditObjects, auditSummary, type AuditEntry } from '../admission/audit.ts';
import { MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../contract.ts';
import { staticSettings } from '../settings/static-source.ts';

export const AUDIT_USAGE = `usage: mcp-admission audit [-n NAMESPACE | -A] [-o table|json] [--kubeconfig FILE]

Lists every Deployment and Service labelled ${MCP_COMPONENT_LABEL}=${MCP_COMPONENT_VALUE}
with what the webhook would do to it now, under the policies in the cluster:
compliant, would-mutate (with the patch), would-refuse (with each fix),
would-warn (mode warn: what validate would refuse, with each fix), not-judged.

  -n, --namespace NS        one namespace (default: the kubeconfig context's, else "default")
  -A, --all-namespaces      every namespace
  -o, --output table|json   output format (default table; json: one entry per object)
  --kubeconfig FILE         the cluster (default: KUBECONFIG, ~/.kube/config, or in-cluster)
  --webhook-namespace NS    the webhook's own namespace, never judged (default mcp-admission)
  -h, --help                this help

exit codes: 0 nothing would be refused or warned, 1 some object would be
refused or warned, 2 bad input or the cluster could not be read
`;

const SELECTOR = `${MCP_COMPONENT_LABEL}=${MCP_COMPONENT_VALUE}`;

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        namespace: { type: 'string', short: 'n' },
        'all-namespaces': { type: 'boolean', short: 'A', default: false },
        output: { type: 'string', short: 'o', default: 'table' },
        kubeconfig: { type: 'string' },
        'webhook-namespace': { type: 'string', default: 'mcp-admission' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(AUDIT_USAGE);
    return 0;
  }
  if (values.namespace && values['all-namespaces']) return usageError('give -n NAMESPACE or -A, not both');
  if (values.output !== 'table' && values.output !== 'json') return usageError(`-o must be table or json, not ${JSON.stringify(values.output)}`);

  let entries: AuditEntry[];
  try {
    const [{ AppsV1Api, CoreV1Api, KubeConfig }, { ObjectSerializer }, { readClusterPolicies }] = await Promise.all([
      import('@kubernetes/client-node'),
      // Not re-exported by the package index; the package has no exports map, so the path is public.
      import('@kubernetes/client-node/dist/serializer.js'),
      import('../settings/cluster-read.ts'),
    ]);
    const kubeConfig = new KubeConfig();
    if (values.kubeconfig) kubeConfig.loadFromFile(values.kubeconfig);
    else kubeConfig.loadFromDefault();
    const namespace = values['all-namespaces'] ? undefined : (values.namespace ?? (kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace || 'default'));
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const [cluster, deployments, services] = await Promise.all([
      readClusterPolicies(kubeConfig),
      namespace ? apps.listNamespacedDeployment({ namespace, labelSelector: SELECTOR }) : apps.listDeploymentForAllNamespaces({ labelSelector: SELECTOR }),
      namespace ? core.listNamespacedService({ namespace, labelSelector: SELECTOR }) : core.listServiceForAllNamespaces({ labelSelector: SELECTOR }),
    ]);
    // Back to the JSON the API server sent (client-node's models rename some
    // fields), with the apiVersion and kind a list leaves out of its items.
    const objects = [
      ...deployments.items.map((d) => ({ ...ObjectSerializer.serialize(d, 'V1Deployment'), apiVersion: 'apps/v1', kind: 'Deployment' })),
      ...services.items.map((s) => ({ ...ObjectSerializer.serialize(s, 'V1Service'), apiVersion: 'v1', kind: 'Service' })),
    ];
    entries = auditObjects(objects, { settings: staticSettings(cluster.policies, cluster.namespaces), ownNamespace: values['webhook-namespace'] });
    entries.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  } catch (err) {
    process.stderr.write(`mcp-admission audit: ${(err as Error).message}\n`);
    return 2;
  }
  process.stdout.write(values.output === 'json' ? `${JSON.stringify(entries, null, 2)}\n` : auditTable(entries));
  return entries.some((e) => e.verdict === 'would-refuse' || e.verdict === 'would-warn') ? 1 : 0;
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
    if (e.verdict === 'not-judged') details.push(`${target} is not judged: ${e.reason}`);
  }
  return `${lines.join('\n')}\n${details.length ? `\n${details.join('\n\n')}\n` : ''}\n${auditSummary(entries)}\n`;
}

function usageError(message: string): number {
  process.stderr.write(`mcp-admission audit: ${message}\n\n${AUDIT_USAGE}`);
  return 2;
}

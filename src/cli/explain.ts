/**
 * `mcp-admission explain -n NAMESPACE`: the settings in force in a
 * namespace, each with the policy (or built-in default) it came from, the
 * mode, the bounds, and whether the namespace is exempt. From the cluster
 * (the current kubeconfig), or offline from `--policy FILE` and
 * `--namespace-labels`.
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import { DEFAULT_INSTALL_NAMESPACE } from '../contract.ts';
import { explainNamespace, type Explanation } from '../policy/explain.ts';
import { loadPolicyFile } from '../settings/policy-file.ts';
import { flagUsage, readCommandLine, type Flags } from './config.ts';
import { parseNamespaceLabels } from './namespace-labels.ts';

const EXPLAIN_FLAGS: Flags = {
  namespace: { help: 'the namespace to explain (required)', short: 'n' },
  output: { help: 'yaml or json (default yaml)', short: 'o' },
  kubeconfig: { help: 'read policies and namespace labels from this cluster (default: KUBECONFIG, ~/.kube/config, or in-cluster)' },
  policy: { help: 'offline: policies from a YAML/JSON file instead of a cluster' },
  'namespace-labels': { help: 'offline: NS=key=value,... labels of NS (repeatable), for label-selected policies', multiple: true },
  'webhook-namespace': { help: `the webhook's own namespace, never judged (default ${DEFAULT_INSTALL_NAMESPACE})` },
  help: { help: 'this help', short: 'h', type: 'boolean' },
};

const ExplainConfigShape = z
  .object({
    namespace: z.string().optional(),
    output: z.enum(['yaml', 'json']).default('yaml'),
    kubeconfig: z.string().optional(),
    policy: z.string().optional(),
    namespaceLabels: z.array(z.string()).default([]),
    webhookNamespace: z.string().default(DEFAULT_INSTALL_NAMESPACE),
    help: z.stringbool().default(false),
  })
  .refine((c) => c.help || c.namespace, { message: '-n NAMESPACE is required' })
  .refine((c) => !(c.policy && c.kubeconfig), { message: 'give --policy (offline) or --kubeconfig (a cluster), not both' })
  .refine((c) => c.policy || c.namespaceLabels.length === 0, { message: '--namespace-labels goes with --policy: a cluster has its own labels' });

export const EXPLAIN_USAGE = `usage: mcp-admission explain -n NAMESPACE [-o yaml|json] [--kubeconfig FILE]
       mcp-admission explain -n NAMESPACE --policy FILE [--namespace-labels NAMESPACE=key=value,...]

Prints the settings in force in NAMESPACE, each with the MCPTransportPolicy (or
built-in default) it came from, the mode, the bounds, and whether the namespace
is exempt or otherwise never judged.

${flagUsage(EXPLAIN_FLAGS)}

exit codes: 0 explained, 2 bad input or the cluster could not be read
`;

export async function run(args: string[]): Promise<number> {
  const values = readCommandLine({ name: 'explain', usage: EXPLAIN_USAGE, flags: EXPLAIN_FLAGS, shape: ExplainConfigShape }, args, process.env);
  if (typeof values === 'number') return values;
  const namespace = values.namespace ?? '';

  let explanation: Explanation;
  try {
    const options = { ownNamespace: values.webhookNamespace };
    if (values.policy) {
      const policies = await loadPolicyFile(values.policy);
      const labels = parseNamespaceLabels(values.namespaceLabels).get(namespace) ?? {};
      explanation = explainNamespace(policies, namespace, labels, options);
    } else {
      const [{ loadKubeAccess }, { KubeClient }, { readClusterPolicies }] = await Promise.all([
        import('../kubernetes/kube-access.ts'),
        import('../kubernetes/kube-client.ts'),
        import('../settings/cluster-read.ts'),
      ]);
      const client = new KubeClient(await loadKubeAccess({ kubeconfig: values.kubeconfig }));
      const cluster = await readClusterPolicies(client).finally(() => client.access.close());
      const labels = cluster.namespaces.get(namespace);
      if (!labels) process.stderr.write(`mcp-admission explain: namespace ${values.namespace} does not exist (yet); explaining it with no labels\n`);
      explanation = explainNamespace(cluster.policies, namespace, labels ?? {}, { ...options, invalid: cluster.invalid });
    }
  } catch (err) {
    process.stderr.write(`mcp-admission explain: ${(err as Error).message}\n`);
    return 2;
  }
  process.stdout.write(values.output === 'json' ? `${JSON.stringify(explanation, null, 2)}\n` : stringify(explanation));
  return 0;
}

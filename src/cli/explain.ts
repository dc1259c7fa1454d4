/**
 * `mcp-admission explain -n NAMESPACE`: the settings in force in a
 * namespace, each with the policy (or built-in default) it came from, the
 * mode, the bounds, and whether the namespace is exempt. From the cluster
 * (the current kubeconfig), or offline from `--policy FILE` and
 * `--namespace-labels`.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { explainNamespace, type Explanation } from '../policy/explain.ts';
import { loadPolicyFile } from '../settings/policy-file.ts';
import { parseNamespaceLabels } from './namespace-labels.ts';

export const EXPLAIN_USAGE = `usage: mcp-admission explain -n NAMESPACE [-o yaml|json] [--kubeconfig FILE]
       mcp-admission explain -n NAMESPACE --policy FILE [--namespace-labels NAMESPACE=key=value,...]

Prints the settings in force in NAMESPACE, each with the MCPTransportPolicy (or
built-in default) it came from, the mode, the bounds, and whether the namespace
is exempt or otherwise never judged.

  -n, --namespace NS        the namespace to explain (required)
  -o, --output yaml|json    output format (default yaml)
  --kubeconfig FILE         read policies and namespace labels from this cluster
                            (default: KUBECONFIG, ~/.kube/config, or in-cluster)
  --policy FILE             offline: policies from a YAML/JSON file instead of a cluster
  --namespace-labels NS=k=v,...
                            offline: labels of NS (repeatable), for label-selected policies
  --webhook-namespace NS    the webhook's own namespace, never judged (default mcp-admission)
  -h, --help                this help

exit codes: 0 explained, 2 bad input or the cluster could not be read
`;

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        namespace: { type: 'string', short: 'n' },
        output: { type: 'string', short: 'o', default: 'yaml' },
        kubeconfig: { type: 'string' },
        policy: { type: 'string' },
        'namespace-labels': { type: 'string', multiple: true, default: [] },
        'webhook-namespace': { type: 'string', default: 'mcp-admission' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(EXPLAIN_USAGE);
    return 0;
  }
  if (!values.namespace) return usageError('-n NAMESPACE is required');
  if (values.output !== 'yaml' && values.output !== 'json') return usageError(`-o must be yaml or json, not ${JSON.stringify(values.output)}`);
  if (values.policy && values.kubeconfig) return usageError('give --policy (offline) or --kubeconfig (a cluster), not both');
  if (!values.policy && values['namespace-labels'].length > 0) return usageError('--namespace-labels goes with --policy: a cluster has its own labels');

  let explanation: Explanation;
  try {
    const options = { ownNamespace: values['webhook-namespace'] };
    if (values.policy) {
      const policies = await loadPolicyFile(values.policy);
      const labels = parseNamespaceLabels(values['namespace-labels']).get(values.namespace) ?? {};
      explanation = explainNamespace(policies, values.namespace, labels, options);
    } else {
      const [{ KubeConfig }, { readClusterPolicies }] = await Promise.all([import('@kubernetes/client-node'), import('../settings/cluster-read.ts')]);
      const kubeConfig = new KubeConfig();
      if (values.kubeconfig) kubeConfig.loadFromFile(values.kubeconfig);
      else kubeConfig.loadFromDefault();
      const cluster = await readClusterPolicies(kubeConfig);
      const labels = cluster.namespaces.get(values.namespace);
      if (!labels) process.stderr.write(`mcp-admission explain: namespace ${values.namespace} does not exist (yet); explaining it with no labels\n`);
      explanation = explainNamespace(cluster.policies, values.namespace, labels ?? {}, { ...options, invalid: cluster.invalid });
    }
  } catch (err) {
    process.stderr.write(`mcp-admission explain: ${(err as Error).message}\n`);
    return 2;
  }
  process.stdout.write(values.output === 'json' ? `${JSON.stringify(explanation, null, 2)}\n` : stringify(explanation));
  return 0;
}

function usageError(message: string): number {
  process.stderr.write(`mcp-admission explain: ${message}\n\n${EXPLAIN_USAGE}`);
  return 2;
}

/**
 * One read of the cluster's policies and namespaces, for the commands that
 * answer once (`explain`, `audit`, `review --cluster`) rather than serve: the
 * same objects the webhook's informers hold, checked the same way.
 */
import { POLICY_GROUP, POLICY_PLURAL, POLICY_VERSION } from '../contract.ts';
import { statusCode } from '../kubernetes/api-error.ts';
import type { KubeClient } from '../kubernetes/kube-client.ts';
import type { Finding } from '../policy/finding.ts';
import { validateTransportPolicy, type TransportPolicy } from '../policy/transport-policy.ts';

export interface ClusterPolicies {
  /** Valid policies: those the webhook has in force. */
  policies: TransportPolicy[];
  /** Stored policies that fail the checks: the webhook ignores them. */
  invalid: Array<{ name: string; problems: Finding[] }>;
  /** Every namespace's labels, by name. */
  namespaces: Map<string, Record<string, string>>;
}

/** Lists policies (none when the CRD is not installed) and namespaces. */
export async function readClusterPolicies(client: KubeClient): Promise<ClusterPolicies> {
  type Listed = { metadata?: { name?: string; labels?: Record<string, string> } };
  const [list, namespaceList] = await Promise.all([
    client.get<{ items?: Listed[] }>(`/apis/${POLICY_GROUP}/${POLICY_VERSION}/${POLICY_PLURAL}`).catch((err: unknown) => {
      // No CRD: no policies, the built-in defaults serve (as in the webhook).
      if (statusCode(err) === 404) return { items: [] };
      throw err;
    }),
    client.get<{ items?: Listed[] }>('/api/v1/namespaces'),
  ]);
  const result: ClusterPolicies = { policies: [], invalid: [], namespaces: new Map() };
  for (const object of list.items ?? []) {
    const { policy, problems } = validateTransportPolicy(object);
    if (policy) result.policies.push(policy);
    else result.invalid.push({ name: object.metadata?.name ?? '', problems });
  }
  for (const namespace of namespaceList.items ?? []) {
    if (namespace.metadata?.name) result.namespaces.set(namespace.metadata.name, namespace.metadata.labels ?? {});
  }
  return result;
}

/**
 * The calls the LeaderElector (leader-election.ts) makes on one Lease
 * (`coordination.k8s.io/v1`); a missing Lease reads as undefined, a
 * conflict throws with `code` 409.
 */
import type { V1Lease } from '@kubernetes/client-node';
import { statusCode } from './api-error.ts';
import { apiPath, type KubeClient } from './kube-client.ts';
import type { LeaseApi } from './leader-election.ts';

/** The elector's calls for Lease `name` in `namespace`. */
export function clusterLeaseApi(client: KubeClient, namespace: string, name: string): LeaseApi {
  const leases = apiPath('/apis/coordination.k8s.io/v1', 'namespaces', namespace, 'leases');
  const lease = `${leases}${apiPath(name)}`;
  return {
    read: () =>
      client.get<V1Lease>(lease).catch((err: unknown) => {
        if (statusCode(err) === 404) return undefined;
        throw err;
      }),
    create: (body) => client.create<V1Lease>(leases, body),
    replace: (body) => client.replace<V1Lease>(lease, body),
  };
}

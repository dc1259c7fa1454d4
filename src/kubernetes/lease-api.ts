/**
 * The calls the LeaderElector (leader-election.ts) makes on one Lease, on
 * @kubernetes/client-node; a missing Lease reads as undefined.
 */
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { LeaseApi } from './leader-election.ts';

/** The elector's calls for Lease `name` in `namespace`. */
export function clusterLeaseApi(kubeConfig: KubeConfig, namespace: string, name: string): LeaseApi {
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  return {
    read: () =>
      coordination.readNamespacedLease({ name, namespace }).catch((err: unknown) => {
        if ((err as { code?: number }).code === 404) return undefined;
        throw err;
      }),
    create: (lease) => coordination.createNamespacedLease({ namespace, body: lease }),
    replace: (lease) => coordination.replaceNamespacedLease({ name, namespace, body: lease }),
  };
}

/**
 * {@link PolicyStatusApi} on our Kubernetes client: a JSON merge patch of
 * `.status` through the status subresource (so a status write can never
 * change the spec), and v1 Events.
 */
import { POLICY_GROUP, POLICY_PLURAL, POLICY_VERSION } from '../contract.ts';
import { apiPath, PATCH, type KubeClient } from '../kubernetes/kube-client.ts';
import type { PolicyStatusApi } from './policy-status-writer.ts';

export function clusterPolicyStatusApi(client: KubeClient): PolicyStatusApi {
  return {
    async patchStatus(name, status) {
      // Conditions are replaced whole: a merge patch replaces lists.
      await client.patch(apiPath(`/apis/${POLICY_GROUP}/${POLICY_VERSION}`, POLICY_PLURAL, name, 'status'), { status }, PATCH.merge);
    },
    async createEvent(event) {
      await client.create(apiPath('/api/v1', 'namespaces', event.metadata.namespace ?? 'default', 'events'), event);
    },
  };
}

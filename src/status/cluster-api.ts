/**
 * {@link PolicyStatusApi} over client-node: a JSON merge patch of
 * `.status` through the status subresource (so a status write can never
 * change the spec), and v1 Events.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { POLICY_GROUP, POLICY_PLURAL, POLICY_VERSION } from '../contract.ts';
import type { PolicyStatusApi } from './policy-status-writer.ts';

export function clusterPolicyStatusApi(kubeConfig: KubeConfig): PolicyStatusApi {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return {
    async patchStatus(name, status) {
      await custom.patchClusterCustomObjectStatus(
        // Conditions are replaced whole: a merge patch replaces lists.
        { group: POLICY_GROUP, version: POLICY_VERSION, plural: POLICY_PLURAL, name, body: { status } },
        mergePatch,
      );
    },
    async createEvent(event) {
      await core.createNamespacedEvent({ namespace: event.metadata.namespace ?? 'default', body: event });
    },
  };
}

/**
 * What one `probe --once` pass hands to the next: the Services it did not
 * reach before its deadline, so the next pass starts with them
 * (pass-order.ts). A CronJob pass is a new process, so this lives in a
 * ConfigMap in the prober's own namespace; losing it costs only fairness
 * for one pass, so every failure here is logged by the caller and ignored.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { apiStatus } from './retry.ts';

/** Where the keys of unreached Services are kept between passes. */
export interface PassState {
  load(): Promise<string[]>;
  save(unreached: readonly string[]): Promise<void>;
}

/** The ConfigMap's name; the prober's Role grants access to it alone. */
export const PASS_STATE_CONFIGMAP = 'mcp-admission-prober-pass';

/** Keys kept at most: a ConfigMap holds 1 MiB, a key at most 317 characters. */
export const MAX_CARRIED_OVER = 2000;

/** Nothing kept: each pass starts afresh (tests, `--watch`). */
export const NO_PASS_STATE: PassState = { load: async () => [], save: async () => {} };

/** {@link PassState} in a ConfigMap in `namespace`. */
export function configMapPassState(kubeConfig: KubeConfig, namespace: string): PassState {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    load: async () => {
      try {
        const configMap = await core.readNamespacedConfigMap({ namespace, name: PASS_STATE_CONFIGMAP });
        const parsed: unknown = JSON.parse(configMap.data?.unreached ?? '[]');
        return Array.isArray(parsed) ? parsed.filter((key): key is string => typeof key === 'string').slice(0, MAX_CARRIED_OVER) : [];
      } catch (err) {
        if (apiStatus(err) === 404) return [];
        throw err;
      }
    },
    save: async (unreached) => {
      const body = {
        metadata: { name: PASS_STATE_CONFIGMAP, namespace, labels: { 'app.kubernetes.io/name': 'mcp-admission', 'app.kubernetes.io/component': 'prober' } },
        data: { unreached: JSON.stringify(unreached.slice(0, MAX_CARRIED_OVER)) },
      };
      try {
        await core.replaceNamespacedConfigMap({ namespace, name: PASS_STATE_CONFIGMAP, body });
      } catch (err) {
        if (apiStatus(err) !== 404) throw err;
        await core.createNamespacedConfigMap({ namespace, body });
      }
    },
  };
}

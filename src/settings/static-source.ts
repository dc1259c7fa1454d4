/**
 * Settings from a fixed set of policies: none (built-in defaults) or those
 * read from a file. With no cluster to ask, a namespace's only label is the
 * one Kubernetes sets on every namespace, `kubernetes.io/metadata.name`.
 */
import type { SettingsSource } from '../admission/admission.ts';
import { resolveSettings, type TransportPolicy } from '../policy/transport-policy.ts';
import { ResolvedSettings } from './resolved-settings.ts';

export function staticSettings(policies: readonly TransportPolicy[] = []): SettingsSource {
  // The policies never change, but which namespaces exist is unknown here:
  // recent namespaces are kept in the shared bounded cache.
  const resolved = new ResolvedSettings({
    resolve: (namespace) => resolveSettings(policies, namespace, { 'kubernetes.io/metadata.name': namespace }),
  });
  return { settingsFor: (namespace) => resolved.get(namespace) };
}

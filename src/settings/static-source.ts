/**
 * Settings from a fixed set of policies: none (built-in defaults) or those
 * read from a file. With no cluster to ask, a namespace's only label is the
 * one Kubernetes sets on every namespace, `kubernetes.io/metadata.name`.
 */
import type { SettingsSource } from '../admission/admission.ts';
import type { TransportSettings } from '../policy/transport-settings.ts';
import { resolveSettings, type TransportPolicy } from '../policy/transport-policy.ts';

export function staticSettings(policies: readonly TransportPolicy[] = []): SettingsSource {
  // The policies never change, so each namespace is resolved once.
  const resolved = new Map<string, TransportSettings>();
  return {
    settingsFor(namespace) {
      let settings = resolved.get(namespace);
      if (!settings) {
        settings = resolveSettings(policies, namespace, { 'kubernetes.io/metadata.name': namespace });
        resolved.set(namespace, settings);
      }
      return settings;
    },
  };
}

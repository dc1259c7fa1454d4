/**
 * Settings from a fixed set of policies: none (built-in defaults) or those
 * read from a file. A namespace's labels are those given (from Namespace
 * objects, `--namespace-labels`, or a cluster read once), plus the one
 * Kubernetes sets on every namespace, `kubernetes.io/metadata.name`.
 */
import type { SettingsSource } from '../admission/admission.ts';
import { resolveSettings, type TransportPolicy } from '../policy/transport-policy.ts';
import { ResolvedSettings } from './resolved-settings.ts';

/** Labels of the namespaces known to a static source, by namespace name. */
export type NamespaceLabels = ReadonlyMap<string, Readonly<Record<string, string>>>;

export function staticSettings(policies: readonly TransportPolicy[] = [], namespaceLabels: NamespaceLabels = new Map()): SettingsSource {
  // The policies never change, but which namespaces exist is unknown here:
  // recent namespaces are kept in the shared bounded cache.
  const resolved = new ResolvedSettings({
    resolve: (namespace) =>
      resolveSettings(policies, namespace, { ...namespaceLabels.get(namespace), 'kubernetes.io/metadata.name': namespace }),
  });
  return { settingsFor: (namespace) => resolved.get(namespace) };
}

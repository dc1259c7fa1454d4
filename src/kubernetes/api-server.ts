/**
 * What kube-apiserver fills in and what it refuses, for the fields mcp-admission
 * reads or writes. Facts of the Kubernetes API, shared by the webhook's rules
 * and the prober; this module imports nothing.
 */

/** Namespace of a namespaced object that names none (metav1.NamespaceDefault). */
export const DEFAULT_NAMESPACE = 'default';

/** `terminationGracePeriodSeconds` of a pod that sets none (core/v1 DefaultTerminationGracePeriodSeconds). */
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;

/** `maxSurge` and `maxUnavailable` of a rolling update that sets none (pkg/apis/apps/v1/defaults.go). */
export const DEFAULT_MAX_SURGE = '25%';
export const DEFAULT_MAX_UNAVAILABLE = '25%';

/** Upper bound of `sessionAffinityConfig.clientIP.timeoutSeconds` (core/v1 MaxClientIPServiceAffinitySeconds). */
export const MAX_SESSION_AFFINITY_TIMEOUT_SECONDS = 86400;

/** True for an int-or-string that means zero: `0`, `"0"`, `"0%"` (as apps validation reads it). */
export function isZeroIntOrPercent(value: number | string | null | undefined): boolean {
  if (value === undefined || value === null) return false;
  return typeof value === 'number' ? value === 0 : /^0+%?$/.test(value.trim());
}

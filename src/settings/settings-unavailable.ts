/**
 * Thrown by a settings source asked for settings before it has any: the
 * cluster source before its first successful list of policies and
 * namespaces. Deciding with built-in defaults instead would ignore exempt
 * namespaces, modes and stricter bounds, so the review is answered 503 and
 * the webhook's failurePolicy decides.
 */
export class SettingsUnavailableError extends Error {
  override readonly name = 'SettingsUnavailableError';
}

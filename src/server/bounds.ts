/**
 * Bounds on what a client chooses and we repeat: names, kinds and messages
 * that go into logs and back into answers. A review can come from any pod
 * that reaches the webhook, and each of these strings can be megabytes.
 */

/** Kubernetes object names: DNS-1123 subdomains, at most 253 characters (apimachinery validation.DNS1123SubdomainMaxLength). */
export const MAX_NAME_LENGTH = 253;
/** Namespace names: DNS-1123 labels, at most 63 characters (validation.DNS1123LabelMaxLength). */
export const MAX_NAMESPACE_LENGTH = 63;
/** Longest client-chosen string written to a log field. */
export const MAX_LOGGED_LENGTH = 256;
/** Longest error message sent back (not a denial: those are our findings, bounded by the names in them). */
export const MAX_ERROR_MESSAGE_LENGTH = 1024;

/** `text` cut to `max` characters, saying how much was cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `… (${text.length} characters)`;
  return `${text.slice(0, Math.max(0, max - note.length))}${note}`;
}

/** A string field for a log line: clipped; anything else as it is. */
export function loggable<T>(value: T): T | string {
  return typeof value === 'string' ? clip(value, MAX_LOGGED_LENGTH) : value;
}

/**
 * Why a review's names cannot belong to any object the API server would
 * store, or undefined. Such a review reaches a mutating webhook only for a
 * create the API server refuses right after (it validates names after
 * mutating admission), or from a client that is not the API server: a 400
 * loses nothing, and nothing longer is repeated in answers or logs.
 */
export function identifierProblem(request: { name?: string | undefined; namespace?: string | undefined; object?: unknown }): string | undefined {
  const metadata = (request.object as { metadata?: { name?: unknown; namespace?: unknown } } | undefined)?.metadata;
  // Checked in this order, first problem reported; straight-line, as this runs on every review.
  return (
    lengthProblem('request.name', request.name, MAX_NAME_LENGTH) ??
    lengthProblem('request.object.metadata.name', metadata?.name, MAX_NAME_LENGTH) ??
    lengthProblem('request.namespace', request.namespace, MAX_NAMESPACE_LENGTH) ??
    lengthProblem('request.object.metadata.namespace', metadata?.namespace, MAX_NAMESPACE_LENGTH)
  );
}

function lengthProblem(field: string, value: unknown, max: number): string | undefined {
  if (typeof value !== 'string' || value.length <= max) return undefined;
  return `${field} is ${value.length} characters long; Kubernetes ${max === MAX_NAME_LENGTH ? 'names' : 'namespace names'} are at most ${max}`;
}

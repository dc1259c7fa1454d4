/**
 * `--namespace-labels NS=key=value,key=value` (repeatable): the labels of
 * namespaces a command cannot read from a cluster, so label-selected
 * policies are matched offline as the webhook matches them.
 */
import type { NamespaceLabels } from '../settings/static-source.ts';

export class NamespaceLabelsError extends Error {}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Parses every `--namespace-labels` value into labels by namespace; later values add to earlier ones. */
export function parseNamespaceLabels(values: readonly string[]): Map<string, Record<string, string>> {
  const result = new Map<string, Record<string, string>>();
  for (const value of values) {
    const at = value.indexOf('=');
    const namespace = at < 0 ? value : value.slice(0, at);
    if (!DNS_LABEL.test(namespace)) {
      throw new NamespaceLabelsError(`--namespace-labels ${JSON.stringify(value)}: expected NAMESPACE=key=value[,key=value...], and "${namespace}" is not a namespace name`);
    }
    const labels = result.get(namespace) ?? {};
    const rest = at < 0 ? '' : value.slice(at + 1);
    for (const pair of rest.split(',').filter((p) => p !== '')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new NamespaceLabelsError(`--namespace-labels ${JSON.stringify(value)}: "${pair}" is not key=value`);
      labels[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    result.set(namespace, labels);
  }
  return result;
}

/** Namespace labels from both places, the flag winning over the input per key. */
export function mergeNamespaceLabels(...sources: NamespaceLabels[]): Map<string, Record<string, string>> {
  const merged = new Map<string, Record<string, string>>();
  for (const source of sources) for (const [ns, labels] of source) merged.set(ns, { ...merged.get(ns), ...labels });
  return merged;
}

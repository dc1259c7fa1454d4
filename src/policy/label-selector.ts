/**
 * Kubernetes label selectors (metav1.LabelSelector): shape, validation with
 * field paths, and matching. Used by MCPTransportPolicy's namespaceSelector.
 */
import { z } from 'zod';
import type { Finding } from './finding.ts';

export const LabelSelectorShape = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
export type LabelSelector = z.infer<typeof LabelSelectorShape>;

// Label syntax as apimachinery validates it: an optional DNS-subdomain prefix,
// then a name of at most 63 characters; values up to 63 characters or empty.
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  if (slash === -1) return LABEL_NAME.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix) && LABEL_NAME.test(key.slice(slash + 1));
}

/** Problems the schema cannot see: label syntax and operator/values agreement. */
export function labelSelectorProblems(selector: LabelSelector, field: string): Finding[] {
  const problems: Finding[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!isLabelKey(key)) problems.push({ rule: 'policy-selector', field: `${field}.matchLabels`, message: `"${key}" is not a valid label key.` });
    if (!LABEL_VALUE.test(value))
      problems.push({ rule: 'policy-selector', field: `${field}.matchLabels[${key}]`, message: `"${value}" is not a valid label value.` });
  }
  (selector.matchExpressions ?? []).forEach((expression, i) => {
    const at = `${field}.matchExpressions[${i}]`;
    if (!isLabelKey(expression.key)) problems.push({ rule: 'policy-selector', field: `${at}.key`, message: `"${expression.key}" is not a valid label key.` });
    const values = expression.values ?? [];
    const needsValues = expression.operator === 'In' || expression.operator === 'NotIn';
    if (needsValues && values.length === 0)
      problems.push({ rule: 'policy-selector', field: `${at}.values`, message: `operator ${expression.operator} needs at least one value, e.g. values: ["team-a"].` });
    if (!needsValues && values.length > 0)
      problems.push({ rule: 'policy-selector', field: `${at}.values`, message: `operator ${expression.operator} takes no values; remove them.` });
    values.forEach((value, j) => {
      if (!LABEL_VALUE.test(value)) problems.push({ rule: 'policy-selector', field: `${at}.values[${j}]`, message: `"${value}" is not a valid label value.` });
    });
  });
  return problems;
}

/** Whether `labels` satisfy `selector`; an empty selector matches everything. */
export function labelSelectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  // Own labels only: `labels.constructor` on a plain object is Object's, not a label.
  const label = (key: string): string | undefined => (Object.hasOwn(labels, key) ? labels[key] : undefined);
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (label(key) !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((expression) => {
    const value = label(expression.key);
    switch (expression.operator) {
      case 'In':
        return value !== undefined && (expression.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(expression.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
    }
  });
}

/** How many requirements a selector has: the measure of "most specific". */
export function selectorSpecificity(selector: LabelSelector | undefined): number {
  if (!selector) return 0;
  return Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions ?? []).length;
}

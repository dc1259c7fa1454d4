/**
 * The order of policy names for the tie rule ("ties go to the policy whose
 * name sorts first", transport-policy.ts): `String.prototype.localeCompare`'s
 * order, without its cost where it cannot differ.
 *
 * `localeCompare` compares through ICU's collator, and its first call pages
 * in ICU's collation data from the node binary, resident for the life of the
 * process: 2.0-2.2 MB of serve's steady RSS with 1,000 cluster policies, 4 MB
 * in a bare process (BENCHMARKS.md, "serve's steady RSS over the blocks
 * floor, by part"), paid as soon as two policies tie on a namespace. A cluster policy's name is a DNS subdomain (lowercase
 * letters, digits, `-` and `.`, as the API server validates metadata.name),
 * and on those characters the root collation's order is the order of their
 * code units: `-` and `.` are punctuation, below digits, below letters, each
 * group in code-unit order (test/unit/policy/name-order.test.ts holds the two
 * together). Names outside that alphabet (a policy file's names are not
 * checked) still go through `localeCompare`, so the order is the same for
 * every name.
 */

/** Lowercase letters, digits, `-` and `.`: where code-unit order is the collator's. */
const CODE_UNIT_ORDERED = /^[a-z0-9.-]*$/;

/** Compares two policy names as `a.localeCompare(b)` does (its sign). */
export function compareNames(a: string, b: string): number {
  if (CODE_UNIT_ORDERED.test(a) && CODE_UNIT_ORDERED.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return a.localeCompare(b);
}

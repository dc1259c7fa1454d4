/**
 * A watch event's text without its managed fields, for an informer whose
 * cache drops them anyway (cluster-facts.ts: withoutBookkeeping,
 * deploymentFacts; controller-runtime's cache.TransformStripManagedFields
 * drops them after decoding).
 *
 * `metadata.managedFields` is some 45% of a stored Deployment's JSON (2.3
 * of 5.2 KB for the bench Deployment, test/fixtures/watch-event-deployment.json)
 * and most of its distinct keys: every `f:…` and `k:{…}` of `fieldsV1` is
 * a property name JSON.parse looks up in V8's string table and a map
 * transition it finds or makes, which is where a watch event's parse
 * spends its time (`npm run bench:apiserver -- --perf`: StringTable
 * lookups and transitions lead the API client's samples). The API server
 * has no way to leave them out of a watch, so they are cut from the text.
 *
 * Only what is surely a `managedFields` member whose value is an array is
 * cut. In JSON text every `"` inside a string is escaped, so the quote
 * after `managedFields` in `"managedFields":[` ends a string, and that
 * string is the key itself only when its opening quote opens it: when the
 * character before it is the `{` or `,` that comes before a member. A
 * quote with a backslash before it belongs to a longer key (a tenant's
 * `a"managedFields` is written `"a\"managedFields":[`), which stays. The
 * array is skipped string-aware to its matching bracket. Go's encoder (the
 * API server's) writes no whitespace; a member written otherwise stays,
 * and text whose array does not end is handed back as it is, for
 * JSON.parse to refuse as it would have.
 */
import { COMMA, OPEN_BRACE, nestedEnd } from './json-text.ts';

const KEY = '"managedFields":[';

/** The index of the next `"managedFields":[` from `from` that opens a member (after `{` or `,`), or -1. */
function memberAt(text: string, from: number): number {
  for (let at = text.indexOf(KEY, from); at >= 0; at = text.indexOf(KEY, at + 1)) {
    const before = text.charCodeAt(at - 1);
    if (before === OPEN_BRACE || before === COMMA) return at;
  }
  return -1;
}

/** `text` (one JSON value) with every `managedFields` member whose value is an array left out; see the module comment. */
export function withoutManagedFieldsText(text: string): string {
  let at = memberAt(text, 0);
  if (at < 0) return text;
  let out = '';
  let from = 0;
  while (at >= 0) {
    const end = nestedEnd(text, at + KEY.length - 1);
    if (end < 0) return text;
    // The member and one comma beside it: the one after it, or before it when it is the last.
    let cutFrom = at;
    let cutTo = end;
    if (text.charCodeAt(cutTo) === COMMA) cutTo++;
    else if (text.charCodeAt(cutFrom - 1) === COMMA) cutFrom--;
    out += text.slice(from, cutFrom);
    from = cutTo;
    at = memberAt(text, cutTo);
  }
  return out + text.slice(from);
}

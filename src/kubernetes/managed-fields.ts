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

const KEY = '"managedFields":[';
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** The index of the quote closing the string opened at `open`, or -1. A quote after an odd number of backslashes is escaped. */
export function stringEnd(text: string, open: number): number {
  for (let at = text.indexOf('"', open + 1); at >= 0; at = text.indexOf('"', at + 1)) {
    let backslashes = 0;
    for (let b = at - 1; text.charCodeAt(b) === BACKSLASH; b--) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return -1;
}

/** The index just past the bracket or brace closing the array or object opened at `open`, or -1. */
export function nestedEnd(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(text, i);
      if (i < 0) return -1;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) depth++;
    else if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && --depth === 0) return i + 1;
  }
  return -1;
}

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

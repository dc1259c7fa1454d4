/**
 * A watch event's text cut down to the members its informer reads, before
 * it is parsed: for an informer whose transform keeps a few fields of each
 * object (cluster-facts.ts: `deploymentFacts` keeps a Deployment's name,
 * namespace, version, annotations and pod-template labels).
 *
 * Every labelled Deployment serve admits comes back to it as a watch event
 * (ADDED for a create, MODIFIED for an update), and `JSON.parse` of the
 * event was most of what that event cost serve beyond reading it off the
 * socket (BENCHMARKS.md, "What an update costs serve over the blocks
 * floor"): even without its managed fields (managed-fields.ts) a stored
 * Deployment is some 2.9 KB of JSON, mostly the pod spec, every key of it a
 * name looked up in V8's string table and a map transition, and every value
 * an allocation, all garbage once the transform has run. Here the text is
 * walked once, the values not asked for are skipped string-aware to their
 * ends (no decoding, no allocation), and only the text of the members asked
 * for is handed to `JSON.parse`, which decodes them as it would have.
 *
 * The result parses to what the whole text parses to, on the members asked
 * for: each is kept with its value's text as it is (a member named for
 * descent whose value is not an object, whole), every occurrence of a
 * duplicated key in order (so the last still wins), and the nesting as it
 * was. What it does not do is say anything about the values it skips: text
 * that is not JSON only in a member nobody reads is read for the members
 * that are (as managed-fields.ts reads around the array it cuts). The API
 * server's encoder writes no whitespace and escapes no letter of a key; text
 * written otherwise (whitespace between members, a key with a backslash:
 * `"n\u0061me"` is `name` once decoded) is not cut: `pickedMembersText`
 * answers undefined and the caller parses it whole, as before.
 */
import { CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE, nestedEnd, stringEnd } from './json-text.ts';

/** The members to keep, by name: `true` keeps the value whole, a nested set keeps only its members of an object value. */
export interface Members {
  readonly [name: string]: true | Members;
}

/** The index just past the value starting at `at` (a string, an array, an object or a literal), or -1. */
function valueEnd(text: string, at: number): number {
  const c = text.charCodeAt(at);
  if (c === QUOTE) {
    const end = stringEnd(text, at);
    return end < 0 ? -1 : end + 1;
  }
  if (c === OPEN_BRACE || c === OPEN_BRACKET) return nestedEnd(text, at);
  // A number, true, false or null: up to what follows a value.
  let i = at;
  for (let d = text.charCodeAt(i); i < text.length && d !== COMMA && d !== CLOSE_BRACE && d !== CLOSE_BRACKET; d = text.charCodeAt(++i));
  return i === at ? -1 : i;
}

/** The picked text of the object opened at `open`, and the index just past it; undefined when the text is not written as expected. */
function pickObject(text: string, open: number, members: Members): { text: string; end: number } | undefined {
  let out = '';
  let i = open + 1;
  if (text.charCodeAt(i) === CLOSE_BRACE) return { text: '{}', end: i + 1 };
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0 || text.charCodeAt(keyEnd + 1) !== COLON) return undefined;
    const key = text.slice(i + 1, keyEnd);
    // An escaped key is compared once decoded: the whole text is parsed instead.
    if (key.includes('\\')) return undefined;
    const at = keyEnd + 2;
    const wanted = Object.hasOwn(members, key) ? members[key] : undefined;
    let end: number;
    if (wanted !== undefined && wanted !== true && text.charCodeAt(at) === OPEN_BRACE) {
      const inner = pickObject(text, at, wanted);
      if (!inner) return undefined;
      out += `${out ? ',' : ''}${text.slice(i, at)}${inner.text}`;
      end = inner.end;
    } else {
      end = valueEnd(text, at);
      if (end < 0) return undefined;
      if (wanted !== undefined) out += `${out ? ',' : ''}${text.slice(i, end)}`;
    }
    const next = text.charCodeAt(end);
    if (next === CLOSE_BRACE) return { text: `{${out}}`, end: end + 1 };
    if (next !== COMMA) return undefined;
    i = end + 1;
  }
}

/**
 * The text of the JSON object `text` with only the `members` asked for, at
 * any depth; undefined when `text` is not an object written as the API
 * server writes one (then parse it whole). See the module comment.
 */
export function pickedMembersText(text: string, members: Members): string | undefined {
  if (text.charCodeAt(0) !== OPEN_BRACE) return undefined;
  const picked = pickObject(text, 0, members);
  return picked && picked.end === text.length ? picked.text : undefined;
}

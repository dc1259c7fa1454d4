/**
 * Reading JSON text without parsing it: the scanners that cut a watch
 * event's text before JSON.parse sees it (managed-fields.ts, which leaves
 * out the managed fields; picked-members.ts, which keeps only the members an
 * informer reads). Both walk the API server's encoding (Go's encoder: no
 * whitespace, every `"` inside a string escaped) and skip values
 * string-aware, without decoding them.
 */

/** Character codes of JSON's structure. */
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COLON = 0x3a;
export const COMMA = 0x2c;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;

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

/**
 * The `time` field of every log line, written as pino's
 * `stdTimeFunctions.isoTime` writes it (`,"time":"2026-11-24T18:19:02.123Z"`)
 * without building a Date and an ISO string for each line: the part up to
 * the second is built once a second and the milliseconds appended. pino's
 * function was 12 ms of serve's CPU over 400 creates through the API server
 * (BENCHMARKS.md, "Against a floor webhook, again"). The same text at every
 * instant Date can represent: test/unit/cli/log-time.test.ts holds the two
 * together, pino's own function as the reference.
 */

/** Start of the cached second, ms since the epoch; NaN until the first line. */
let cachedSecond = NaN;
/** `,"time":"` and the ISO time up to and including the `.` before the milliseconds. */
let cachedPrefix = '';

/**
 * A pino `timestamp` function: `,"time":"<ISO-8601 UTC, milliseconds>"`.
 * `now` is for tests; pino calls it with none, and the clock is read through
 * `Date.now`, as pino's own does, so fake timers move it.
 */
export function isoTime(now: number = Date.now()): string {
  // Date keeps whole milliseconds, truncated toward zero (ECMAScript TimeClip).
  const ms = Math.trunc(now);
  const second = Math.floor(ms / 1000) * 1000;
  if (second !== cachedSecond) {
    const iso = new Date(second).toISOString();
    // Always ends `.000Z`; years past 9999 make the front longer, never the end.
    cachedPrefix = `,"time":"${iso.slice(0, iso.length - 4)}`;
    cachedSecond = second;
  }
  const milli = ms - second;
  return `${cachedPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z"`;
}

/**
 * Percentiles and Markdown tables for the benchmarks that report latency
 * distributions from plain arrays (every benchmark).
 */

/** The p-th percentile (nearest rank) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** Ascending copy. */
export function sorted(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return values.length ? sum / values.length : NaN;
}

export const fixed = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** A Markdown table with padded columns (readable as plain text too). */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (c ?? '').padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/**
 * mulberry32: a small seeded generator of uniform numbers in [0, 1). The
 * bootstrap draws from it so that the same samples always print the same
 * interval.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A run's samples: one array per group (e.g. per configuration), in the same order in every run. */
export type RunSamples = readonly (readonly number[])[];

export interface Interval {
  low: number;
  high: number;
}

/**
 * Percentile-bootstrap interval of a statistic of several groups of samples
 * from one or more runs (e.g. serve's added latency over the floor's, from
 * the latencies of none, the floor and serve).
 *
 * Each of `iterations` rounds draws as many runs as there are, with
 * replacement (with one run: that run), redraws every group's samples
 * within each drawn run with replacement, pools each group over the drawn
 * runs and computes `statistic` on the pooled groups, each sorted
 * ascending. The interval is the central `confidence` share of those
 * values. Drawing runs as well as samples carries the spread between runs
 * into the interval, which samples from one run cannot show: samples taken
 * minutes apart on one machine are not independent, and a single run's
 * interval is the least the uncertainty can be, not the most.
 */
export function bootstrapInterval(
  runs: readonly RunSamples[],
  statistic: (groups: Float64Array[]) => number,
  { iterations = 2000, confidence = 0.95, seed = 1 }: { iterations?: number; confidence?: number; seed?: number } = {},
): Interval {
  if (runs.length === 0) return { low: NaN, high: NaN };
  const random = seededRandom(seed);
  const groupCount = runs[0]!.length;
  const values: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const drawn = runs.length === 1 ? runs : runs.map(() => runs[Math.floor(random() * runs.length)]!);
    const pooled: Float64Array[] = [];
    for (let g = 0; g < groupCount; g++) {
      const size = drawn.reduce((n, run) => n + run[g]!.length, 0);
      const out = new Float64Array(size);
      let at = 0;
      for (const run of drawn) {
        const samples = run[g]!;
        for (let k = 0; k < samples.length; k++) out[at++] = samples[Math.floor(random() * samples.length)]!;
      }
      pooled.push(out.sort());
    }
    const value = statistic(pooled);
    if (Number.isFinite(value)) values.push(value);
  }
  if (values.length === 0) return { low: NaN, high: NaN };
  const ordered = Float64Array.from(values).sort();
  const tail = ((1 - confidence) / 2) * 100;
  return { low: percentile(ordered, tail), high: percentile(ordered, 100 - tail) };
}

/**
 * Whether a ratio with its interval meets a ceiling: met when the whole
 * interval is at or under it, missed when the whole interval is over it,
 * and undecided when the interval holds the target, where one more run
 * could go either way.
 */
export function judge(interval: Interval, target: number): 'met' | 'MISSED' | 'undecided' {
  if (interval.high <= target) return 'met';
  if (interval.low > target) return 'MISSED';
  return 'undecided';
}

/**
 * A CPU ratio net of idle (the paced phase: what a process burns in its
 * window less what it burns idle over the same time), judged against its
 * target only when both nets are above zero. Seconds apart, a few
 * operations' CPU is within the idle figure's own spread, and a net at or
 * below zero says the idle baseline did not hold, not that a target was met.
 */
export function judgeNetOfIdle(subjectNet: number, referenceNet: number, target: number): 'met' | 'MISSED' | 'not judged: net of idle at or below zero' {
  if (!(subjectNet > 0 && referenceNet > 0)) return 'not judged: net of idle at or below zero';
  return subjectNet / referenceNet <= target ? 'met' : 'MISSED';
}

/** `1.13 [1.02–1.25]`. */
export const withInterval = (value: number, interval: Interval, digits = 2): string => `${fixed(value, digits)} [${fixed(interval.low, digits)}–${fixed(interval.high, digits)}]`;

/**
 * The statistic of issue 13's latency targets on groups [none, reference,
 * subject], each sorted ascending: what the subject adds over none at the
 * p-th percentile, over what the reference adds (serve's added latency over
 * the floor's).
 */
export const addedRatio =
  (p: number) =>
  ([none, reference, subject]: Float64Array[]): number => {
    const base = percentile(none!, p);
    return (percentile(subject!, p) - base) / (percentile(reference!, p) - base);
  };

/**
 * The report of `npm run bench:apiserver:pool`: see bench/apiserver-pool.ts.
 */
import { PROCESS_OF, TARGET_ADDED_VS_FLOOR, TARGET_CPU_VS_FLOOR, TARGET_RSS_VS_FLOOR, type ApiserverSamples, type ConfigurationSamples } from './apiserver-samples.ts';
import { addedRatio, bootstrapInterval, fixed, judge, markdownTable, percentile, sorted, withInterval } from './stats.ts';

/** One run's samples and the file they came from. */
export interface PooledRun {
  file: string;
  samples: ApiserverSamples;
}

/** The pooled report, Markdown: each ratio per run and pooled, with the verdicts. */
export function poolReport(pooled: readonly PooledRun[]): string {
  const runs = pooled.map((r) => r.samples);
  const files = pooled.map((r) => r.file);
  /** A phase's three latency groups in each run that measured them all. */
  function groups(key: string, configurations: readonly string[]): number[][][] {
    const out: number[][][] = [];
    for (const run of runs) {
      const phase = run.phases.find((p) => p.key === key);
      const cells = configurations.map((k) => phase?.configurations[k]);
      if (cells.every((c): c is ConfigurationSamples => c !== undefined && c.latencies.length > 0)) out.push(cells.map((c) => c.latencies));
    }
    return out;
  }

  const median = (values: number[]) => percentile(sorted(values), 50);
  const perRun = (values: number[]) => `${values.map((v) => fixed(v, 2)).join(', ')}`;

  /** Per run and pooled: what `subject` adds over none against what `reference` adds, at p. */
  function latencyCells(key: string, reference: string, subject: string, p: number, target?: number): { cells: string[]; verdict?: string } {
    const samples = groups(key, ['none', reference, subject]);
    if (samples.length === 0) return { cells: ['-', '-', ''] };
    const statistic = addedRatio(p);
    const each = samples.map((run) => statistic(run.map((g) => sorted(g))));
    const pooled = statistic([0, 1, 2].map((g) => sorted(samples.flatMap((run) => run[g]!))));
    const interval = bootstrapInterval(samples, statistic);
    const verdict = target === undefined ? undefined : judge(interval, target);
    return { cells: [perRun(each), withInterval(pooled, interval), verdict ?? ''], verdict };
  }

  /** Per run: a webhook's CPU per operation (paced: not judged, see bench:apiserver) or steady RSS over another's. */
  function resourceRatios(key: string, subject: string, reference: string, of: (c: ConfigurationSamples, process: string) => number): number[] {
    const out: number[] = [];
    for (const run of runs) {
      const phase = run.phases.find((p) => p.key === key);
      const s = phase?.configurations[subject];
      const r = phase?.configurations[reference];
      if (s && r) out.push(of(s, PROCESS_OF[subject as keyof typeof PROCESS_OF]) / of(r, PROCESS_OF[reference as keyof typeof PROCESS_OF]));
    }
    return out;
  }
  const cpuPerOp = (c: ConfigurationSamples, process: string) => (c.cpuSeconds[process] ?? NaN) / c.latencies.length;
  const rssSteady = (c: ConfigurationSamples, process: string) => c.rssSteadyMb[process] ?? NaN;

  const keys = [...new Set(runs.flatMap((r) => r.phases.map((p) => p.key)))];
  const title = (key: string) => runs.flatMap((r) => r.phases).find((p) => p.key === key)!.title;
  const paced = (key: string) => runs.flatMap((r) => r.phases).some((p) => p.key === key && p.paced);
  const verdicts: string[] = [];

  const latencyRows = keys.map((key) => {
    const row = [title(key), String(groups(key, ['none', 'floor', 'mcp-admission']).length)];
    for (const p of [50, 90]) {
      const { cells, verdict } = latencyCells(key, 'floor', 'mcp-admission', p, TARGET_ADDED_VS_FLOOR);
      row.push(...cells);
      if (verdict) verdicts.push(`- ${title(key)}: serve added / floor added at p${p}, pooled ${cells[1]} (target ≤ ${TARGET_ADDED_VS_FLOOR}): ${verdict}`);
    }
    return row;
  });

  const blocksKeys = keys.filter((key) => groups(key, ['none', 'blocks-floor', 'mcp-admission']).length > 0);
  const blocksRows = blocksKeys.map((key) => {
    const serveOverBlocks = latencyCells(key, 'blocks-floor', 'mcp-admission', 50).cells;
    const blocksOverFloor = latencyCells(key, 'floor', 'blocks-floor', 50).cells;
    const cpu = paced(key) ? [] : resourceRatios(key, 'mcp-admission', 'blocks-floor', cpuPerOp);
    const cpuBlocks = paced(key) ? [] : resourceRatios(key, 'blocks-floor', 'floor', cpuPerOp);
    return [title(key), blocksOverFloor[0]!, blocksOverFloor[1]!, serveOverBlocks[0]!, serveOverBlocks[1]!, cpuBlocks.length ? `${perRun(cpuBlocks)} (median ${fixed(median(cpuBlocks), 2)})` : '-', cpu.length ? `${perRun(cpu)} (median ${fixed(median(cpu), 2)})` : '-'];
  });

  /**
   * CPU and RSS are one total per run, with no samples to draw an interval
   * from: judged run by run, and said so.
   */
  const perRunVerdict = (values: number[], target: number) =>
    Math.max(...values) <= target ? 'met in every run' : Math.min(...values) > target ? 'MISSED in every run' : 'met in some runs';
  const resourceRows = keys.map((key) => {
    const cpu = paced(key) ? [] : resourceRatios(key, 'mcp-admission', 'floor', cpuPerOp);
    const rss = resourceRatios(key, 'mcp-admission', 'floor', rssSteady);
    if (cpu.length) verdicts.push(`- ${title(key)}: CPU per operation serve/floor, median of ${cpu.length} runs ${fixed(median(cpu), 2)} (target ≤ ${TARGET_CPU_VS_FLOOR}): ${perRunVerdict(cpu, TARGET_CPU_VS_FLOOR)}`);
    if (rss.length) verdicts.push(`- ${title(key)}: steady RSS serve/floor, median of ${rss.length} runs ${fixed(median(rss), 2)} (target ≤ ${TARGET_RSS_VS_FLOOR}): ${perRunVerdict(rss, TARGET_RSS_VS_FLOOR)}`);
    return [title(key), cpu.length ? `${perRun(cpu)} (median ${fixed(median(cpu), 2)})` : 'not judged (paced)', rss.length ? `${perRun(rss)} (median ${fixed(median(rss), 2)})` : '-', rss.length ? perRunVerdict(rss, TARGET_RSS_VS_FLOOR) : ''];
  });

  const commits = [...new Set(runs.map((r) => r.commit))];
  const out = [
    `# bench:apiserver, ${runs.length} runs pooled`,
    '',
    ...runs.map((r, i) => `- run ${i + 1}: ${files[i]}, ${r.started}, ${r.commit}; ${r.machine}`),
    ...(commits.length > 1 ? ['', `These runs measured different code (${commits.join(', ')}): the pooled figures mix them.`] : []),
    '',
    `serve's added latency over the floor's (target ≤ ${TARGET_ADDED_VS_FLOOR}): per run, and pooled with its 95% interval, whose bootstrap draws runs as well as samples:`,
    '',
    markdownTable(['phase', 'runs', 'p50 per run', 'p50 pooled [95%]', 'p50 verdict', 'p90 per run', 'p90 pooled [95%]', 'p90 verdict'], latencyRows),
    '',
    `serve against the floor, CPU per operation and steady RSS (targets ≤ ${TARGET_CPU_VS_FLOOR} and ≤ ${TARGET_RSS_VS_FLOOR}), one figure per run:`,
    '',
    markdownTable(['phase', 'CPU serve/floor per run', 'steady RSS serve/floor per run', 'RSS verdict'], resourceRows),
    ...(blocksRows.length
      ? ['', 'Against the floor on the building blocks: added latency at p50 (per run; pooled [95%]) and CPU per operation (per run):', '', markdownTable(['phase', 'blocks/floor added p50 per run', 'pooled [95%]', 'serve/blocks added p50 per run', 'pooled [95%]', 'CPU blocks/floor', 'CPU serve/blocks'], blocksRows)]
      : []),
    '',
    ...verdicts,
    '',
  ].join('\n');
  return out;
}

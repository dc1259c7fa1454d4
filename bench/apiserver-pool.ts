/**
 * Pools several `npm run bench:apiserver` runs (`npm run bench:apiserver:pool
 * -- FILE.json FILE.json …`, the samples each run writes beside its report;
 * not a test) and judges issue 13's ratios on all of them at once.
 *
 * One run's ratios move between quiet runs of the same code by more than
 * their distance to the targets, and one run's bootstrap interval cannot
 * show that: its samples share the run's minutes. Here each ratio is given
 * per run, and pooled with an interval whose bootstrap draws runs as well as
 * samples (`bootstrapInterval`), so the spread between runs is in it. A
 * latency target is met when the pooled interval lies under it, missed when
 * it lies over it, undecided otherwise. CPU and RSS ratios are one figure
 * per run (a total over the run's windows, with no samples to redraw):
 * printed per run with their median.
 */
import { parseArgs } from 'node:util';
import { poolReport } from './lib/apiserver-pool.ts';
import { readSamples } from './lib/apiserver-samples.ts';

const { positionals: files } = parseArgs({ allowPositionals: true });
if (files.length === 0) {
  process.stderr.write('usage: npm run bench:apiserver:pool -- bench/results/apiserver-<date>.json [more runs ...]\n');
  process.exit(2);
}
process.stdout.write(poolReport(files.map((file) => ({ file, samples: readSamples(file) }))));

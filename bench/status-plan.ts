/**
 * CPU of one MCPTransportPolicy status plan, in process (`npm run
 * bench:status-plan`, not a test): the replica holding the status Lease
 * plans after every policy or namespace change, so this is what each
 * change costs it.
 *
 * The policies are `bench:apiserver`'s and the scaling cells' (a cluster
 * default and selectors by name, In, NotIn and Exists/DoesNotExist, about
 * half of them matching any given namespace, some with exempt namespaces),
 * over 0, 50 and 500 namespaces. Per cell, CPU ms per plan (median of
 * `--reps` plans, process.cpuUsage()):
 * - **full**: planPolicyStatus with each policy's check remembered, as the
 *   writer planned every time before the planner; and the planner after
 *   reset() (a new leader, a failed write or plan).
 * - **a namespace added** / **relabelled**: the planner after that change.
 * - **a policy changed** that selects one namespace by name, and one that
 *   selects nearly all (NotIn): the planner after that change.
 * - **nothing changed**: the planner again.
 * - **a follower's count**: what a replica without the status Lease does
 *   instead of a plan after any change (publishedStates, each check
 *   remembered), and at its start (every policy checked).
 *
 * And what a plan that resolves every namespace does to the event loop
 * that answers reviews (the planner after reset(), and after a change of
 * the NotIn policy): the largest delay of a 1 ms timer while the plan runs
 * (perf_hooks monitorEventLoopDelay, resolution 1 ms; what a review that
 * arrives mid-plan waits before its handler runs: on a loaded machine it
 * holds the time the process was not scheduled too), the longest the plan
 * held the event loop in CPU time (the largest slice; one run: all of it),
 * its wall time and CPU,
 * in one run (`plan`) and in slices (`planInSlices`, setImmediate between
 * slices of `--slice-ms`, as the status writer runs it); median of `--reps`.
 *
 * Flags: `--policies 1000`, `--namespaces 0,50,500`, `--reps 15`, `--slice-ms 5`.
 */
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { validateTransportPolicy } from '../src/policy/transport-policy.ts';
import { planPolicyStatus, type NamespaceInfo, type StoredPolicy } from '../src/status/policy-status.ts';
import { publishedStates } from '../src/status/policy-states.ts';
import { PolicyStatusPlanner } from '../src/status/status-planner.ts';
import { transportPolicies } from './lib/scaling.ts';
import { fixed, markdownTable, percentile, sorted } from './lib/stats.ts';

const { values: flags } = parseArgs({
  options: {
    policies: { type: 'string', default: '1000' },
    namespaces: { type: 'string', default: '0,50,500' },
    reps: { type: 'string', default: '15' },
    'slice-ms': { type: 'string', default: '5' },
  },
});
const sliceMs = Number(flags['slice-ms']);
const reps = Number(flags.reps);
const OWN = 'mcp-admission';
const now = new Date('2026-11-24T21:00:00Z');

function cpuMs(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const spent = process.cpuUsage(before);
  return (spent.user + spent.system) / 1000;
}

/** Median CPU ms of `reps` runs, after two unmeasured ones; `prepare` runs before each, unmeasured. */
function median(run: () => void, prepare: () => void = () => undefined): number {
  const samples: number[] = [];
  for (let i = 0; i < reps + 2; i++) {
    prepare();
    const ms = cpuMs(run);
    if (i >= 2) samples.push(ms);
  }
  return percentile(sorted(samples), 50);
}

function namespacesOf(count: number): NamespaceInfo[] {
  // Names some policies select (team-N by name, team-N-0 in an In or NotIn list), a third with the label the DoesNotExist selectors read.
  const name = (i: number) => (i % 4 === 0 ? `team-${i}` : i % 4 === 2 ? `team-${i}-0` : `ns-${i}`);
  return Array.from({ length: count }, (_, i): NamespaceInfo => ({ name: name(i), labels: i % 3 === 0 ? { environment: 'production' } : {} }));
}

const stored: StoredPolicy[] = (transportPolicies(Number(flags.policies)) as StoredPolicy[]).map((p) => ({ ...p, metadata: { ...p.metadata, generation: 1 } }));
// The checks the writer remembered for the old full plan.
const checks = new WeakMap<StoredPolicy, ReturnType<typeof validateTransportPolicy>>();
const validate = (object: StoredPolicy) => {
  let check = checks.get(object);
  if (!check) checks.set(object, (check = validateTransportPolicy(object)));
  return check;
};
const options = { now, ownNamespace: OWN };

const rows: string[][] = [];
const stallRows: string[][] = [];
// Enabled throughout: the monitor records a delay from its second tick on.
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const cpuUs = (since: NodeJS.CpuUsage) => {
  const spent = process.cpuUsage(since);
  return spent.user + spent.system;
};

/**
 * Median over `reps` of: the largest event-loop delay while `run` runs
 * (ms), its wall time (ms), its CPU (ms) and the slices it reports; after
 * two unmeasured runs, `prepare` before each.
 */
type Stall = { stallMs: number; holdMs: number; wallMs: number; cpuMs: number; slices: number };
async function stall(run: (held: (us: number) => void) => Promise<number> | number, prepare: () => void): Promise<Stall> {
  const samples: Stall[] = [];
  for (let i = 0; i < reps + 2; i++) {
    prepare();
    // reset() forgets the monitor's last tick too, and a delay is recorded
    // from the tick after the next: reset, then let it tick twice, so the
    // preparation's delay is not counted and the plan's is.
    delay.reset();
    await new Promise((resolve) => setTimeout(resolve, 3));
    let holdUs = 0;
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    const slices = await run((us) => (holdUs = Math.max(holdUs, us)));
    const wallMs = performance.now() - t0;
    const spentUs = cpuUs(cpu);
    // The timer that was due during the plan's last slice fires now.
    await new Promise((resolve) => setTimeout(resolve, 3));
    if (i >= 2) samples.push({ stallMs: delay.max / 1e6, holdMs: holdUs / 1000, wallMs, cpuMs: spentUs / 1000, slices });
  }
  const mid = (pick: (s: Stall) => number) => percentile(sorted(samples.map(pick)), 50);
  return { stallMs: mid((s) => s.stallMs), holdMs: mid((s) => s.holdMs), wallMs: mid((s) => s.wallMs), cpuMs: mid((s) => s.cpuMs), slices: mid((s) => s.slices) };
}
const started = performance.now();
for (const count of flags.namespaces.split(',').map(Number)) {
  const namespaces = namespacesOf(count);
  let policies = [...stored];
  const planner = new PolicyStatusPlanner();
  planner.plan(policies, namespaces, options);

  const oldFull = median(() => void planPolicyStatus(policies, namespaces, { ...options, validate }));
  const full = median(
    () => void planner.plan(policies, namespaces, options),
    () => planner.reset(),
  );

  // A namespace added (each run adds another to the last plan's).
  let withNew = namespaces;
  let added = 0;
  const nsAdded = median(
    () => void planner.plan(policies, withNew, options),
    () => {
      planner.plan(policies, namespaces, options);
      withNew = [...namespaces, { name: `new-${added++}`, labels: {} }];
    },
  );

  let relabelled = namespaces;
  let flip = 0;
  const nsRelabelled =
    count === 0
      ? NaN
      : median(
          () => void planner.plan(policies, relabelled, options),
          () => {
            relabelled = namespaces.map((n, i) => (i === 0 ? { name: n.name, labels: { ...n.labels, revision: String(flip++) } } : n));
          },
        );

  // A policy that selects one namespace by name (team-N), and one that selects nearly all (NotIn), each changed.
  const changePolicy = (index: number) => {
    let version = 0;
    return median(
      () => void planner.plan(policies, namespaces, options),
      () => {
        const before = policies[index]!;
        const spec = (before as { spec: { defaults: Record<string, unknown> } }).spec;
        policies = policies.map((p, i) => (i === index ? { ...before, spec: { ...spec, defaults: { ...spec.defaults, terminationGracePeriodSeconds: 120 + (version++ % 2) } } } : p));
      },
    );
  };
  const byName = changePolicy(4); // team-0004: matchLabels kubernetes.io/metadata.name=team-4
  const notIn = changePolicy(2); // team-0002: NotIn two names' list: nearly every namespace
  const unchanged = median(() => void planner.plan(policies, namespaces, options));
  const followerCount = median(() => void publishedStates(policies, validate));
  const followerStart = median(() => void publishedStates(policies, validateTransportPolicy));

  // Plans that resolve every namespace, in one run and in slices.
  let version = 0;
  const changeNotIn = () => {
    planner.plan(policies, namespaces, options);
    const before = policies[2]!;
    const spec = (before as { spec: { defaults: Record<string, unknown> } }).spec;
    policies = policies.map((p, i) => (i === 2 ? { ...before, spec: { ...spec, defaults: { ...spec.defaults, terminationGracePeriodSeconds: 120 + (version++ % 2) } } } : p));
  };
  for (const [what, prepare] of [
    ['full (after reset)', () => planner.reset()],
    ['a policy changed (NotIn: nearly all)', changeNotIn],
  ] as const) {
    const one = await stall((held) => {
      const cpu = process.cpuUsage();
      planner.plan(policies, namespaces, options);
      held(cpuUs(cpu));
      return 1;
    }, prepare);
    const inSlices = await stall(async (held) => {
      let cpu = process.cpuUsage();
      const pause = async () => {
        held(cpuUs(cpu));
        await yieldToEventLoop();
        cpu = process.cpuUsage();
      };
      const { slices } = await planner.planInSlices(policies, namespaces, options, { sliceMs, pause });
      held(cpuUs(cpu));
      return slices;
    }, prepare);
    stallRows.push([
      String(count),
      what,
      `${fixed(one.stallMs, 1)} / ${fixed(inSlices.stallMs, 1)}`,
      `${fixed(one.holdMs, 1)} / ${fixed(inSlices.holdMs, 1)}`,
      String(inSlices.slices),
      `${fixed(one.wallMs, 1)} / ${fixed(inSlices.wallMs, 1)}`,
      `${fixed(one.cpuMs, 1)} / ${fixed(inSlices.cpuMs, 1)}`,
    ]);
  }

  rows.push([String(count), fixed(oldFull, 2), fixed(full, 2), fixed(nsAdded, 2), fixed(nsRelabelled, 2), fixed(byName, 2), fixed(notIn, 2), fixed(unchanged, 2), fixed(followerCount, 2), fixed(followerStart, 2)]);
}

process.stdout.write(
  `MCPTransportPolicy status plan, CPU ms per plan (median of ${reps}), ${stored.length} policies; ${availableParallelism()} CPUs, load average at end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, ${fixed((performance.now() - started) / 1000, 1)} s\n\n` +
    markdownTable(
      ['namespaces', 'full plan (each check remembered), before', 'planner, full (after reset)', 'planner, a namespace added', 'a namespace relabelled', 'a policy changed (selects one namespace)', 'a policy changed (NotIn: nearly all)', 'nothing changed', "a follower's count, after any change", "a follower's count at its start"],
      rows,
    ) +
    `\nThe event loop during a plan that resolves every namespace (median of ${reps}; slices of ${sliceMs} ms, setImmediate between them):\n\n` +
    markdownTable(['namespaces', 'plan', 'largest event-loop delay ms, one run / slices', 'longest hold of the loop, CPU ms, one run / slices', 'slices', 'wall ms, one run / slices', 'CPU ms, one run / slices'], stallRows) +
    '\n',
);

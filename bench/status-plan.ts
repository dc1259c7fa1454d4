/**
 * CPU of one MCPTransportPolicy status plan, in process (`npm run
 * bench:status-plan`, not a test): every replica plans after every policy
 * or namespace change, so this is what each change costs each replica.
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
 *
 * Flags: `--policies 1000`, `--namespaces 0,50,500`, `--reps 15`.
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { validateTransportPolicy } from '../src/policy/transport-policy.ts';
import { planPolicyStatus, type NamespaceInfo, type StoredPolicy } from '../src/status/policy-status.ts';
import { PolicyStatusPlanner } from '../src/status/status-planner.ts';
import { transportPolicies } from './lib/scaling.ts';
import { fixed, markdownTable, percentile, sorted } from './lib/stats.ts';

const { values: flags } = parseArgs({
  options: {
    policies: { type: 'string', default: '1000' },
    namespaces: { type: 'string', default: '0,50,500' },
    reps: { type: 'string', default: '15' },
  },
});
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

  rows.push([String(count), fixed(oldFull, 2), fixed(full, 2), fixed(nsAdded, 2), fixed(nsRelabelled, 2), fixed(byName, 2), fixed(notIn, 2), fixed(unchanged, 2)]);
}

process.stdout.write(
  `MCPTransportPolicy status plan, CPU ms per plan (median of ${reps}), ${stored.length} policies; ${availableParallelism()} CPUs, load average at end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, ${fixed((performance.now() - started) / 1000, 1)} s\n\n` +
    markdownTable(
      ['namespaces', 'full plan (each check remembered), before', 'planner, full (after reset)', 'planner, a namespace added', 'a namespace relabelled', 'a policy changed (selects one namespace)', 'a policy changed (NotIn: nearly all)', 'nothing changed'],
      rows,
    ) +
    '\n',
);

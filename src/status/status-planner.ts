/**
 * Plans MCPTransportPolicy status as {@link planPolicyStatus} does, keeping
 * each namespace's conflict between plans: a plan resolves again only the
 * namespaces a change can affect. A full plan resolves every namespace
 * through every policy (O(namespaces × policies): some 180 ms of CPU for
 * 1,000 policies over 500 namespaces), and the Lease holder plans after
 * every change, a new namespace's included.
 *
 * What changed is found by comparing the caches' contents with what the
 * last plan saw, never from the change notifications: a missed or
 * coalesced event, or a relist that replaces every object, cannot leave a
 * kept conflict stale.
 * - A namespace added or relabelled is resolved again alone; a removed one
 *   is forgotten (the policies' conflicts are gathered again from the kept
 *   ones on every plan, in the namespaces' current order).
 * - A policy added, removed, or whose spec changed (or turned valid or
 *   invalid) affects only the namespaces its old or new spec
 *   selects or exempts (resolveSettings reads no other policy); one without
 *   a namespaceSelector selects every namespace. A status write changes no
 *   spec and resolves nothing.
 * The plans themselves (conditions, transition times, whether a write is
 * due) are built again every time from the stored objects: that is
 * O(policies), and reads each object's current status.
 *
 * A plan that resolves many namespaces is long (150 ms for 1,000 policies
 * over 500 namespaces) and runs on the event loop that answers admission
 * reviews: {@link PolicyStatusPlanner.planInSlices} runs the same plan in
 * slices of a few milliseconds and lets the event loop run between them,
 * so a review that arrives meanwhile waits for one slice, not the plan.
 */
import { isDeepStrictEqual } from 'node:util';
import { labelSelectorMatches } from '../policy/label-selector.ts';
import { validateTransportPolicy, type TransportPolicy } from '../policy/transport-policy.ts';
import {
  addConflict,
  checkPolicies,
  namespaceConflict,
  planFromConflicts,
  selectorLabels,
  skippedNamespaces,
  type ConflictsByPolicy,
  type NamespaceConflict,
  type NamespaceInfo,
  type PolicyStatusPlan,
  type StoredPolicy,
} from './policy-status.ts';

type Checked = ReturnType<typeof validateTransportPolicy>;

/** A valid policy the last plan resolved with, and the object it came from. */
interface KeptPolicy {
  object: StoredPolicy;
  policy: TransportPolicy;
}

/** What the last plan kept of a namespace. */
interface KeptNamespace {
  labels: Readonly<Record<string, string>>;
  conflict: NamespaceConflict | undefined;
}

/**
 * Past this many changed policies in one plan, every namespace is resolved
 * again: finding what each selects costs about as much (the first plan
 * after a start sees every policy as new).
 */
const MAX_CHANGED_POLICIES = 32;

/** A plan, how many namespaces it resolved to get it, and whether it resolved them all (kept nothing from the last plan). */
export interface PlannerResult {
  plans: PolicyStatusPlan[];
  resolved: number;
  whole: boolean;
}

/** How {@link PolicyStatusPlanner.planInSlices} shares the event loop. */
export interface PlanSlicing {
  /** A slice ends at the first step after it has run this long, in the clock's milliseconds. */
  sliceMs: number;
  /**
   * Called between slices; the plan goes on when it resolves. With
   * setImmediate, Node runs the I/O that arrived during the slice (a
   * review's bytes, its timers) first: the check phase follows the poll
   * phase (nodejs.org, "The Node.js Event Loop").
   */
  pause: () => Promise<void>;
  /** Milliseconds, monotonic; performance.now by default. */
  clock?: () => number;
}

export class PolicyStatusPlanner {
  /**
   * Each policy object's check, by object: the informer replaces an object
   * on every change, so an entry holds while the object is cached.
   * Checking every policy again was half of a plan's CPU.
   */
  private readonly checked = new WeakMap<StoredPolicy, Checked>();
  /** The valid policies the last plan resolved with, by name. */
  private policies = new Map<string, KeptPolicy>();
  private namespaces = new Map<string, KeptNamespace>();
  /** Whether the next plan resolves every namespace. */
  private whole = true;

  /** The next plan resolves every namespace (after a change of leader, a failed write or a failed plan). */
  reset(): void {
    this.whole = true;
  }

  /**
   * The plan {@link planPolicyStatus} gives for the same input, how many
   * namespaces it resolved to get it, and whether it resolved them all
   * (kept nothing from the last plan), in one run.
   */
  plan(stored: readonly StoredPolicy[], namespaces: readonly NamespaceInfo[], options: { now: Date; ownNamespace: string }): PlannerResult {
    const steps = this.steps(stored, namespaces, options);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  }

  /**
   * The same plan as {@link plan}, in slices: after each policy checked and
   * each namespace looked at, once the slice has run `sliceMs`, it waits for
   * `pause`. `slices` counts them (1: it never paused). The input must not
   * change meanwhile (the informers' lists are new arrays of objects they
   * replace, never change), and no other plan may run on this planner until
   * it resolves; what it keeps changes only at the end, so a plan
   * abandoned midway leaves the last one's.
   */
  async planInSlices(
    stored: readonly StoredPolicy[],
    namespaces: readonly NamespaceInfo[],
    options: { now: Date; ownNamespace: string },
    slicing: PlanSlicing,
  ): Promise<PlannerResult & { slices: number }> {
    const clock = slicing.clock ?? (() => performance.now());
    const steps = this.steps(stored, namespaces, options);
    let slices = 1;
    let began = clock();
    for (;;) {
      const step = steps.next();
      if (step.done) return { ...step.value, slices };
      if (clock() - began >= slicing.sliceMs) {
        await slicing.pause();
        slices += 1;
        began = clock();
      }
    }
  }

  /** The plan as steps: it yields after each policy checked and each namespace looked at. */
  private *steps(stored: readonly StoredPolicy[], namespaces: readonly NamespaceInfo[], options: { now: Date; ownNamespace: string }): Generator<void, PlannerResult, void> {
    // Checking 1,000 new policies (the first plan) is itself tens of ms.
    for (const object of stored) {
      this.check(object);
      yield;
    }
    const checked = checkPolicies(stored, (object) => this.check(object));

    // The valid policies now, by name; which of them, or of the last plan's, changed.
    const current = new Map<string, KeptPolicy>();
    for (const object of stored) {
      const { policy } = this.check(object);
      if (policy) current.set(policy.name, { object, policy });
    }
    // A name twice among the valid policies or the namespaces (never from
    // the informers, which key by name): resolved whole, now and next time.
    const unique = current.size === checked.valid.length && new Set(namespaces.map((n) => n.name)).size === namespaces.length;
    let whole = this.whole || !unique;
    const changed: TransportPolicy[] = [];
    if (!whole) {
      for (const [name, now] of current) {
        const before = this.policies.get(name);
        // A new object with the same policy: a status or metadata write.
        if (!before) changed.push(now.policy);
        else if (before.object !== now.object && !isDeepStrictEqual(before.policy, now.policy)) changed.push(now.policy, before.policy);
      }
      for (const [name, before] of this.policies) if (!current.has(name)) changed.push(before.policy);
      whole = changed.length > MAX_CHANGED_POLICIES || changed.some((p) => !p.spec.namespaceSelector);
    }

    const skipped = skippedNamespaces(options.ownNamespace);
    const kept = new Map<string, KeptNamespace>();
    const conflicts: ConflictsByPolicy = new Map();
    let resolved = 0;
    for (const namespace of namespaces) {
      if (skipped.has(namespace.name)) continue;
      let entry = whole ? undefined : this.namespaces.get(namespace.name);
      if (!entry || !sameLabels(entry.labels, namespace.labels) || changed.some((p) => affects(p, namespace))) {
        entry = { labels: { ...namespace.labels }, conflict: namespaceConflict(checked.valid, namespace) };
        resolved += 1;
      }
      kept.set(namespace.name, entry);
      addConflict(conflicts, namespace.name, entry.conflict);
      yield;
    }
    this.namespaces = kept;
    this.policies = current;
    this.whole = !unique;
    return { plans: planFromConflicts(stored, checked, conflicts, options.now), resolved, whole };
  }

  /** A policy object's check, remembered while the object is cached (a follower's counts use it too). */
  check(object: StoredPolicy): Checked {
    let check = this.checked.get(object);
    if (!check) this.checked.set(object, (check = validateTransportPolicy(object)));
    return check;
  }
}

/** Whether a policy, valid as given, takes part in resolving a namespace: it selects it, or names it exempt. */
function affects(policy: TransportPolicy, namespace: NamespaceInfo): boolean {
  const { namespaceSelector, exemptNamespaces } = policy.spec;
  return (exemptNamespaces ?? []).includes(namespace.name) || !namespaceSelector || labelSelectorMatches(namespaceSelector, selectorLabels(namespace));
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

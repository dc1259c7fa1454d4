/**
 * The state each MCPTransportPolicy is counted in by
 * `mcp_admission_policies{state}` on a replica that does not hold the
 * status Lease, without a plan.
 *
 * What the gauge needs is, per policy, whether it is invalid (its own
 * check: the same function the plan calls, on the same object) and, when
 * valid, whether it conflicts in some namespace. Only the second needs
 * every namespace resolved against every policy (a full plan: 150 ms of
 * CPU for 1,000 policies over 500 namespaces), and the holder already
 * resolves it and writes it to the policy's `Conflicting` condition: a
 * follower reads it there, as kube-state-metrics reads a Deployment's
 * conditions rather than judging the Deployment again. A follower's counts
 * are the holder's once the holder's writes are back in its cache; until
 * then a valid policy counts as its last written status says.
 */
import type { PolicyCheck, PolicyStatusPlan, StoredPolicy } from './policy-status.ts';

/** Each policy's state, in stored order: invalid by its check; conflicting when the status written for it says so; else accepted. */
export function publishedStates(stored: readonly StoredPolicy[], check: PolicyCheck): Array<PolicyStatusPlan['state']> {
  return stored.map((object) => {
    if (!check(object).policy) return 'invalid';
    return writtenConflicting(object.status) ? 'conflicting' : 'accepted';
  });
}

function writtenConflicting(status: unknown): boolean {
  const conditions = (status as { conditions?: unknown } | undefined)?.conditions;
  if (!Array.isArray(conditions)) return false;
  return conditions.some((c: unknown) => {
    const condition = c as { type?: unknown; status?: unknown } | null;
    return condition?.type === 'Conflicting' && condition.status === 'True';
  });
}

/**
 * What the status of each MCPTransportPolicy should say, computed from the
 * policies and namespaces alone (no client, no clock of its own): the
 * writer in policy-status-writer.ts sends what this plans.
 *
 * Conditions follow the Kubernetes API conventions (metav1.Condition:
 * `type`, `status`, `reason` in CamelCase, `message`, `observedGeneration`,
 * `lastTransitionTime` kept while the status does not change):
 * - `Accepted`: True when the policy is valid and in force.
 * - `Invalid`: True with every problem's field path and reason when the
 *   stored policy fails the checks (stored before the CRD's rules existed,
 *   or while they were relaxed); such a policy is ignored.
 * - `Conflicting`: True when, in some namespace, this policy and another
 *   both apply and their merged bounds leave no valid value
 *   (`resolveSettings` settles such a crossing and reports it).
 */
import { SYSTEM_NAMESPACES } from '../contract.ts';
import { describeFinding } from '../policy/finding.ts';
import { resolveSettings, validateTransportPolicy, type TransportPolicy } from '../policy/transport-policy.ts';

/** A condition as metav1.Condition has it. */
export interface PolicyCondition {
  type: 'Accepted' | 'Invalid' | 'Conflicting';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration: number;
  /** RFC 3339. */
  lastTransitionTime: string;
}

/** `.status` of an MCPTransportPolicy. */
export interface PolicyStatus {
  observedGeneration: number;
  conditions: PolicyCondition[];
}

/** A stored policy object, as listed: anything, checked here. */
export interface StoredPolicy {
  metadata?: { name?: string; generation?: number; uid?: string; resourceVersion?: string };
  status?: unknown;
  [key: string]: unknown;
}

export interface NamespaceInfo {
  name: string;
  labels: Readonly<Record<string, string>>;
}

/** The plan for one policy. */
export interface PolicyStatusPlan {
  name: string;
  status: PolicyStatus;
  /** Whether the stored status differs from the planned one (a write is due). */
  changed: boolean;
  /** Set when the policy has just become invalid: a Warning Event is due. */
  invalidEvent?: { reason: 'InvalidPolicy'; message: string };
  /** State for `mcp_admission_policies{state}`. */
  state: 'accepted' | 'invalid' | 'conflicting';
}

/** Namespaces named in a Conflicting message; the rest are counted. */
const MAX_NAMED_NAMESPACES = 3;
/** The API server caps a condition message at 32 KiB; a person reads far less. */
const MAX_MESSAGE = 4096;

const bounded = (text: string): string => (text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 1)}…`);

/** A policy's check: validateTransportPolicy, or a memo of it. */
export type PolicyCheck = (object: StoredPolicy) => ReturnType<typeof validateTransportPolicy>;

/** The valid policies, in stored order, and the problems of each invalid one by name. */
export interface CheckedPolicies {
  valid: TransportPolicy[];
  problemsOf: Map<string, string[]>;
}

/** A conflict in one namespace: the message, and the policies it names that are in force there. */
export interface NamespaceConflict {
  message: string;
  policies: string[];
}

/** Which namespaces each policy conflicts in, in namespace order, and the message of the first. */
export type ConflictsByPolicy = Map<string, { namespaces: string[]; message: string }>;

/** Namespaces never judged: the system ones and the webhook's own. */
export function skippedNamespaces(ownNamespace: string): ReadonlySet<string> {
  return new Set<string>([...SYSTEM_NAMESPACES, ownNamespace]);
}

/**
 * Plans the status of every policy. `ownNamespace` and the system
 * namespaces are never judged, so conflicts there do not count.
 */
export function planPolicyStatus(
  stored: readonly StoredPolicy[],
  namespaces: readonly NamespaceInfo[],
  options: {
    now: Date;
    ownNamespace: string;
    /** validateTransportPolicy, or a memo of it: a caller that plans the same objects again need not check them again. */
    validate?: PolicyCheck;
  },
): PolicyStatusPlan[] {
  const checked = checkPolicies(stored, options.validate ?? validateTransportPolicy);
  const skipped = skippedNamespaces(options.ownNamespace);
  const conflicts: ConflictsByPolicy = new Map();
  for (const namespace of namespaces) {
    if (skipped.has(namespace.name)) continue;
    addConflict(conflicts, namespace.name, namespaceConflict(checked.valid, namespace));
  }
  return planFromConflicts(stored, checked, conflicts, options.now);
}

/** Checks each stored policy. */
export function checkPolicies(stored: readonly StoredPolicy[], validate: PolicyCheck): CheckedPolicies {
  const valid: TransportPolicy[] = [];
  const problemsOf = new Map<string, string[]>();
  for (const object of stored) {
    const { policy, problems } = validate(object);
    if (policy) valid.push(policy);
    else problemsOf.set(object.metadata?.name ?? '', problems.map(describeFinding));
  }
  return { valid, problemsOf };
}

/** The labels a namespace is selected by: its own and the name label the API server sets on every namespace. */
export function selectorLabels(namespace: NamespaceInfo): Record<string, string> {
  return { 'kubernetes.io/metadata.name': namespace.name, ...namespace.labels };
}

/** The conflict the valid policies leave in one namespace, if any (none where it is exempt). */
export function namespaceConflict(valid: readonly TransportPolicy[], namespace: NamespaceInfo): NamespaceConflict | undefined {
  const settings = resolveSettings(valid, namespace.name, selectorLabels(namespace));
  if (settings.exempt || settings.conflicts.length === 0) return undefined;
  const message = settings.conflicts.map((c) => c.message).join(' ');
  // The policies a conflict names (resolveSettings names each side), not
  // every policy in force there: a cluster default that sets no bound is
  // not part of it.
  const named = new Set([...message.matchAll(/MCPTransportPolicy ([a-z0-9][-a-z0-9.]*[a-z0-9]|[a-z0-9])/g)].map((m) => m[1]));
  return { message, policies: settings.sources.filter((s) => named.has(s)) };
}

/** Adds one namespace's conflict; call in namespace order, which the Conflicting message follows. */
export function addConflict(conflicts: ConflictsByPolicy, namespace: string, conflict: NamespaceConflict | undefined): void {
  if (!conflict) return;
  for (const source of conflict.policies) {
    const entry = conflicts.get(source) ?? { namespaces: [], message: conflict.message };
    entry.namespaces.push(namespace);
    conflicts.set(source, entry);
  }
}

/** Each policy's plan from its check and the conflicts found. */
export function planFromConflicts(stored: readonly StoredPolicy[], { problemsOf }: CheckedPolicies, conflicts: ConflictsByPolicy, now: Date): PolicyStatusPlan[] {
  const nowText = rfc3339Seconds(now);
  return stored.map((object) => {
    const name = object.metadata?.name ?? '';
    const generation = object.metadata?.generation ?? 0;
    const previous = previousConditions(object.status);
    const condition = (type: PolicyCondition['type'], status: PolicyCondition['status'], reason: string, message: string): PolicyCondition => {
      const before = previous.get(type);
      const unchanged = before?.status === status;
      return {
        type,
        status,
        reason,
        message: bounded(message),
        observedGeneration: generation,
        lastTransitionTime: unchanged && before?.lastTransitionTime ? before.lastTransitionTime : nowText,
      };
    };

    const problems = problemsOf.get(name);
    let conditions: PolicyCondition[];
    let state: PolicyStatusPlan['state'];
    if (problems) {
      state = 'invalid';
      conditions = [
        condition('Accepted', 'False', 'InvalidSpec', 'Ignored: the policy fails its checks (see the Invalid condition); the other policies and the built-in defaults apply.'),
        condition('Invalid', 'True', 'InvalidSpec', problems.join('\n')),
        condition('Conflicting', 'Unknown', 'InvalidSpec', 'Not evaluated: the policy is invalid.'),
      ];
    } else {
      const conflict = conflicts.get(name);
      state = conflict ? 'conflicting' : 'accepted';
      conditions = [
        condition('Accepted', 'True', 'Valid', 'In force.'),
        condition('Invalid', 'False', 'Valid', 'The policy passes every check.'),
        conflict
          ? condition('Conflicting', 'True', 'BoundsConflict', conflictMessage(conflict.namespaces, conflict.message))
          : condition('Conflicting', 'False', 'NoConflict', 'Where this policy applies, the merged bounds leave valid values.'),
      ];
    }
    const status: PolicyStatus = { observedGeneration: generation, conditions };
    const becameInvalid = problems !== undefined && previous.get('Invalid')?.status !== 'True';
    return {
      name,
      status,
      changed: !sameStatus(object.status, status),
      state,
      ...(becameInvalid && {
        invalidEvent: { reason: 'InvalidPolicy' as const, message: bounded(`MCPTransportPolicy ${name} is invalid and ignored: ${(problems ?? []).join('; ')}`) },
      }),
    };
  });
}

/** metav1.Time is RFC 3339 in whole seconds. */
function rfc3339Seconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function conflictMessage(namespaces: string[], message: string): string {
  const named = namespaces.slice(0, MAX_NAMED_NAMESPACES).join(', ');
  const more = namespaces.length > MAX_NAMED_NAMESPACES ? ` and ${namespaces.length - MAX_NAMED_NAMESPACES} more` : '';
  return `In namespace${namespaces.length === 1 ? '' : 's'} ${named}${more}: ${message}`;
}

function previousConditions(status: unknown): Map<string, Partial<PolicyCondition>> {
  const conditions = (status as { conditions?: unknown } | undefined)?.conditions;
  const found = new Map<string, Partial<PolicyCondition>>();
  if (!Array.isArray(conditions)) return found;
  for (const c of conditions as Array<Partial<PolicyCondition>>) if (c && typeof c.type === 'string') found.set(c.type, c);
  return found;
}

/** Compares a stored status with a planned one, ignoring key order and how the API server wrote times. */
function sameStatus(stored: unknown, planned: PolicyStatus): boolean {
  const s = stored as Partial<PolicyStatus> | undefined;
  if (!s || s.observedGeneration !== planned.observedGeneration || !Array.isArray(s.conditions)) return false;
  if (s.conditions.length !== planned.conditions.length) return false;
  return planned.conditions.every((p, i) => {
    const c = s.conditions?.[i];
    return (
      c !== undefined &&
      c.type === p.type &&
      c.status === p.status &&
      c.reason === p.reason &&
      c.message === p.message &&
      c.observedGeneration === p.observedGeneration &&
      Date.parse(c.lastTransitionTime ?? '') === Date.parse(p.lastTransitionTime)
    );
  });
}

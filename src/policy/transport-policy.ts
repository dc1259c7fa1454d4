/**
 * MCPTransportPolicy: the schema of its spec, the checks the CRD's OpenAPI
 * schema cannot express, and precedence (DESIGN.md "MCPTransportPolicy").
 *
 * Precedence, per field: workload annotation within bounds > the most
 * specific matching policy > a cluster default policy (no namespaceSelector)
 * > built-in default. "Most specific" is the policy whose namespaceSelector
 * has the most requirements; ties go to the policy whose name sorts first.
 */
import { z } from 'zod';
import { POLICY_GROUP, POLICY_KIND, POLICY_VERSION } from '../contract.ts';
import { isZeroIntOrPercent, MAX_SESSION_AFFINITY_TIMEOUT_SECONDS } from '../kubernetes/api-server.ts';
import type { Finding } from './finding.ts';
import { LabelSelectorShape, labelSelectorMatches, labelSelectorProblems, selectorSpecificity } from './label-selector.ts';
import { compareNames } from './name-order.ts';
import { BUILT_IN_SETTINGS, MODES, type SettingField, type TransportSettings } from './transport-settings.ts';

/** Seconds a grace period or sleep may be at most: one day. */
const MAX_SECONDS = 86400;
const seconds = (min: number) => z.number().int().min(min).max(MAX_SECONDS);

export const TransportPolicySpecShape = z.strictObject({
  mode: z.enum(MODES).optional(),
  namespaceSelector: LabelSelectorShape.optional(),
  exemptNamespaces: z.array(z.string()).optional(),
  defaults: z
    .strictObject({
      terminationGracePeriodSeconds: seconds(1).optional(),
      maxSurge: z.union([z.number().int().min(0), z.string().regex(/^[0-9]+%$/, 'must be a whole number or a percentage like "25%"')]).optional(),
      sessionAffinityTimeoutSeconds: z.number().int().min(1).max(MAX_SESSION_AFFINITY_TIMEOUT_SECONDS).optional(),
      preStopSleepSeconds: seconds(0).optional(),
      undetectedProtocol: z.enum(['sse', 'streamable-http']).optional(),
      streamTimeoutSeconds: seconds(1).optional(),
    })
    .optional(),
  bounds: z
    .strictObject({
      minTerminationGracePeriodSeconds: seconds(0).optional(),
      maxTerminationGracePeriodSeconds: seconds(1).optional(),
      allowSessionAffinityOptOut: z.boolean().optional(),
      allowFrontDoorMutation: z.boolean().optional(),
    })
    .optional(),
});
export type TransportPolicySpec = z.infer<typeof TransportPolicySpecShape>;

/** A policy as the rules use it: its name and a spec that passed {@link validateTransportPolicy}. */
export interface TransportPolicy {
  name: string;
  spec: TransportPolicySpec;
}

const PolicyObjectShape = z.looseObject({
  apiVersion: z.literal(`${POLICY_GROUP}/${POLICY_VERSION}`),
  kind: z.literal(POLICY_KIND),
  metadata: z.looseObject({ name: z.string().min(1) }),
  spec: z.unknown(),
});

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Field path in Kubernetes style (`spec.bounds.minTerminationGracePeriodSeconds`, `spec.exemptNamespaces[2]`). */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

/**
 * Checks an MCPTransportPolicy object: its shape, then what a schema cannot
 * say (min above max, zero surge, selectors, defaults outside their bounds).
 * Returns the policy, or every problem with its field path.
 */
export function validateTransportPolicy(object: unknown): { policy?: TransportPolicy; problems: Finding[] } {
  const envelope = PolicyObjectShape.safeParse(object);
  if (!envelope.success) return { problems: envelope.error.issues.map((i) => ({ rule: 'policy-schema', field: fieldPath(i.path), message: i.message })) };
  const parsed = TransportPolicySpecShape.safeParse(envelope.data.spec ?? {});
  if (!parsed.success) {
    return { problems: parsed.error.issues.map((i) => ({ rule: 'policy-schema', field: fieldPath(['spec', ...i.path]), message: i.message })) };
  }
  const spec = parsed.data;
  const problems: Finding[] = [];
  if (spec.namespaceSelector) problems.push(...labelSelectorProblems(spec.namespaceSelector, 'spec.namespaceSelector'));
  (spec.exemptNamespaces ?? []).forEach((ns, i) => {
    if (!DNS_LABEL.test(ns)) problems.push({ rule: 'policy-exempt-namespace', field: `spec.exemptNamespaces[${i}]`, message: `"${ns}" is not a namespace name (a DNS label).` });
  });

  const defaults = spec.defaults ?? {};
  const bounds = spec.bounds ?? {};
  const min = bounds.minTerminationGracePeriodSeconds;
  const max = bounds.maxTerminationGracePeriodSeconds;
  if (min !== undefined && max !== undefined && min > max) {
    problems.push({
      rule: 'policy-bounds',
      field: 'spec.bounds.minTerminationGracePeriodSeconds',
      message: `${min} is above maxTerminationGracePeriodSeconds (${max}), so no grace period would be allowed. Fix: lower min or raise max, e.g. min 30, max 3600.`,
    });
  }
  if (defaults.maxSurge !== undefined && isZeroIntOrPercent(defaults.maxSurge)) {
    problems.push({
      rule: 'policy-max-surge-zero',
      field: 'spec.defaults.maxSurge',
      message: `${JSON.stringify(defaults.maxSurge)} leaves no room to roll: SSE servers roll with maxUnavailable: 0, so a new pod must start before an old one stops. Fix: maxSurge: "25%" (or 1).`,
    });
  }
  const grace = defaults.terminationGracePeriodSeconds;
  if (grace !== undefined && ((min !== undefined && grace < min) || (max !== undefined && grace > max))) {
    problems.push({
      rule: 'policy-default-out-of-bounds',
      field: 'spec.defaults.terminationGracePeriodSeconds',
      message: `${grace} is outside this policy's own bounds (${min ?? '-'} to ${max ?? '-'}). Fix: choose a default within the bounds.`,
    });
  }
  const sleep = defaults.preStopSleepSeconds;
  if (sleep !== undefined && sleep > 0 && grace !== undefined && sleep >= grace) {
    problems.push({
      rule: 'policy-prestop-sleep',
      field: 'spec.defaults.preStopSleepSeconds',
      message: `${sleep}s uses the whole grace period (${grace}s), leaving no time for streams to drain. Fix: keep the sleep well below terminationGracePeriodSeconds, e.g. 5.`,
    });
  }
  if (problems.length > 0) return { problems };
  return { policy: { name: envelope.data.metadata.name, spec }, problems };
}

/**
 * Two layers whose grace-period bounds cross (a cluster maximum of 300 under
 * a team minimum of 600) leave no valid value. The layer applied last is the
 * more specific one, and it wins: the other bound moves to meet it, so the
 * range is never empty, and the conflict is reported with both names.
 */
function settleCrossedBounds(
  settings: TransportSettings,
  bounds: NonNullable<TransportPolicySpec['bounds']>,
  from: { name: string; minFrom: string; maxFrom: string },
): SettledCrossing | undefined {
  const min = settings.minTerminationGracePeriodSeconds;
  const max = settings.maxTerminationGracePeriodSeconds;
  if (min <= max) return undefined;
  const raisesMin = bounds.minTerminationGracePeriodSeconds !== undefined;
  if (raisesMin) settings.maxTerminationGracePeriodSeconds = min;
  else settings.minTerminationGracePeriodSeconds = max;
  const [field, value, other, otherValue] = raisesMin
    ? ['minTerminationGracePeriodSeconds', min, `${from.maxFrom}'s maxTerminationGracePeriodSeconds`, max]
    : ['maxTerminationGracePeriodSeconds', max, `${from.minFrom}'s minTerminationGracePeriodSeconds`, min];
  return {
    min: settings.minTerminationGracePeriodSeconds,
    max: settings.maxTerminationGracePeriodSeconds,
    finding: {
      rule: 'policy-conflicting-bounds',
      field: `spec.bounds.${field}`,
      message:
        `MCPTransportPolicy ${from.name} sets ${field} ${value}, across ${other} ${otherValue}: together they allow no grace ` +
        `period. The more specific ${from.name} wins, so the bounds in force are ${settings.minTerminationGracePeriodSeconds} to ` +
        `${settings.maxTerminationGracePeriodSeconds} seconds. Fix: make the two policies agree.`,
    },
  };
}

/** A crossing of the grace-period bounds, and the range it was settled to. */
interface SettledCrossing {
  finding: Finding;
  min: number;
  max: number;
}

/**
 * Settings for one namespace under a set of policies. `namespaceLabels`
 * are the namespace's labels (at least `kubernetes.io/metadata.name`).
 */
export function resolveSettings(
  policies: readonly TransportPolicy[],
  namespace: string,
  namespaceLabels: Readonly<Record<string, string>>,
): TransportSettings {
  const matching = policies
    .filter((p) => !p.spec.namespaceSelector || labelSelectorMatches(p.spec.namespaceSelector, namespaceLabels))
    // Least specific first, so later ones override; on a tie the name that sorts first is applied last and wins.
    .sort((a, b) => selectorSpecificity(a.spec.namespaceSelector) - selectorSpecificity(b.spec.namespaceSelector) || compareNames(b.name, a.name));

  const settings: TransportSettings = { ...BUILT_IN_SETTINGS, sources: [], conflicts: [] };
  /** Which policy set each bound last, for the conflict messages. */
  let minFrom = 'built-in defaults';
  let maxFrom = 'built-in defaults';
  let sleepFrom = 'built-in defaults';
  const provenance: Partial<Record<SettingField, string>> = {};
  const settled: SettledCrossing[] = [];
  for (const { name, spec } of matching) {
    settings.sources.push(name);
    const d = spec.defaults ?? {};
    const b = spec.bounds ?? {};
    const set: Partial<Record<SettingField, unknown>> = { mode: spec.mode, ...d, ...b };
    for (const field of Object.keys(set) as SettingField[]) if (set[field] !== undefined) provenance[field] = name;
    settings.mode = spec.mode ?? settings.mode;
    settings.terminationGracePeriodSeconds = d.terminationGracePeriodSeconds ?? settings.terminationGracePeriodSeconds;
    settings.maxSurge = d.maxSurge ?? settings.maxSurge;
    settings.sessionAffinityTimeoutSeconds = d.sessionAffinityTimeoutSeconds ?? settings.sessionAffinityTimeoutSeconds;
    if (d.preStopSleepSeconds !== undefined) [settings.preStopSleepSeconds, sleepFrom] = [d.preStopSleepSeconds, `MCPTransportPolicy ${name}`];
    settings.undetectedProtocol = d.undetectedProtocol ?? settings.undetectedProtocol;
    if (b.minTerminationGracePeriodSeconds !== undefined) [settings.minTerminationGracePeriodSeconds, minFrom] = [b.minTerminationGracePeriodSeconds, `MCPTransportPolicy ${name}`];
    if (b.maxTerminationGracePeriodSeconds !== undefined) [settings.maxTerminationGracePeriodSeconds, maxFrom] = [b.maxTerminationGracePeriodSeconds, `MCPTransportPolicy ${name}`];
    settings.allowSessionAffinityOptOut = b.allowSessionAffinityOptOut ?? settings.allowSessionAffinityOptOut;
    settings.streamTimeoutSeconds = d.streamTimeoutSeconds ?? settings.streamTimeoutSeconds;
    settings.allowFrontDoorMutation = b.allowFrontDoorMutation ?? settings.allowFrontDoorMutation;
    const crossed = settleCrossedBounds(settings, b, { name, minFrom, maxFrom });
    if (crossed) settled.push(crossed);
  }
  // A conflict is reported only while its settlement is what is in force: a
  // later layer that sets the bounds again (a tie broken by name among
  // cluster-wide policies) makes the crossing moot, and its message, which
  // names the bounds in force, would no longer be true.
  for (const { finding, min, max } of settled) {
    if (settings.minTerminationGracePeriodSeconds === min && settings.maxTerminationGracePeriodSeconds === max) settings.conflicts.push(finding);
  }
  // Layers can disagree (a namespace policy's default under the cluster's
  // minimum): the bounds win, so a resolved default is always one the
  // annotation rules would accept.
  settings.terminationGracePeriodSeconds = Math.min(
    settings.maxTerminationGracePeriodSeconds,
    Math.max(settings.minTerminationGracePeriodSeconds, settings.terminationGracePeriodSeconds),
  );
  if (settings.preStopSleepSeconds > 0 && settings.preStopSleepSeconds >= settings.terminationGracePeriodSeconds) {
    settings.conflicts.push({
      rule: 'policy-conflicting-prestop-sleep',
      field: 'spec.defaults.preStopSleepSeconds',
      message:
        `${sleepFrom} asks for a ${settings.preStopSleepSeconds}s preStop sleep, which does not fit in the ` +
        `${settings.terminationGracePeriodSeconds}s grace period in force (${settings.sources.map((s) => `MCPTransportPolicy ${s}`).join(', ')}): ` +
        `the API server refuses a sleep longer than the grace period, and one as long leaves streams no time to drain. ` +
        `The sleep is added only where a Deployment's grace period is longer. Fix: lower preStopSleepSeconds, e.g. 5.`,
    });
  }
  // Exemption is absolute: any policy that names the namespace exempts it.
  const exemptBy = policies.filter((p) => (p.spec.exemptNamespaces ?? []).includes(namespace)).map((p) => p.name);
  settings.exempt = exemptBy.length > 0;
  settings.provenance = provenance;
  if (settings.exempt) settings.exemptBy = exemptBy;
  return settings;
}

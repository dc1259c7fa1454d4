/**
 * Which settings are in force in one namespace, and where each comes from:
 * the answer `mcp-admission explain` prints. Built from the same
 * `resolveSettings` the webhook runs, so it cannot tell a different story.
 */
import { SYSTEM_NAMESPACES } from '../contract.ts';
import { describeFinding } from './finding.ts';
import { resolveSettings, type TransportPolicy } from './transport-policy.ts';
import type { SettingField, TransportSettings } from './transport-settings.ts';

/** One setting: its value and the policy (or the built-in default) it came from. */
export interface ExplainedValue<T> {
  value: T;
  from: string;
}

export interface Explanation {
  namespace: string;
  /** The labels policies were matched against. */
  labels: Record<string, string>;
  /** Whether the webhook judges MCP objects here at all, and if not, why. */
  judged: boolean;
  reason: string;
  mode: ExplainedValue<TransportSettings['mode']>;
  exempt: { value: boolean; by: string[] };
  /** Matching policies, least specific first: later ones win. */
  policies: string[];
  defaults: {
    terminationGracePeriodSeconds: ExplainedValue<number>;
    maxSurge: ExplainedValue<number | string>;
    sessionAffinityTimeoutSeconds: ExplainedValue<number>;
    preStopSleepSeconds: ExplainedValue<number>;
    undetectedProtocol: ExplainedValue<string>;
  };
  bounds: {
    minTerminationGracePeriodSeconds: ExplainedValue<number>;
    maxTerminationGracePeriodSeconds: ExplainedValue<number>;
    allowSessionAffinityOptOut: ExplainedValue<boolean>;
  };
  /** Where the matching policies contradict each other, and how it was settled. */
  conflicts: string[];
  /** Stored policies the webhook ignores because they are invalid. */
  ignoredPolicies: Array<{ name: string; problems: string[] }>;
}

export const BUILT_IN = 'built-in default';

/** Explains `namespace` under `policies`, as the webhook resolves it. */
export function explainNamespace(
  policies: readonly TransportPolicy[],
  namespace: string,
  namespaceLabels: Readonly<Record<string, string>>,
  options: { ownNamespace: string; invalid?: ReadonlyArray<{ name: string; problems: ReadonlyArray<{ field: string; message: string }> }> },
): Explanation {
  const labels = { ...namespaceLabels, 'kubernetes.io/metadata.name': namespace };
  const settings = resolveSettings(policies, namespace, labels);
  const provenance = settings.provenance ?? {};
  const explained = <F extends SettingField>(field: F): ExplainedValue<TransportSettings[F]> => {
    const name = provenance[field];
    return { value: settings[field], from: name ? `MCPTransportPolicy ${name}` : BUILT_IN };
  };
  const grace = explained('terminationGracePeriodSeconds');
  // resolveSettings holds a default inside the bounds in force: say so when it did.
  const setGrace = policies.find((p) => p.name === provenance.terminationGracePeriodSeconds)?.spec.defaults?.terminationGracePeriodSeconds;
  if (setGrace !== undefined && setGrace !== grace.value) grace.from += ` (${setGrace}, held to the bounds in force)`;

  // Crossed bounds are settled by moving the less specific one (resolveSettings):
  // its policy did not set the value in force, so say what it set.
  const bound = (field: 'minTerminationGracePeriodSeconds' | 'maxTerminationGracePeriodSeconds'): ExplainedValue<number> => {
    const value = explained(field);
    const set = policies.find((p) => p.name === provenance[field])?.spec.bounds?.[field];
    if (set !== undefined && set !== value.value) value.from += ` (${set}, moved to meet a more specific policy: see conflicts)`;
    return value;
  };

  const system = (SYSTEM_NAMESPACES as readonly string[]).includes(namespace);
  const own = namespace === options.ownNamespace;
  const judged = !system && !own && !settings.exempt && settings.mode !== 'off';
  const reason = system
    ? `${namespace} is a system namespace: never judged`
    : own
      ? `${namespace} is the webhook's own namespace: never judged`
      : settings.exempt
        ? `exempted by MCPTransportPolicy ${(settings.exemptBy ?? []).join(', ')}`
        : settings.mode === 'off'
          ? `mode off (${explained('mode').from}): nothing is judged`
          : `MCP objects here are judged in mode ${settings.mode}`;
  return {
    namespace,
    labels,
    judged,
    reason,
    mode: explained('mode'),
    exempt: { value: settings.exempt, by: settings.exemptBy ?? [] },
    policies: [...settings.sources],
    defaults: {
      terminationGracePeriodSeconds: grace,
      maxSurge: explained('maxSurge'),
      sessionAffinityTimeoutSeconds: explained('sessionAffinityTimeoutSeconds'),
      preStopSleepSeconds: explained('preStopSleepSeconds'),
      undetectedProtocol: explained('undetectedProtocol'),
    },
    bounds: {
      minTerminationGracePeriodSeconds: bound('minTerminationGracePeriodSeconds'),
      maxTerminationGracePeriodSeconds: bound('maxTerminationGracePeriodSeconds'),
      allowSessionAffinityOptOut: explained('allowSessionAffinityOptOut'),
    },
    conflicts: settings.conflicts.map(describeFinding),
    ignoredPolicies: (options.invalid ?? []).map(({ name, problems }) => ({ name, problems: problems.map((p) => `${p.field}: ${p.message}`) })),
  };
}

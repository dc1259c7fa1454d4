/**
 * Settings the rules run with: the outcome of policy resolution for one
 * namespace. Rules read these and nothing else, so where the numbers come
 * from (built-in defaults, a policy file, MCPTransportPolicy objects) never
 * touches a rule.
 */
import type { Transport } from '../contract.ts';
import type { Finding } from './finding.ts';

/** What the webhook does with an MCP object. */
export type Mode = 'mutate' | 'validate' | 'warn' | 'off';
export const MODES = ['mutate', 'validate', 'warn', 'off'] as const satisfies readonly Mode[];

export interface TransportSettings {
  mode: Mode;
  /** Grace period given to an SSE pod so open streams can drain. */
  terminationGracePeriodSeconds: number;
  /** `maxSurge` set on the rolling update of an SSE Deployment. */
  maxSurge: number | string;
  /** `sessionAffinityConfig.clientIP.timeoutSeconds` on an SSE Service. */
  sessionAffinityTimeoutSeconds: number;
  /** `preStop` sleep on the MCP container; 0 adds none. */
  preStopSleepSeconds: number;
  /** Protocol assumed when neither the user nor the prober has said. */
  undetectedProtocol: Transport;
  /** Bounds on the `termination-grace-period-seconds` annotation. */
  minTerminationGracePeriodSeconds: number;
  maxTerminationGracePeriodSeconds: number;
  /** Whether `session-affinity: "false"` is honoured (with a warning) or refused. */
  allowSessionAffinityOptOut: boolean;
  /**
   * How long an SSE stream must be able to stay open, idle, through an
   * ingress controller or Gateway in front of the server (DESIGN.md "The
   * front door"): proxy read/send timeouts and route timeouts are never shorter.
   */
  streamTimeoutSeconds: number;
  /**
   * Whether mode `mutate` may change Ingresses and HTTPRoutes (and the
   * proxy-specific annotations on Services); when false, routes are judged
   * as in mode `validate`: refused with the fix instead of changed.
   */
  allowFrontDoorMutation: boolean;
  /** True when policy exempts the namespace: the webhook leaves it alone. */
  exempt: boolean;
  /** Names of the policies that contributed, most specific last; empty for built-ins. */
  sources: string[];
  /**
   * Where the contributing policies contradict each other and how it was
   * settled, each naming the policies: reported as warnings on the objects
   * they govern until the policy status carries them.
   */
  conflicts: Finding[];
  /**
   * Which policy set each field, by name; a field not listed is the
   * built-in default. For `mcp-admission explain`; the rules never read it.
   */
  provenance?: Partial<Record<SettingField, string>>;
  /** The policies that exempt the namespace, when `exempt`. */
  exemptBy?: string[];
}

/** The fields a policy can set. */
export type SettingField =
  | 'mode'
  | 'terminationGracePeriodSeconds'
  | 'maxSurge'
  | 'sessionAffinityTimeoutSeconds'
  | 'preStopSleepSeconds'
  | 'undetectedProtocol'
  | 'minTerminationGracePeriodSeconds'
  | 'maxTerminationGracePeriodSeconds'
  | 'allowSessionAffinityOptOut';

/** Built-in defaults (DESIGN.md "MCPTransportPolicy"): used where no policy says otherwise. */
export const BUILT_IN_SETTINGS: Readonly<TransportSettings> = Object.freeze({
  mode: 'mutate',
  terminationGracePeriodSeconds: 120,
  maxSurge: '25%',
  sessionAffinityTimeoutSeconds: 10800,
  preStopSleepSeconds: 0,
  undetectedProtocol: 'sse',
  minTerminationGracePeriodSeconds: 30,
  maxTerminationGracePeriodSeconds: 3600,
  allowSessionAffinityOptOut: true,
  streamTimeoutSeconds: 3600,
  allowFrontDoorMutation: true,
  exempt: false,
  sources: [],
  conflicts: [],
});

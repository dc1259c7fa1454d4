/**
 * Rules for MCP Deployments (DESIGN.md "What happens to an SSE server").
 *
 * The API server defaults fields before admission, so an omitted strategy
 * arrives as RollingUpdate 25%/25% and an omitted grace period as 30: the
 * rules cannot tell "unset" from "set to the default" and treat both alike.
 * Values the API server never defaults (Recreate, `maxSurge: 0`) are a
 * user's explicit choice: they are refused with the fix, never overridden.
 */
import { Annotations } from '../contract.ts';
import {
  DEFAULT_MAX_SURGE,
  DEFAULT_MAX_UNAVAILABLE,
  DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS,
  isZeroIntOrPercent as isZero,
} from '../kubernetes/api-server.ts';
import type { Finding, Verdict } from './finding.ts';
import { policyNames } from './annotations.ts';
import { findMcpContainer, type McpContainer } from './mcp-container.ts';
import type { Deployment } from './objects.ts';
import type { TransportSettings } from './transport-settings.ts';
import { describeWorkload, kubectlMergePatch, type Mutation, type Workload } from './workload.ts';

/**
 * The SSE settings one Deployment must end up with, computed once: the
 * patch, the fix in a refusal and the `applied` annotation all read this,
 * so what validation suggests is what mutation applies.
 */
export interface DesiredDeployment {
  /**
   * `maxSurge` of the safe rolling update: the user's own, unless it is the
   * API server's default or zero (then the policy's). Applied only where the
   * user has not chosen Recreate or a zero surge, which are refused instead.
   */
  maxSurge: number | string;
  /** False for Recreate and an explicit zero surge: refused with the fix, never overridden. */
  strategyMutable: boolean;
  /** The grace period in force afterwards: the required one, never lowering a longer one. */
  terminationGracePeriodSeconds: number;
  /** The grace period the annotation or policy requires. */
  requiredGracePeriodSeconds: number;
  /**
   * The MCP container's preStop sleep when policy asks for one: the
   * container's own (`present`), or the policy's, to add, when it fits
   * inside the grace period.
   */
  preStopSleep?: { container: McpContainer; seconds: number; present: boolean };
  /** Why the policy's preStop sleep is left out, when it is. */
  preStopSkipped?: Finding;
}

export function desiredDeployment(deployment: Deployment, workload: Workload): DesiredDeployment {
  const { settings } = workload;
  const strategy = deployment.spec.strategy ?? {};
  const currentSurge = strategy.rollingUpdate?.maxSurge;
  const maxSurge =
    currentSurge === undefined || currentSurge === null || currentSurge === DEFAULT_MAX_SURGE || isZero(currentSurge)
      ? settings.maxSurge
      : currentSurge;
  const podSpec = deployment.spec.template.spec;
  const required = workload.annotations.values.terminationGracePeriodSeconds ?? settings.terminationGracePeriodSeconds;
  const grace = Math.max(podSpec.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS, required);
  const desired: DesiredDeployment = {
    maxSurge,
    strategyMutable: strategy.type !== 'Recreate' && !isZero(currentSurge),
    terminationGracePeriodSeconds: grace,
    requiredGracePeriodSeconds: required,
  };
  const mcp = findMcpContainer(podSpec.containers, workload.annotations.values.port);
  const sleep = settings.preStopSleepSeconds;
  const preStop = mcp?.container.lifecycle?.preStop as { sleep?: { seconds?: number } } | null | undefined;
  if (sleep > 0 && mcp && preStop) {
    // A hook the user wrote is kept as it is; a sleep of theirs is what is in force.
    if (preStop.sleep?.seconds !== undefined) desired.preStopSleep = { container: mcp, seconds: preStop.sleep.seconds, present: true };
  } else if (sleep > 0 && mcp) {
    // kube-apiserver refuses a sleep longer than the grace period
    // (pkg/apis/core/validation: validateSleepAction); one as long leaves
    // the streams no time to drain. The grace period is what SSE clients
    // rely on, so it is the sleep that gives way.
    if (sleep < grace) desired.preStopSleep = { container: mcp, seconds: sleep, present: false };
    else {
      desired.preStopSkipped = {
        rule: 'deployment-prestop-skipped',
        field: `spec.template.spec.containers[${mcp.index}].lifecycle.preStop`,
        message:
          `policy${policyNames(settings)} asks for a ${sleep}s preStop sleep, which does not fit in this Deployment's ${grace}s grace ` +
          `period, so none is added: the pod may still get requests for a moment after it starts terminating. Fix: a longer grace ` +
          `period (${Annotations.terminationGracePeriodSeconds}), or a shorter preStopSleepSeconds in the policy.`,
      };
    }
  }
  return desired;
}

/**
 * Applies the SSE settings to a copy of `deployment` that shares every
 * unchanged field with it (so neither may be modified in place afterwards).
 * Returns the input unchanged when the server is not SSE or its annotations
 * are invalid (the validating pass then reports every problem at once).
 */
export function mutateDeployment(deployment: Deployment, settings: TransportSettings): Mutation<Deployment> {
  const workload = describeWorkload('deployment', deployment.metadata, settings);
  if (workload.protocol.protocol !== 'sse' || workload.annotations.denials.length > 0) {
    return { object: deployment, changes: [] };
  }
  const desired = desiredDeployment(deployment, workload);
  // A structural copy: new objects along the paths that may change, every
  // other field shared with the input. The patch is diffed against the
  // input, and a diff stops at a shared subtree (fast-json-patch `_generate`
  // returns on identity), so it walks only what was copied.
  const copy: Deployment = {
    ...deployment,
    metadata: { ...deployment.metadata },
    spec: { ...deployment.spec, template: { ...deployment.spec.template, spec: { ...deployment.spec.template.spec } } },
  };
  const changes: string[] = [];
  const spec = copy.spec;

  const strategy = spec.strategy ?? {};
  const rollingUpdate = strategy.rollingUpdate ?? {};
  const { maxSurge } = desired;
  if (desired.strategyMutable && (strategy.type !== 'RollingUpdate' || rollingUpdate.maxSurge !== maxSurge || rollingUpdate.maxUnavailable !== 0)) {
    const before = describeStrategy(strategy.type, rollingUpdate.maxSurge, rollingUpdate.maxUnavailable);
    spec.strategy = { ...strategy, type: 'RollingUpdate', rollingUpdate: { ...rollingUpdate, maxSurge, maxUnavailable: 0 } };
    changes.push(`strategy ${before} -> ${describeStrategy('RollingUpdate', maxSurge, 0)}`);
  }

  const podSpec = spec.template.spec;
  const currentGrace = podSpec.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  if (currentGrace !== desired.terminationGracePeriodSeconds) {
    podSpec.terminationGracePeriodSeconds = desired.terminationGracePeriodSeconds;
    changes.push(`terminationGracePeriodSeconds ${currentGrace} -> ${desired.terminationGracePeriodSeconds}`);
  }

  if (desired.preStopSleep && !desired.preStopSleep.present) {
    const index = desired.preStopSleep.container.index;
    const container = { ...podSpec.containers[index]! };
    container.lifecycle = { ...container.lifecycle, preStop: { sleep: { seconds: desired.preStopSleep.seconds } } };
    podSpec.containers = podSpec.containers.map((c, i) => (i === index ? container : c));
    changes.push(`preStop sleep ${desired.preStopSleep.seconds}s on container "${container.name}"`);
  }

  if (changes.length === 0) return { object: deployment, changes };
  copy.metadata.annotations = { ...copy.metadata.annotations, [Annotations.applied]: describeSettingsInForce(copy, desired) };
  return { object: copy, changes };
}

/**
 * The `applied` annotation: the SSE settings now in force, not this pass's
 * delta. Written from the desired settings and the result alone, so a
 * re-apply that the webhook mends back to the same object writes the same
 * words and stores nothing new.
 */
function describeSettingsInForce(deployment: Deployment, desired: DesiredDeployment): string {
  const parts: string[] = [];
  if (desired.strategyMutable) parts.push(`strategy ${describeStrategy('RollingUpdate', desired.maxSurge, 0)}`);
  parts.push(`terminationGracePeriodSeconds ${desired.terminationGracePeriodSeconds}`);
  const sleep = desired.preStopSleep;
  if (sleep) parts.push(`preStop sleep ${sleep.seconds}s on container "${deployment.spec.template.spec.containers[sleep.container.index]?.name}"`);
  return `SSE settings: ${parts.join('; ')}`;
}

/** Judges a Deployment as it will be stored. Reports every problem. */
export function validateDeployment(deployment: Deployment, settings: TransportSettings): Verdict {
  const workload = describeWorkload('deployment', deployment.metadata, settings);
  const denials: Finding[] = [...workload.annotations.denials];
  const warnings: Finding[] = [...workload.annotations.warnings];
  const spec = deployment.spec;
  const podSpec = spec.template.spec;
  const mcp = findMcpContainer(podSpec.containers, workload.annotations.values.port);

  if (workload.protocol.source === 'policy') {
    warnings.push({
      rule: 'protocol-undetected',
      field: `metadata.annotations[${Annotations.detectedProtocol}]`,
      message:
        `transport not detected yet, so treated as ${workload.protocol.protocol} (policy undetectedProtocol) until the prober ` +
        `reports; set ${Annotations.protocol} to say it now.`,
    });
  }

  if (workload.protocol.protocol === 'sse') {
    const desired = desiredDeployment(deployment, workload);
    denials.push(...strategyDenials(deployment, workload, desired));
    const currentGrace = podSpec.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
    const grace = desired.terminationGracePeriodSeconds;
    if (currentGrace < desired.requiredGracePeriodSeconds) {
      denials.push({
        rule: 'deployment-grace-period',
        field: 'spec.template.spec.terminationGracePeriodSeconds',
        message:
          `${currentGrace}s is shorter than the ${grace}s an SSE server needs: when a pod terminates, its open streams are cut ` +
          `before clients can finish and reconnect to another pod. Fix:\n` +
          `  spec:\n    template:\n      spec:\n        terminationGracePeriodSeconds: ${grace}\n` +
          `or: ${kubectlMergePatch(workload, { spec: { template: { spec: { terminationGracePeriodSeconds: grace } } } })}`,
      });
    }
    const sleep = desired.preStopSleep;
    if (sleep && !sleep.present) {
      denials.push({
        rule: 'deployment-prestop',
        field: `spec.template.spec.containers[${sleep.container.index}].lifecycle.preStop`,
        message:
          `policy asks for a preStop sleep of ${sleep.seconds}s on the MCP container "${sleep.container.container.name}", so the pod ` +
          `leaves the Service's endpoints before its streams are closed. Fix:\n` +
          `  lifecycle:\n    preStop:\n      sleep:\n        seconds: ${sleep.seconds}`,
      });
    }
    if (sleep?.present && sleep.seconds >= currentGrace) {
      warnings.push({
        rule: 'deployment-prestop-grace',
        field: 'spec.template.spec.terminationGracePeriodSeconds',
        message: `${currentGrace}s leaves no time after the ${sleep.seconds}s preStop sleep for streams to drain.`,
      });
    }
    // Policies that contradict each other are reported where they take effect;
    // a policy sleep too long for every grace period is said once, by the policy.
    warnings.push(...settings.conflicts);
    if (desired.preStopSkipped && !settings.conflicts.some((c) => c.field === 'spec.defaults.preStopSleepSeconds')) {
      warnings.push(desired.preStopSkipped);
    }
    if ((spec.replicas ?? 1) === 1) {
      warnings.push({
        rule: 'deployment-single-replica',
        field: 'spec.replicas',
        message:
          'one replica: when its node drains or the pod is evicted, every SSE client loses its session at once. ' +
          'Run at least 2 replicas (spec.replicas: 2) with a PodDisruptionBudget.',
      });
    }
  }

  if (mcp && !mcp.container.readinessProbe) {
    warnings.push({
      rule: 'deployment-readiness-probe',
      field: `spec.template.spec.containers[${mcp.index}].readinessProbe`,
      message:
        `the MCP container "${mcp.container.name}" has no readiness probe, so a rollout sends clients to pods that are not ` +
        `listening yet. Add one, e.g. readinessProbe: {tcpSocket: {port: ${firstPort(mcp.container)}}}.`,
    });
  }
  return { denials, warnings };
}

function strategyDenials(deployment: Deployment, workload: Workload, desired: DesiredDeployment): Finding[] {
  const strategy = deployment.spec.strategy ?? {};
  const rollingUpdate = strategy.rollingUpdate ?? {};
  const { maxSurge } = desired;
  // Written only for a denial: most objects judged have a safe strategy, and the command is a JSON.stringify.
  const fix = () =>
    `Fix:\n  spec:\n    strategy:\n      type: RollingUpdate\n      rollingUpdate:\n        maxSurge: ${yamlScalar(maxSurge)}\n        maxUnavailable: 0\n` +
    `or: ${kubectlMergePatch(workload, { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable: 0 } } } })}`;

  if (strategy.type === 'Recreate') {
    return [
      {
        rule: 'deployment-recreate',
        field: 'spec.strategy.type',
        message:
          'Recreate stops every pod before starting new ones, so each rollout cuts every open SSE stream at once and ' +
          `clients lose their sessions. Use a rolling update that starts new pods before stopping old ones. ${fix()}`,
      },
    ];
  }
  const denials: Finding[] = [];
  if (isZero(rollingUpdate.maxSurge)) {
    denials.push({
      rule: 'deployment-max-surge-zero',
      field: 'spec.strategy.rollingUpdate.maxSurge',
      message:
        `${JSON.stringify(rollingUpdate.maxSurge)} leaves no room to start a new pod before an old one stops; with maxUnavailable: 0, ` +
        `which SSE servers need so streams are not cut mid-rollout, the rollout could never progress. ${fix()}`,
    });
  }
  const maxUnavailable = rollingUpdate.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE;
  if (!isZero(maxUnavailable)) {
    denials.push({
      rule: 'deployment-max-unavailable',
      field: 'spec.strategy.rollingUpdate.maxUnavailable',
      message:
        `${JSON.stringify(maxUnavailable)} lets a rollout stop pods before their replacements are ready, cutting the SSE streams ` +
        `they hold while no pod can take the clients back. ${fix()}`,
    });
  }
  return denials;
}

function describeStrategy(type: string | undefined, maxSurge: unknown, maxUnavailable: unknown): string {
  if (type === undefined) return '(unset)';
  if (type !== 'RollingUpdate') return type;
  return `RollingUpdate(maxSurge ${String(maxSurge ?? DEFAULT_MAX_SURGE)}, maxUnavailable ${String(maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE)})`;
}

function yamlScalar(value: number | string): string {
  return typeof value === 'number' ? String(value) : `"${value}"`;
}

function firstPort(container: { ports?: Array<{ containerPort: number }> | null | undefined }): number | string {
  return container.ports?.[0]?.containerPort ?? '<port>';
}

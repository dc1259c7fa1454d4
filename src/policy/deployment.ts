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
import type { Finding, Verdict } from './finding.ts';
import { findMcpContainer } from './mcp-container.ts';
import type { Deployment } from './objects.ts';
import type { TransportSettings } from './transport-settings.ts';
import { copyJson, describeWorkload, isZero, kubectlMergePatch, type Mutation, type Workload } from './workload.ts';

/** Kubernetes defaults for fields the rules read (pkg/apis/apps/v1/defaults.go, core/v1). */
const DEFAULT_MAX_SURGE = '25%';
const DEFAULT_MAX_UNAVAILABLE = '25%';
const DEFAULT_GRACE_PERIOD_SECONDS = 30;

/** Grace period an SSE Deployment must have: the annotation within bounds, else the policy default. */
function requiredGracePeriod(workload: Workload): number {
  return workload.annotations.values.terminationGracePeriodSeconds ?? workload.settings.terminationGracePeriodSeconds;
}

/**
 * Applies the SSE settings to a copy of `deployment`. Returns the input
 * unchanged when the server is not SSE or its annotations are invalid (the
 * validating pass then reports every problem at once).
 */
export function mutateDeployment(deployment: Deployment, settings: TransportSettings): Mutation<Deployment> {
  const workload = describeWorkload('deployment', deployment.metadata, settings);
  if (workload.protocol.protocol !== 'sse' || workload.annotations.denials.length > 0) {
    return { object: deployment, changes: [] };
  }
  const copy = copyJson(deployment);
  const changes: string[] = [];
  const spec = copy.spec;

  const strategy = spec.strategy ?? {};
  const rollingUpdate = strategy.rollingUpdate ?? {};
  // Recreate and an explicit zero surge are refused by validation instead: we
  // do not override a choice the user made on purpose.
  if (strategy.type !== 'Recreate' && !isZero(rollingUpdate.maxSurge)) {
    const before = describeStrategy(strategy.type, rollingUpdate.maxSurge, rollingUpdate.maxUnavailable);
    const maxSurge =
      rollingUpdate.maxSurge === undefined || rollingUpdate.maxSurge === null || rollingUpdate.maxSurge === DEFAULT_MAX_SURGE
        ? settings.maxSurge
        : rollingUpdate.maxSurge;
    if (strategy.type !== 'RollingUpdate' || rollingUpdate.maxSurge !== maxSurge || rollingUpdate.maxUnavailable !== 0) {
      spec.strategy = { ...strategy, type: 'RollingUpdate', rollingUpdate: { ...rollingUpdate, maxSurge, maxUnavailable: 0 } };
      changes.push(`strategy ${before} -> ${describeStrategy('RollingUpdate', maxSurge, 0)}`);
    }
  }

  const podSpec = spec.template.spec;
  const grace = requiredGracePeriod(workload);
  const currentGrace = podSpec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS;
  if (currentGrace < grace) {
    podSpec.terminationGracePeriodSeconds = grace;
    changes.push(`terminationGracePeriodSeconds ${currentGrace} -> ${grace}`);
  }

  if (settings.preStopSleepSeconds > 0) {
    const mcp = findMcpContainer(podSpec.containers, workload.annotations.values.port);
    if (mcp && !mcp.container.lifecycle?.preStop) {
      mcp.container.lifecycle = { ...mcp.container.lifecycle, preStop: { sleep: { seconds: settings.preStopSleepSeconds } } };
      changes.push(`preStop sleep ${settings.preStopSleepSeconds}s on container "${mcp.container.name}"`);
    }
  }

  if (changes.length === 0) return { object: deployment, changes };
  copy.metadata.annotations = { ...copy.metadata.annotations, [Annotations.applied]: describeSettingsInForce(copy, settings, workload) };
  return { object: copy, changes };
}

/**
 * The `applied` annotation: the SSE settings now in force, not this pass's
 * delta. Written from the result alone, so a re-apply that the webhook
 * mends back to the same object writes the same words and stores nothing new.
 */
function describeSettingsInForce(deployment: Deployment, settings: TransportSettings, workload: Workload): string {
  const spec = deployment.spec;
  const parts: string[] = [];
  const rollingUpdate = spec.strategy?.rollingUpdate;
  if (spec.strategy?.type === 'RollingUpdate' && rollingUpdate?.maxUnavailable === 0) {
    parts.push(`strategy RollingUpdate(maxSurge ${String(rollingUpdate.maxSurge)}, maxUnavailable 0)`);
  }
  parts.push(`terminationGracePeriodSeconds ${spec.template.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS}`);
  const mcp = findMcpContainer(spec.template.spec.containers, workload.annotations.values.port);
  const sleep = (mcp?.container.lifecycle?.preStop as { sleep?: { seconds?: number } } | undefined)?.sleep?.seconds;
  if (settings.preStopSleepSeconds > 0 && sleep !== undefined) parts.push(`preStop sleep ${sleep}s on container "${mcp?.container.name}"`);
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
      field: `metadata.annotations[${Annotations.detectedProtocol}]`,
      message:
        `transport not detected yet, so treated as ${workload.protocol.protocol} (policy undetectedProtocol) until the prober ` +
        `reports; set ${Annotations.protocol} to say it now.`,
    });
  }

  if (workload.protocol.protocol === 'sse') {
    denials.push(...strategyDenials(deployment, workload));
    const grace = requiredGracePeriod(workload);
    const currentGrace = podSpec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS;
    if (currentGrace < grace) {
      denials.push({
        field: 'spec.template.spec.terminationGracePeriodSeconds',
        message:
          `${currentGrace}s is shorter than the ${grace}s an SSE server needs: when a pod terminates, its open streams are cut ` +
          `before clients can finish and reconnect to another pod. Fix:\n` +
          `  spec:\n    template:\n      spec:\n        terminationGracePeriodSeconds: ${grace}\n` +
          `or: ${kubectlMergePatch(workload, { spec: { template: { spec: { terminationGracePeriodSeconds: grace } } } })}`,
      });
    }
    if (settings.preStopSleepSeconds > 0 && mcp && !mcp.container.lifecycle?.preStop) {
      denials.push({
        field: `spec.template.spec.containers[${mcp.index}].lifecycle.preStop`,
        message:
          `policy asks for a preStop sleep of ${settings.preStopSleepSeconds}s on the MCP container "${mcp.container.name}", so the pod ` +
          `leaves the Service's endpoints before its streams are closed. Fix:\n` +
          `  lifecycle:\n    preStop:\n      sleep:\n        seconds: ${settings.preStopSleepSeconds}`,
      });
    }
    if (settings.preStopSleepSeconds > 0 && currentGrace <= settings.preStopSleepSeconds) {
      warnings.push({
        field: 'spec.template.spec.terminationGracePeriodSeconds',
        message: `${currentGrace}s leaves no time after the ${settings.preStopSleepSeconds}s preStop sleep for streams to drain.`,
      });
    }
    if ((spec.replicas ?? 1) === 1) {
      warnings.push({
        field: 'spec.replicas',
        message:
          'one replica: when its node drains or the pod is evicted, every SSE client loses its session at once. ' +
          'Run at least 2 replicas (spec.replicas: 2) with a PodDisruptionBudget.',
      });
    }
  }

  if (mcp && !mcp.container.readinessProbe) {
    warnings.push({
      field: `spec.template.spec.containers[${mcp.index}].readinessProbe`,
      message:
        `the MCP container "${mcp.container.name}" has no readiness probe, so a rollout sends clients to pods that are not ` +
        `listening yet. Add one, e.g. readinessProbe: {tcpSocket: {port: ${firstPort(mcp.container)}}}.`,
    });
  }
  return { denials, warnings };
}

function strategyDenials(deployment: Deployment, workload: Workload): Finding[] {
  const strategy = deployment.spec.strategy ?? {};
  const rollingUpdate = strategy.rollingUpdate ?? {};
  const maxSurge = isZero(rollingUpdate.maxSurge) ? workload.settings.maxSurge : (rollingUpdate.maxSurge ?? workload.settings.maxSurge);
  const safeStrategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable: 0 } };
  const fix =
    `Fix:\n  spec:\n    strategy:\n      type: RollingUpdate\n      rollingUpdate:\n        maxSurge: ${yamlScalar(maxSurge)}\n        maxUnavailable: 0\n` +
    `or: ${kubectlMergePatch(workload, { spec: { strategy: safeStrategy } })}`;

  if (strategy.type === 'Recreate') {
    return [
      {
        field: 'spec.strategy.type',
        message:
          'Recreate stops every pod before starting new ones, so each rollout cuts every open SSE stream at once and ' +
          `clients lose their sessions. Use a rolling update that starts new pods before stopping old ones. ${fix}`,
      },
    ];
  }
  const denials: Finding[] = [];
  if (isZero(rollingUpdate.maxSurge)) {
    denials.push({
      field: 'spec.strategy.rollingUpdate.maxSurge',
      message:
        `${JSON.stringify(rollingUpdate.maxSurge)} leaves no room to start a new pod before an old one stops; with maxUnavailable: 0, ` +
        `which SSE servers need so streams are not cut mid-rollout, the rollout could never progress. ${fix}`,
    });
  }
  const maxUnavailable = rollingUpdate.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE;
  if (!isZero(maxUnavailable)) {
    denials.push({
      field: 'spec.strategy.rollingUpdate.maxUnavailable',
      message:
        `${JSON.stringify(maxUnavailable)} lets a rollout stop pods before their replacements are ready, cutting the SSE streams ` +
        `they hold while no pod can take the clients back. ${fix}`,
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

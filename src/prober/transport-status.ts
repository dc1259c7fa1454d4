/**
 * What the prober writes on a Service or Deployment: the `detected-protocol`
 * and `transport-status` annotations (DESIGN.md, "Annotations"), when to
 * write them, and whether the webhook's SSE settings are visible yet. Pure:
 * objects in, annotations out.
 */
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { Annotations, DETECTED_PROTOCOLS, type DetectedProtocol, type TransportStatus } from '../contract.ts';
import { DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS, isZeroIntOrPercent } from '../kubernetes/api-server.ts';

/** An object the prober annotates. */
export type ProbedObject = { kind: 'Service'; object: V1Service } | { kind: 'Deployment'; object: V1Deployment };

/** The part of a detection that the annotations record. */
export interface DetectionSummary {
  protocol: DetectedProtocol;
  protocolVersion?: string;
  endpoint?: string;
  reason: string;
}

/**
 * The smallest grace period that counts as SSE-safe: the built-in lower
 * bound of the policy (DESIGN.md, MCPTransportPolicy: bounds 30..3600).
 */
export const MIN_SSE_GRACE_PERIOD_SECONDS = 30;

/** Why a write happens; each maps to an Event (or none). */
export type StatusTransition =
  /** First result on this object, or a `revalidate` asked for a fresh one. */
  | 'detected'
  /** The protocol differs from the one recorded. */
  | 'changed'
  /** The probe found nothing; `kept` when a known protocol stays recorded. */
  | 'failed'
  /** The webhook's SSE settings became visible. */
  | 'sse-config-applied'
  /** Details changed (reason, version, generation); no event. */
  | 'updated'
  /** Nothing to write. */
  | 'unchanged';

/** The outcome of {@link planStatus}. */
export interface StatusPlan {
  transition: StatusTransition;
  /** Annotations to merge onto the object; absent when nothing is written. */
  annotations?: Record<string, string>;
  status: TransportStatus;
  previous?: TransportStatus;
  /** True when a failed probe left a previously known protocol in place. */
  kept: boolean;
}

/** Reads and checks the `transport-status` annotation; undefined when absent or malformed. */
export function readTransportStatus(annotations: Record<string, string> | undefined): TransportStatus | undefined {
  const raw = annotations?.[Annotations.transportStatus];
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const status = parsed as Partial<TransportStatus>;
  if (!DETECTED_PROTOCOLS.includes(status.protocol as DetectedProtocol)) return undefined;
  if (typeof status.detectedAt !== 'string' || typeof status.reason !== 'string') return undefined;
  return status as TransportStatus;
}

/**
 * What the mutating webhook says it put in place, read from its `applied`
 * annotation (DESIGN.md, "Annotations": what the webhook changed, in
 * words). That annotation is the contract between the two: the prober
 * knows nothing of policies, yet learns the grace period, preStop sleep and
 * affinity timeout policy asked for. Wording the webhook writes
 * (src/policy/deployment.ts, service.ts): `terminationGracePeriodSeconds
 * N`, `preStop sleep Ns on container "NAME"`, `sessionAffinity ClientIP
 * (timeout Ns)`. A part that does not read as such is left out, never
 * guessed; test/unit/prober/sse-config-applied.test.ts pins the wording
 * with the webhook's own mutation.
 */
export interface AppliedSettings {
  terminationGracePeriodSeconds?: number;
  preStopSleep?: { container: string; seconds: number };
  sessionAffinityTimeoutSeconds?: number;
}

/** Reads the `applied` annotation; empty when absent or unreadable. */
export function readAppliedSettings(annotations: Record<string, string> | undefined): AppliedSettings {
  const applied = annotations?.[Annotations.applied];
  if (typeof applied !== 'string' || !applied.startsWith('SSE settings:')) return {};
  const settings: AppliedSettings = {};
  const grace = /(?:^|[:;] )terminationGracePeriodSeconds (\d{1,6})(?:;|$)/.exec(applied);
  if (grace) settings.terminationGracePeriodSeconds = Number(grace[1]);
  const sleep = /(?:^|[:;] )preStop sleep (\d{1,6})s on container "([^"]{1,253})"(?:;|$)/.exec(applied);
  if (sleep) settings.preStopSleep = { seconds: Number(sleep[1]), container: sleep[2]! };
  const affinity = /(?:^|[:;] )sessionAffinity ClientIP \(timeout (\d{1,6})s\)(?:;|$)/.exec(applied);
  if (affinity) settings.sessionAffinityTimeoutSeconds = Number(affinity[1]);
  return settings;
}

/**
 * True once the webhook's SSE settings are visible on the object (DESIGN.md,
 * "What happens to an SSE server"), and still what the webhook applied.
 * An object that already had safe settings gets no `applied` note, yet is
 * safe, so the settings themselves decide, held to what `applied` names:
 * - Deployment: `RollingUpdate` with `maxUnavailable: 0`; a grace period of
 *   at least 30 s, the `termination-grace-period-seconds` annotation when
 *   it parses, and the grace period the webhook applied; the preStop hook
 *   on the container the webhook put a sleep on.
 * - Service: `sessionAffinity: ClientIP` with the timeout the webhook
 *   applied, or affinity opted out with `session-affinity: "false"` (then
 *   the webhook has nothing to apply).
 */
export function sseSettingsVisible(target: ProbedObject): boolean {
  const annotations = target.object.metadata?.annotations ?? {};
  const applied = readAppliedSettings(annotations);
  if (target.kind === 'Service') {
    if (annotations[Annotations.sessionAffinity] === 'false') return true;
    const spec = target.object.spec;
    if (spec?.sessionAffinity !== 'ClientIP') return false;
    return (
      applied.sessionAffinityTimeoutSeconds === undefined ||
      spec.sessionAffinityConfig?.clientIP?.timeoutSeconds === applied.sessionAffinityTimeoutSeconds
    );
  }
  const spec = target.object.spec;
  const strategy = spec?.strategy;
  if (strategy?.type !== 'RollingUpdate') return false;
  const maxUnavailable = strategy.rollingUpdate?.maxUnavailable;
  if (!isZeroIntOrPercent(maxUnavailable)) return false;
  const requested = Number(annotations[Annotations.terminationGracePeriodSeconds]);
  const wanted = Math.max(
    MIN_SSE_GRACE_PERIOD_SECONDS,
    Number.isInteger(requested) && requested > 0 ? requested : 0,
    applied.terminationGracePeriodSeconds ?? 0,
  );
  const grace = spec?.template?.spec?.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  if (grace < wanted) return false;
  if (applied.preStopSleep) {
    const container = spec?.template?.spec?.containers?.find((c) => c.name === applied.preStopSleep?.container);
    if (!container?.lifecycle?.preStop) return false;
  }
  return true;
}

/**
 * Decides what to write on `target` for `detection`.
 * - A result identical to the recorded one is not rewritten (a periodic
 *   probe causes no writes, so no webhook calls), unless `refresh` (a
 *   `revalidate` change) asks for a new `detectedAt`.
 * - A failed probe (`unknown`) never erases a known protocol: a server that
 *   is down during a rollout is still SSE. The failure is reported (an Event)
 *   and the annotations stay.
 */
export function planStatus(
  target: ProbedObject,
  detection: DetectionSummary,
  options: { detectedAt: string; refresh: boolean },
): StatusPlan {
  const metadata = target.object.metadata ?? {};
  const annotations = metadata.annotations ?? {};
  const previous = readTransportStatus(annotations);
  const recordedProtocol = annotations[Annotations.detectedProtocol];

  if (detection.protocol === 'unknown' && previous && previous.protocol !== 'unknown') {
    return { transition: 'failed', status: previous, previous, kept: true };
  }

  const sameDetection =
    previous !== undefined &&
    previous.protocol === detection.protocol &&
    previous.protocolVersion === detection.protocolVersion &&
    previous.endpoint === detection.endpoint &&
    previous.reason === detection.reason;
  const sseConfigApplied = detection.protocol === 'sse' ? sseSettingsVisible(target) : undefined;
  const status: TransportStatus = {
    protocol: detection.protocol,
    ...(detection.protocolVersion ? { protocolVersion: detection.protocolVersion } : {}),
    ...(detection.endpoint ? { endpoint: detection.endpoint } : {}),
    detectedAt: sameDetection && !options.refresh ? previous.detectedAt : options.detectedAt,
    ...(metadata.generation !== undefined ? { observedGeneration: metadata.generation } : {}),
    ...(sseConfigApplied !== undefined ? { sseConfigApplied } : {}),
    reason: detection.reason,
  };

  // A new generation alone is no reason to write: what it could change,
  // `sseConfigApplied`, is decided from the object itself just above. And
  // the API server moves a Deployment's generation on every annotation
  // change (pkg/registry/apps/deployment/strategy.go), so a status that had
  // to match it would be one behind after each write of its own: a write per
  // pass, and under `--watch` a write per write, without end.
  const unchanged =
    sameDetection &&
    !options.refresh &&
    recordedProtocol === detection.protocol &&
    previous.sseConfigApplied === status.sseConfigApplied;
  if (unchanged) return { transition: 'unchanged', status, previous, kept: false };

  return {
    transition: transitionOf(previous, status, options.refresh),
    annotations: {
      [Annotations.detectedProtocol]: status.protocol,
      [Annotations.transportStatus]: JSON.stringify(status),
    },
    status,
    ...(previous ? { previous } : {}),
    kept: false,
  };
}

function transitionOf(previous: TransportStatus | undefined, next: TransportStatus, refresh: boolean): StatusTransition {
  if (next.protocol === 'unknown') {
    return previous?.protocol === 'unknown' && previous.reason === next.reason && !refresh ? 'updated' : 'failed';
  }
  if (!previous || refresh) return 'detected';
  if (previous.protocol !== next.protocol) return 'changed';
  if (next.sseConfigApplied === true && previous.sseConfigApplied !== true) return 'sse-config-applied';
  return 'updated';
}

/** Rebuilds the detection a Service's status records, to copy it onto a Deployment. */
export function detectionOf(status: TransportStatus): DetectionSummary {
  return {
    protocol: status.protocol,
    ...(status.protocolVersion ? { protocolVersion: status.protocolVersion } : {}),
    ...(status.endpoint ? { endpoint: status.endpoint } : {}),
    reason: status.reason,
  };
}

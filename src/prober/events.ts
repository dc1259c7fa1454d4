/**
 * Kubernetes Events the prober emits (DESIGN.md, "The prober": detected,
 * changed, failed), as `v1 Event` objects so `kubectl describe` shows them
 * beside the Service or Deployment.
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import { DEFAULT_NAMESPACE } from '../kubernetes/api-server.ts';
import { eventName } from './event-recorder.ts';
import type { StatusPlan } from './transport-status.ts';
import type { ProbedObject } from './transport-status.ts';

/** `source.component` and `reportingComponent` of our Events. */
export const PROBER_COMPONENT = 'mcp-admission-prober';

/** Event reasons, one per transition worth telling a person about. */
export const EventReasons = {
  detected: 'TransportDetected',
  changed: 'TransportChanged',
  failed: 'ProbeFailed',
  sseConfigApplied: 'SSEConfigApplied',
} as const;

/** The Event for a status plan, or undefined when the transition is not news. */
export function transitionEvent(
  target: ProbedObject,
  plan: StatusPlan,
  failureReason: string,
  now: Date,
  instance: string,
): CoreV1Event | undefined {
  const { status, previous } = plan;
  const version = status.protocolVersion ? ` (${status.protocolVersion})` : '';
  let reason: string;
  let type = 'Normal';
  let message: string;
  switch (plan.transition) {
    case 'detected':
      reason = EventReasons.detected;
      message = `Detected ${status.protocol}${version}: ${status.reason}`;
      break;
    case 'changed':
      reason = EventReasons.changed;
      message = `Transport changed from ${previous?.protocol ?? 'none'} to ${status.protocol}${version}: ${status.reason}`;
      break;
    case 'failed':
      reason = EventReasons.failed;
      type = 'Warning';
      message = plan.kept
        ? `Probe failed, keeping detected ${status.protocol}: ${failureReason}`
        : `Probe found no MCP transport: ${failureReason}`;
      break;
    case 'sse-config-applied':
      reason = EventReasons.sseConfigApplied;
      message = 'SSE settings of the admission webhook are in place (sseConfigApplied: true)';
      break;
    default:
      return undefined;
  }
  const metadata = target.object.metadata ?? {};
  return proberEvent(
    {
      apiVersion: target.kind === 'Service' ? 'v1' : 'apps/v1',
      kind: target.kind,
      name: metadata.name ?? '',
      namespace: metadata.namespace ?? DEFAULT_NAMESPACE,
      ...(metadata.uid ? { uid: metadata.uid } : {}),
      ...(metadata.resourceVersion ? { resourceVersion: metadata.resourceVersion } : {}),
    },
    { type, reason, message },
    now,
    instance,
  );
}

/** The object an Event is about. */
export interface EventSubject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
}

/**
 * One of our Events about `subject`, in its namespace, from this prober
 * instance, named for the object and the reason so a repeat is counted on
 * it rather than created again (event-recorder.ts).
 */
export function proberEvent(
  subject: EventSubject,
  what: { type: 'Normal' | 'Warning' | string; reason: string; message: string },
  now: Date,
  instance: string,
): CoreV1Event {
  return {
    metadata: { name: eventName(subject, what.reason), namespace: subject.namespace },
    involvedObject: subject,
    reason: what.reason,
    type: what.type,
    // The API server caps messages at 1 KiB.
    message: what.message.length > 1024 ? `${what.message.slice(0, 1023)}…` : what.message,
    source: { component: PROBER_COMPONENT },
    reportingComponent: PROBER_COMPONENT,
    reportingInstance: instance,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

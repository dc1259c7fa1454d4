/**
 * The product contract shared by the webhook and the prober: the label that
 * selects MCP servers, annotation names and the values they may carry.
 * Nothing here imports anything; both sides depend on this file alone.
 */

/** Label (and value) that marks a Deployment or Service as an MCP server. */
export const MCP_COMPONENT_LABEL = 'app.kubernetes.io/component';
export const MCP_COMPONENT_VALUE = 'mcp-server';

export const ANNOTATION_PREFIX = 'mcp-admission.dev/';

/** Annotations users set on a Deployment or Service. */
export const Annotations = {
  protocol: `${ANNOTATION_PREFIX}protocol`,
  path: `${ANNOTATION_PREFIX}path`,
  port: `${ANNOTATION_PREFIX}port`,
  terminationGracePeriodSeconds: `${ANNOTATION_PREFIX}termination-grace-period-seconds`,
  sessionAffinity: `${ANNOTATION_PREFIX}session-affinity`,
  sessionAffinityTimeoutSeconds: `${ANNOTATION_PREFIX}session-affinity-timeout-seconds`,
  revalidate: `${ANNOTATION_PREFIX}revalidate`,
  /** Written by the prober. */
  detectedProtocol: `${ANNOTATION_PREFIX}detected-protocol`,
  /** Written by the prober: JSON, see {@link TransportStatus}. */
  transportStatus: `${ANNOTATION_PREFIX}transport-status`,
  /** Written by the mutating webhook: what it changed, in words. */
  applied: `${ANNOTATION_PREFIX}applied`,
} as const;

/**
 * Port names that mark the MCP port when no `port` annotation says, in order
 * of preference: the webhook finds the MCP container by them, the prober the
 * Service port to probe.
 */
export const MCP_PORT_NAMES: readonly string[] = ['mcp', 'http'];

/** Endpoint paths the prober tries, in order, when no `path` annotation is set. */
export const DEFAULT_PROBE_PATHS: readonly string[] = ['/mcp', '/sse'];

/** The annotations the prober writes, and the only fields it ever changes. */
export const PROBER_ANNOTATIONS: readonly string[] = [Annotations.detectedProtocol, Annotations.transportStatus];

/** Values of the `protocol` annotation. */
export const DECLARED_PROTOCOLS = ['auto', 'sse', 'streamable-http'] as const;
export type DeclaredProtocol = (typeof DECLARED_PROTOCOLS)[number];

/** Transports a server can be found to speak. */
export type Transport = 'sse' | 'streamable-http';

/** Values of the `detected-protocol` annotation. */
export const DETECTED_PROTOCOLS = ['sse', 'streamable-http', 'unknown'] as const;
export type DetectedProtocol = (typeof DETECTED_PROTOCOLS)[number];

/**
 * The JSON held by the `transport-status` annotation, written by the prober:
 * what was detected, where, when, and whether the SSE settings are in place.
 */
export interface TransportStatus {
  protocol: DetectedProtocol;
  /** `protocolVersion` the server answered with (`2024-11-05` for legacy SSE). */
  protocolVersion?: string;
  /** URL that was probed successfully (for SSE, the stream URL). */
  endpoint?: string;
  /** RFC 3339 time of the probe. */
  detectedAt: string;
  /** `metadata.generation` of the annotated object when the status was written. */
  observedGeneration?: number;
  /** True once the webhook's SSE settings are visible on the object. */
  sseConfigApplied?: boolean;
  /** Why the result is what it is, for a person. */
  reason: string;
}

/** Namespace the webhook and the prober are installed in unless told otherwise (POD_NAMESPACE). */
export const DEFAULT_INSTALL_NAMESPACE = 'mcp-admission';

/** Namespaces the webhook never touches, whatever the policy says. */
export const SYSTEM_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'] as const;

/** API group and resource of the policy CRD. */
export const POLICY_GROUP = 'mcp-admission.dev';
export const POLICY_VERSION = 'v1alpha1';
export const POLICY_KIND = 'MCPTransportPolicy';
export const POLICY_PLURAL = 'mcptransportpolicies';

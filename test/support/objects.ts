/**
 * The one factory for MCP Deployments and Services in tests: as a user would
 * write them, or as the API server stores them (`defaulted`), built fresh
 * per test so no test sees another's changes. The AdmissionReview fixtures
 * in test/fixtures are the same objects as the API server sends them.
 */
import { ANNOTATION_PREFIX, Annotations, MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../../src/contract.ts';
import { DEFAULT_MAX_SURGE, DEFAULT_MAX_UNAVAILABLE, DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS } from '../../src/kubernetes/api-server.ts';

/** A manifest as plain JSON. */
export type Manifest = Record<string, any>;

/** Options for {@link mcpDeployment} and {@link mcpService}. */
export interface McpObjectOptions {
  namespace: string;
  /** Values of `mcp-admission.dev/*` annotations, by short key (`protocol`, ...) or full name. */
  annotations?: Record<string, string>;
  /** Leave out the `app.kubernetes.io/component: mcp-server` label. */
  unlabelled?: boolean;
  /** Labels of the pods: what the Deployment selects and the Service routes to. Default `app.kubernetes.io/name: NAME`. */
  podLabels?: Record<string, string>;
  /** As the API server stores a Deployment: strategy and grace period filled in with its defaults. */
  defaulted?: boolean;
}

function metadata(name: string, options: McpObjectOptions): Manifest {
  return {
    name,
    namespace: options.namespace,
    labels: {
      'app.kubernetes.io/name': name,
      ...(options.unlabelled ? {} : { [MCP_COMPONENT_LABEL]: MCP_COMPONENT_VALUE }),
    },
    annotations: Object.fromEntries(
      Object.entries(options.annotations ?? {}).map(([key, value]) => [key.includes('/') ? key : `${ANNOTATION_PREFIX}${key}`, value]),
    ),
  };
}

/**
 * An MCP server Deployment with two replicas and a readiness probe, so it
 * draws no warnings of its own; strategy and grace period are left to the
 * API server's defaults unless `spec` overrides them.
 */
export function mcpDeployment(name: string, options: McpObjectOptions, spec: Manifest = {}): Manifest {
  const { template, ...rest } = spec;
  const podLabels = options.podLabels ?? { 'app.kubernetes.io/name': name };
  const defaults = options.defaulted
    ? { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: DEFAULT_MAX_SURGE, maxUnavailable: DEFAULT_MAX_UNAVAILABLE } } }
    : {};
  const podDefaults = options.defaulted ? { terminationGracePeriodSeconds: DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS } : {};
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(name, options),
    spec: {
      replicas: 2,
      selector: { matchLabels: podLabels },
      ...defaults,
      ...rest,
      template: {
        metadata: { labels: podLabels },
        spec: {
          ...podDefaults,
          containers: [
            {
              name: 'server',
              image: 'ghcr.io/example/mcp-server:1.0.0',
              ports: [{ name: 'mcp', containerPort: 8080 }],
              readinessProbe: { tcpSocket: { port: 'mcp' } },
            },
          ],
          ...(template?.spec ?? {}),
        },
      },
    },
  };
}

/** An MCP server Service in front of {@link mcpDeployment}'s pods. */
export function mcpService(name: string, options: McpObjectOptions, spec: Manifest = {}): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(name, options),
    spec: {
      selector: options.podLabels ?? { 'app.kubernetes.io/name': name },
      ports: [{ name: 'mcp', port: 80, targetPort: 'mcp' }],
      ...spec,
    },
  };
}

/** The `applied` annotation the mutating webhook writes. */
export const APPLIED = Annotations.applied;

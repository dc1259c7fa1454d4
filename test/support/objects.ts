/**
 * Manifests for the scenarios: MCP Deployments and Services as a user would
 * write them, built fresh per test so no test sees another's changes.
 */
import { Annotations, MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../../src/contract.ts';

/** A manifest as plain JSON. */
export type Manifest = Record<string, any>;

/** Options for {@link mcpDeployment} and {@link mcpService}. */
export interface McpObjectOptions {
  namespace: string;
  /** Values of `mcp-admission.dev/*` annotations, by short key (`protocol`, ...). */
  annotations?: Record<string, string>;
  /** Leave out the `app.kubernetes.io/component: mcp-server` label. */
  unlabelled?: boolean;
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
      Object.entries(options.annotations ?? {}).map(([key, value]) => [`mcp-admission.dev/${key}`, value]),
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
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(name, options),
    spec: {
      replicas: 2,
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      ...rest,
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': name } },
        spec: {
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
      selector: { 'app.kubernetes.io/name': name },
      ports: [{ name: 'mcp', port: 80, targetPort: 'mcp' }],
      ...spec,
    },
  };
}

/** The `applied` annotation the mutating webhook writes. */
export const APPLIED = Annotations.applied;

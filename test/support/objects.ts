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

/** Options for {@link mcpIngress} and {@link mcpHTTPRoute}. */
export interface RouteOptions {
  namespace: string;
  /** The Service(s) it routes to (default: the route's own name). */
  services?: string[];
  annotations?: Record<string, string>;
  unlabelled?: boolean;
}

const routeMetadata = (name: string, options: RouteOptions): Manifest => ({
  name,
  namespace: options.namespace,
  labels: options.unlabelled ? {} : { [MCP_COMPONENT_LABEL]: MCP_COMPONENT_VALUE },
  annotations: { ...options.annotations },
});

/** A labelled Ingress of `className` sending `/` (and, per extra Service, `/<name>`) to MCP Services. */
export function mcpIngress(name: string, className: string | undefined, options: RouteOptions): Manifest {
  const services = options.services ?? [name];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: routeMetadata(name, options),
    spec: {
      ...(className && { ingressClassName: className }),
      rules: [
        {
          http: {
            paths: services.map((service, i) => ({
              path: i === 0 ? '/' : `/${service}`,
              pathType: 'Prefix',
              backend: { service: { name: service, port: { number: 80 } } },
            })),
          },
        },
      ],
    },
  };
}

/** A labelled HTTPRoute under Gateway `gateway`, one rule per Service. */
export function mcpHTTPRoute(name: string, gateway: string, options: RouteOptions, rule: Manifest = {}): Manifest {
  const services = options.services ?? [name];
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: routeMetadata(name, options),
    spec: {
      parentRefs: [{ name: gateway }],
      rules: services.map((service) => ({ backendRefs: [{ name: service, port: 80 }], ...rule })),
    },
  };
}

/** An IngressClass naming its controller. */
export const ingressClass = (name: string, controller: string, isDefault = false): Manifest => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name, ...(isDefault && { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }) },
  spec: { controller },
});

/** A GatewayClass naming its controller. */
export const gatewayClass = (name: string, controllerName: string): Manifest => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'GatewayClass',
  metadata: { name },
  spec: { controllerName },
});

/** A Gateway of `className` with one HTTP listener. */
export const gateway = (name: string, namespace: string, className: string, port = 80): Manifest => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name, namespace },
  spec: { gatewayClassName: className, listeners: [{ name: 'http', protocol: 'HTTP', port }] },
});

/**
 * A policy under which undetected servers count as streamable-http, so SSE
 * settings can only come from a `detected-protocol: sse` the prober writes.
 */
export const TRUST_THE_PROBER_POLICY: Manifest = {
  apiVersion: 'mcp-admission.dev/v1alpha1',
  kind: 'MCPTransportPolicy',
  metadata: { name: 'trust-the-prober' },
  spec: { defaults: { undetectedProtocol: 'streamable-http' } },
};

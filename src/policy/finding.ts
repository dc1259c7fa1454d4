/**
 * A finding is one problem with one field: what is wrong, why it matters to
 * SSE clients, and how to fix it. Denials and warnings share the shape, so a
 * mode can turn one into the other without rewording.
 */
export interface Finding {
  /**
   * Stable id of the rule that found it, e.g. `deployment-recreate`. Metrics
   * count findings by it (`mcp_admission_findings_total{rule}`), so it never
   * carries a value from the object and the set is closed: {@link RULES}.
   */
  rule: RuleId;
  /** Field path in the object, e.g. `spec.strategy.type` or `metadata.annotations[mcp-admission.dev/port]`. */
  field: string;
  /** The whole message a person reads: problem, consequence, fix. */
  message: string;
  /**
   * The fix in one line (a command), for a finding whose point is what to
   * run: it also ends `message` (after "Fix:"), and as a warning (mode
   * warn, or a warning rule) the finding keeps it whole where warnings
   * otherwise drop the fix (warningText in src/admission/admission.ts).
   */
  fix?: string;
}

/**
 * Every rule id, by the object it judges. Closed and stable: dashboards and
 * alerts select on these, and a metric label must not grow with input.
 */
export const RULES = [
  // metadata.annotations (src/policy/annotations.ts)
  'annotation-protocol',
  'annotation-path',
  'annotation-port',
  'annotation-grace-period',
  'annotation-session-affinity',
  'annotation-affinity-opt-out',
  'annotation-affinity-timeout',
  // Deployment and Service alike
  'protocol-undetected',
  // Deployment (src/policy/deployment.ts)
  'deployment-recreate',
  'deployment-max-surge-zero',
  'deployment-max-unavailable',
  'deployment-grace-period',
  'deployment-prestop',
  'deployment-prestop-grace',
  'deployment-prestop-skipped',
  'deployment-single-replica',
  'deployment-readiness-probe',
  // Service (src/policy/service.ts)
  'service-port',
  'service-affinity-not-applicable',
  'service-session-affinity',
  'service-affinity-timeout',
  'service-external-traffic-policy',
  'service-traefik-native-lb',
  // Ingress and HTTPRoute: the front door (src/policy/front-door.ts, ingress.ts, http-route.ts)
  'route-backend-unknown',
  'route-controller-unconfigurable',
  'route-traefik-native-lb',
  'route-traefik-shared-replica',
  'route-unlabelled',
  'ingress-nginx-cookie-affinity',
  'ingress-nginx-upstream-hash',
  'ingress-nginx-read-timeout',
  'ingress-nginx-send-timeout',
  'ingress-nginx-buffering',
  'httproute-timeout',
  'httproute-client-address-hashing',
  // MCPTransportPolicy (src/policy/transport-policy.ts)
  'policy-schema',
  'policy-selector',
  'policy-exempt-namespace',
  'policy-bounds',
  'policy-max-surge-zero',
  'policy-default-out-of-bounds',
  'policy-prestop-sleep',
  // Policies that contradict each other where they meet (resolveSettings), reported on the workloads they reach
  'policy-conflicting-bounds',
  'policy-conflicting-prestop-sleep',
] as const;
export type RuleId = (typeof RULES)[number];

/** Outcome of validating one object. */
export interface Verdict {
  denials: Finding[];
  warnings: Finding[];
}

/** Renders a finding as one line, as kubectl shows warnings and denial causes. */
export function describeFinding(finding: Finding): string {
  return `${finding.field}: ${finding.message}`;
}

/** Field path of an annotation, in the bracket form Kubernetes uses for map keys. */
export function annotationField(key: string): string {
  return `metadata.annotations[${key}]`;
}

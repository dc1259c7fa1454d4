/**
 * The CEL equivalent of mcp-admission's SSE rules, for the through-the-API-
 * server benchmark: a MutatingAdmissionPolicy and a ValidatingAdmissionPolicy
 * (admissionregistration.k8s.io/v1, GA in Kubernetes 1.37) with their
 * bindings, matching what the webhook configurations match (labelled
 * Deployments, CREATE and UPDATE, outside the system namespaces, not being
 * deleted) and doing what mcp-admission does to an SSE Deployment with the
 * built-in defaults (DESIGN.md "What happens to an SSE server"):
 *
 * - mutate: `strategy` RollingUpdate with maxSurge 25% and maxUnavailable 0;
 *   terminationGracePeriodSeconds raised to 120, a larger one kept; an
 *   annotation saying it was applied (mcp-admission writes `applied` too);
 * - validate: maxUnavailable is 0 and the grace period at least 120.
 *
 * It is the floor for doing this job in the API server: no policy objects,
 * no per-namespace settings, no annotation parsing, no explanations.
 */
import { Annotations, MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE, SYSTEM_NAMESPACES } from '../../src/contract.ts';

type Json = Record<string, any>;

export const CEL_POLICY_NAME = 'bench-mcp-sse';
/** Written by the MutatingAdmissionPolicy, so a stored object tells which mutator ran. */
export const CEL_APPLIED_ANNOTATION = 'bench.mcp-admission.dev/applied-by';
/**
 * Objects with this annotation skip the MutatingAdmissionPolicy but not the
 * ValidatingAdmissionPolicy: a dry run with it is refused exactly when the
 * validating policy is in force, which the API server shows no other way
 * (it has no per-policy metric for an allowed request). Costs the mutating
 * policy one more match condition, a map lookup.
 */
export const SKIP_CEL_MUTATION_ANNOTATION = 'bench.mcp-admission.dev/skip-mutation';

const GRACE = 120;

const matchConstraints = {
  resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'], operations: ['CREATE', 'UPDATE'] }],
  objectSelector: { matchLabels: { [MCP_COMPONENT_LABEL]: MCP_COMPONENT_VALUE } },
  namespaceSelector: {
    matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...SYSTEM_NAMESPACES, 'mcp-admission'] }],
  },
};

// An explicit protocol wins, else the prober's; anything not streamable-http is treated as SSE (undetectedProtocol: sse).
const protocol = `object.metadata.?annotations[?'${Annotations.protocol}'].orValue('auto')`;
const detected = `object.metadata.?annotations[?'${Annotations.detectedProtocol}'].orValue('')`;
const matchConditions = [
  { name: 'not-being-deleted', expression: '!has(object.metadata.deletionTimestamp)' },
  { name: 'sse', expression: `!(${protocol} == 'streamable-http' || (${protocol} == 'auto' && ${detected} == 'streamable-http'))` },
];

const grace = 'object.spec.template.spec.terminationGracePeriodSeconds';

/** The four objects: MutatingAdmissionPolicy, its binding, ValidatingAdmissionPolicy, its binding. */
export function celAdmissionPolicies(): Json[] {
  const apiVersion = 'admissionregistration.k8s.io/v1';
  const metadata = { name: CEL_POLICY_NAME };
  return [
    {
      apiVersion,
      kind: 'MutatingAdmissionPolicy',
      metadata,
      spec: {
        matchConstraints,
        matchConditions: [
          ...matchConditions,
          { name: 'not-a-validation-probe', expression: `!(${JSON.stringify(SKIP_CEL_MUTATION_ANNOTATION)} in object.metadata.?annotations.orValue({}))` },
        ],
        failurePolicy: 'Fail',
        reinvocationPolicy: 'IfNeeded',
        mutations: [
          {
            patchType: 'ApplyConfiguration',
            applyConfiguration: {
              expression: `Object{
  metadata: Object.metadata{annotations: {"${CEL_APPLIED_ANNOTATION}": "cel"}},
  spec: Object.spec{
    strategy: Object.spec.strategy{type: "RollingUpdate", rollingUpdate: Object.spec.strategy.rollingUpdate{maxSurge: "25%", maxUnavailable: 0}},
    template: Object.spec.template{spec: Object.spec.template.spec{
      terminationGracePeriodSeconds: has(${grace}) && ${grace} > ${GRACE} ? ${grace} : ${GRACE}
    }}
  }
}`,
            },
          },
        ],
      },
    },
    { apiVersion, kind: 'MutatingAdmissionPolicyBinding', metadata, spec: { policyName: CEL_POLICY_NAME } },
    {
      apiVersion,
      kind: 'ValidatingAdmissionPolicy',
      metadata,
      spec: {
        matchConstraints,
        matchConditions,
        failurePolicy: 'Fail',
        validations: [
          {
            expression: `object.spec.strategy.type == 'RollingUpdate' && has(object.spec.strategy.rollingUpdate) && has(object.spec.strategy.rollingUpdate.maxUnavailable) && string(object.spec.strategy.rollingUpdate.maxUnavailable) in ['0', '0%']`,
            message: 'an SSE server must roll with maxUnavailable: 0, or a rollout closes every stream at once',
            reason: 'Invalid',
          },
          {
            expression: `has(${grace}) && ${grace} >= ${GRACE}`,
            message: `an SSE server needs terminationGracePeriodSeconds >= ${GRACE} so streams can drain`,
            reason: 'Invalid',
          },
        ],
      },
    },
    { apiVersion, kind: 'ValidatingAdmissionPolicyBinding', metadata, spec: { policyName: CEL_POLICY_NAME, validationActions: ['Deny'] } },
  ];
}

/**
 * The resources mcp-admission judges, each with the shape its object must
 * have and its rules. Adding a resource is one entry here.
 */
import type { z } from 'zod';
import { POLICY_GROUP, POLICY_KIND, POLICY_VERSION } from '../contract.ts';
import { mutateDeployment, validateDeployment } from '../policy/deployment.ts';
import type { Verdict } from '../policy/finding.ts';
import { DeploymentShape, ServiceShape } from '../policy/objects.ts';
import { mutateService, validateService } from '../policy/service.ts';
import type { TransportSettings } from '../policy/transport-settings.ts';
import { validateTransportPolicy } from '../policy/transport-policy.ts';
import type { Mutation } from '../policy/workload.ts';

export interface ResourceRules {
  /** Group/version/kind as in AdmissionRequest.kind. */
  group: string;
  version: string;
  kind: string;
  /** Whether the object is an MCP workload (labelled, namespaced, subject to settings). */
  workload: boolean;
  shape?: z.ZodType;
  mutate?: (object: never, settings: TransportSettings) => Mutation<unknown>;
  validate: (object: never, settings: TransportSettings) => Verdict;
}

export const RESOURCES: readonly ResourceRules[] = [
  { group: 'apps', version: 'v1', kind: 'Deployment', workload: true, shape: DeploymentShape, mutate: mutateDeployment, validate: validateDeployment },
  { group: '', version: 'v1', kind: 'Service', workload: true, shape: ServiceShape, mutate: mutateService, validate: validateService },
  {
    group: POLICY_GROUP,
    version: POLICY_VERSION,
    kind: POLICY_KIND,
    workload: false,
    validate: (object: unknown) => ({ denials: validateTransportPolicy(object).problems, warnings: [] }),
  },
];

export function findResource(kind: { group: string; version: string; kind: string }): ResourceRules | undefined {
  return RESOURCES.find((r) => r.group === kind.group && r.version === kind.version && r.kind === kind.kind);
}

export function describeResources(): string {
  return RESOURCES.map((r) => `${r.group ? `${r.group}/` : ''}${r.version} ${r.kind}`).join(', ');
}

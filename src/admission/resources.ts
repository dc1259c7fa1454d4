/**
 * The resources mcp-admission judges. Adding a kind is one entry in
 * {@link RESOURCES}: `defineResource(kind, shape, { mutate, validate })`,
 * where the rules take the object as its shape parsed it, fully typed.
 */
import { z } from 'zod';
import { POLICY_GROUP, POLICY_KIND, POLICY_VERSION } from '../contract.ts';
import { mutateDeployment, validateDeployment } from '../policy/deployment.ts';
import type { Verdict } from '../policy/finding.ts';
import type { ClusterFacts } from '../policy/front-door.ts';
import { mutateHTTPRoute, validateHTTPRoute } from '../policy/http-route.ts';
import { mutateIngress, validateIngress } from '../policy/ingress.ts';
import { DeploymentShape, HTTPRouteShape, IngressShape, ServiceShape } from '../policy/objects.ts';
import { mutateService, validateService } from '../policy/service.ts';
import type { TransportSettings } from '../policy/transport-settings.ts';
import { acceptor, checkingShape } from './shape-check.ts';
import { validateTransportPolicy } from '../policy/transport-policy.ts';
import type { Mutation } from '../policy/workload.ts';

/** Group/version/kind as in AdmissionRequest.kind. */
export interface ResourceKind {
  group: string;
  version: string;
  kind: string;
}

/**
 * The rules for one kind, over the type its shape parses to. `facts` is
 * what is known of the rest of the cluster (a route's backend Services and
 * its controller); rules that judge an object alone ignore it.
 */
export interface Rules<T> {
  /** Whether the object is an MCP workload (labelled, namespaced, subject to per-namespace settings). */
  workload: boolean;
  mutate?: (object: T, settings: TransportSettings, facts: ClusterFacts) => Mutation<T>;
  validate: (object: T, settings: TransportSettings, facts: ClusterFacts) => Verdict;
}

/** An object that matched its shape, with its kind's rules bound to the parsed value. */
export interface Judgeable {
  mutate?: (settings: TransportSettings, facts: ClusterFacts) => Mutation<unknown>;
  validate: (settings: TransportSettings, facts: ClusterFacts) => Verdict;
}

/** One entry of the table: the kind, and how to parse and judge its objects. */
export interface Resource extends ResourceKind {
  workload: boolean;
  /** The object as the rules will see it, or the shape's issues in words. */
  parse(object: unknown): { ok: true; judge: Judgeable } | { ok: false; issues: string };
}

/**
 * Binds a kind to its shape and rules. The shape must parse an object into
 * the same JSON it was given (no defaults, no transforms;
 * test/unit/policy/objects.test.ts): the shape only checks, and the rules
 * get the object as received, typed by it. Handing them zod's output instead
 * would give the mutation a copy to diff against the received object, field
 * by field, where a structural copy of the received object (sharing what
 * does not change) lets the diff skip every shared subtree. Since the output
 * is never used, the check runs on the shape's checking twin
 * (shape-check.ts), which does not copy the fields the shape lets through.
 */
export function defineResource<S extends z.ZodType>(kind: ResourceKind, shape: S, rules: Rules<z.infer<S>>): Resource {
  const check = checkingShape(shape);
  const accepts = acceptor(shape);
  return {
    ...kind,
    workload: rules.workload,
    parse(object) {
      // zod decides whatever the acceptor does not accept outright, and words the issues.
      if (!accepts(object)) {
        const parsed = check.safeParse(object);
        if (!parsed.success) return { ok: false, issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
      }
      const value = object as z.infer<S>;
      const { mutate, validate } = rules;
      return {
        ok: true,
        judge: {
          ...(mutate && { mutate: (settings: TransportSettings, facts: ClusterFacts) => mutate(value, settings, facts) }),
          validate: (settings, facts) => validate(value, settings, facts),
        },
      };
    },
  };
}

export const RESOURCES: readonly Resource[] = [
  defineResource({ group: 'apps', version: 'v1', kind: 'Deployment' }, DeploymentShape, { workload: true, mutate: mutateDeployment, validate: validateDeployment }),
  defineResource({ group: '', version: 'v1', kind: 'Service' }, ServiceShape, { workload: true, mutate: mutateService, validate: validateService }),
  defineResource({ group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }, IngressShape, { workload: true, mutate: mutateIngress, validate: validateIngress }),
  defineResource({ group: 'gateway.networking.k8s.io', version: 'v1', kind: 'HTTPRoute' }, HTTPRouteShape, { workload: true, mutate: mutateHTTPRoute, validate: validateHTTPRoute }),
  // The policy's own checks are richer than a shape (field paths, cross-field rules): it parses as unknown.
  defineResource({ group: POLICY_GROUP, version: POLICY_VERSION, kind: POLICY_KIND }, z.unknown(), {
    workload: false,
    validate: (object) => ({ denials: validateTransportPolicy(object).problems, warnings: [] }),
  }),
];

export function findResource(kind: ResourceKind): Resource | undefined {
  return RESOURCES.find((r) => r.group === kind.group && r.version === kind.version && r.kind === kind.kind);
}

export function describeResources(): string {
  return RESOURCES.map((r) => `${r.group ? `${r.group}/` : ''}${r.version} ${r.kind}`).join(', ');
}

/**
 * {@link ClusterFacts} from a list of objects: what `review` knows from its
 * input, and what tests hand the rules. The same choices as the webhook's
 * informers (src/kubernetes/cluster-facts.ts): only Services and
 * Deployments carrying the MCP label count.
 */
import { MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../contract.ts';
import type { ClusterFacts } from '../policy/front-door.ts';
import { DeploymentShape, ServiceShape, type Deployment, type Service } from '../policy/objects.ts';

type Json = { apiVersion?: unknown; kind?: unknown; metadata?: { name?: string; namespace?: string; labels?: Record<string, string> | null; annotations?: Record<string, string> | null }; spec?: any };

/** The annotation that marks the default IngressClass (networking.k8s.io/v1 IngressClass). */
export const DEFAULT_INGRESS_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

const labelled = (o: Json): boolean => o.metadata?.labels?.[MCP_COMPONENT_LABEL] === MCP_COMPONENT_VALUE;
const key = (namespace: string | undefined, name: string | undefined): string => `${namespace ?? 'default'}/${name ?? ''}`;

/** Facts over `objects`; objects of other kinds, or that do not parse, are ignored. */
export function factsFromObjects(objects: readonly unknown[]): ClusterFacts {
  const services = new Map<string, Service>();
  const deployments = new Map<string, Deployment[]>();
  const ingressClasses = new Map<string, { controller: string; isDefault: boolean }>();
  const gateways = new Map<string, string>();
  const gatewayClasses = new Map<string, string>();
  for (const raw of objects) {
    if (typeof raw !== 'object' || raw === null) continue;
    const o = raw as Json;
    const name = o.metadata?.name;
    if (o.apiVersion === 'v1' && o.kind === 'Service' && labelled(o)) {
      const parsed = ServiceShape.safeParse(o);
      if (parsed.success) services.set(key(o.metadata?.namespace, name), parsed.data);
    } else if (o.apiVersion === 'apps/v1' && o.kind === 'Deployment' && labelled(o)) {
      const parsed = DeploymentShape.safeParse(o);
      const ns = o.metadata?.namespace ?? 'default';
      if (parsed.success) deployments.set(ns, [...(deployments.get(ns) ?? []), parsed.data]);
    } else if (o.apiVersion === 'networking.k8s.io/v1' && o.kind === 'IngressClass' && name && typeof o.spec?.controller === 'string') {
      ingressClasses.set(name, { controller: o.spec.controller, isDefault: o.metadata?.annotations?.[DEFAULT_INGRESS_CLASS_ANNOTATION] === 'true' });
    } else if (typeof o.apiVersion === 'string' && o.apiVersion.startsWith('gateway.networking.k8s.io/') && name) {
      if (o.kind === 'Gateway' && typeof o.spec?.gatewayClassName === 'string') gateways.set(key(o.metadata?.namespace, name), o.spec.gatewayClassName);
      if (o.kind === 'GatewayClass' && typeof o.spec?.controllerName === 'string') gatewayClasses.set(name, o.spec.controllerName);
    }
  }
  return {
    service: (namespace, name) => services.get(key(namespace, name)),
    deployments: (namespace) => deployments.get(namespace) ?? [],
    ingressClassController: (name) => ingressClasses.get(name)?.controller,
    defaultIngressClass: () => {
      const defaults = [...ingressClasses].filter(([, c]) => c.isDefault);
      // Kubernetes refuses an Ingress without a class when two classes claim the default; so do we.
      return defaults.length === 1 ? { name: defaults[0]![0], controller: defaults[0]![1].controller } : undefined;
    },
    gatewayClassName: (namespace, name) => gateways.get(key(namespace, name)),
    gatewayClassController: (name) => gatewayClasses.get(name),
  };
}

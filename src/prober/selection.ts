/**
 * Which Deployments a Service sends traffic to: those whose pod template
 * carries every label of the Service's selector (the Service selects pods,
 * and a Deployment's pods carry its template's labels).
 */
import type { V1Deployment, V1Service } from '@kubernetes/client-node';

/** True when `service` selects the pods of `deployment`. */
export function selectsDeployment(service: V1Service, deployment: V1Deployment): boolean {
  if (service.metadata?.namespace !== deployment.metadata?.namespace) return false;
  const selector = service.spec?.selector ?? {};
  const entries = Object.entries(selector);
  // A Service without a selector has its endpoints managed by hand: it
  // selects no Deployment (kubernetes Service docs, "Services without selectors").
  if (entries.length === 0) return false;
  const labels = deployment.spec?.template?.metadata?.labels ?? {};
  // Own labels only: a key such as `constructor` or `__proto__` must never
  // be looked up on Object.prototype.
  return entries.every(([key, value]) => Object.hasOwn(labels, key) && labels[key] === value);
}

/** The Deployments among `deployments` that `service` selects. */
export function selectedDeployments(service: V1Service, deployments: readonly V1Deployment[]): V1Deployment[] {
  return deployments.filter((deployment) => selectsDeployment(service, deployment));
}

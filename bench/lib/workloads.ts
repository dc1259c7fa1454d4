/**
 * MCP Deployments for the through-the-API-server and scaling benchmarks,
 * built from the ~3 KB Deployment of `reviews.ts` (the one the direct
 * benchmark sends), so every benchmark measures the same object.
 */
import { Annotations } from '../../src/contract.ts';
import { paddedDeploymentReview } from './reviews.ts';

type Json = Record<string, any>;

/**
 * The padded SSE Deployment as a client would POST it: `name` in `namespace`,
 * annotated `mcp-admission.dev/protocol: sse`, labelled
 * `app.kubernetes.io/component: mcp-server`. It keeps what the API server
 * would have defaulted (strategy RollingUpdate 25%/25%, grace 30 s): those
 * are what mcp-admission must change.
 */
export function mcpDeploymentObject(name: string, namespace: string): Json {
  const deployment = structuredClone(paddedDeploymentReview().request.object);
  deployment.metadata.name = name;
  deployment.metadata.namespace = namespace;
  deployment.metadata.annotations[Annotations.protocol] = 'sse';
  return deployment;
}

/**
 * The padded Deployment review with `containers` containers in its pod
 * template: the MCP server first, then copies of it as sidecars (each with
 * its own name, port and env), as a mesh, log shipper or auth proxy adds them.
 */
export function deploymentReviewWithContainers(containers: number): Json {
  const review = paddedDeploymentReview() as Json;
  const deployment = review.request.object;
  deployment.metadata.annotations[Annotations.protocol] = 'sse';
  const spec = deployment.spec.template.spec;
  const server = spec.containers[0];
  spec.containers = [server];
  for (let i = 1; i < containers; i++) {
    const sidecar = structuredClone(server);
    sidecar.name = `sidecar-${i}`;
    sidecar.image = `ghcr.io/example/sidecar-${i}:1.0.${i}`;
    sidecar.ports = [{ name: `port-${i}`, containerPort: 9000 + i, protocol: 'TCP' }];
    sidecar.env = [...sidecar.env, { name: 'SIDECAR_INDEX', value: String(i) }];
    spec.containers.push(sidecar);
  }
  return review;
}

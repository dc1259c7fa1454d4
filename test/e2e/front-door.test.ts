/**
 * The front door through a real proxy with real MCP clients: Traefik (built
 * from its Go module) with its Kubernetes Ingress and Gateway API providers
 * reading a real kube-apiserver, two replicas of an official-SDK legacy SSE
 * server on pod addresses of a network of the test's own, and the official
 * TypeScript and Python SDK clients. See front-door/proxy.scenarios.ts.
 */
import { runInNetwork } from '../support/harness/netns.ts';

await runInNetwork(import.meta.filename, { pods: 2 }, () => import('./front-door/proxy.scenarios.ts'));

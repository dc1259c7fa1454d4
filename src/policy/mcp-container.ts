/**
 * Finds the container that serves MCP in a pod template with several
 * containers (sidecars, proxies): by the `port` annotation when set, else the
 * container with a port named `mcp` or `http`, else the first container with
 * a port, else the first container.
 */
import { MCP_PORT_NAMES } from '../contract.ts';
import type { Container } from './objects.ts';

export interface McpContainer {
  index: number;
  container: Container;
}

export function findMcpContainer(containers: readonly Container[], port?: number | string): McpContainer | undefined {
  const byPort = (match: (p: { containerPort: number; name?: string | undefined }) => boolean) =>
    containers.findIndex((c) => (c.ports ?? []).some(match));
  const candidates = [
    port === undefined ? -1 : byPort((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port)),
    ...MCP_PORT_NAMES.map((name) => byPort((p) => p.name === name)),
    byPort(() => true),
    containers.length > 0 ? 0 : -1,
  ];
  const index = candidates.find((i) => i >= 0);
  if (index === undefined) return undefined;
  const container = containers[index];
  return container ? { index, container } : undefined;
}

/**
 * Where to probe an MCP Service: its cluster DNS name, the port and the
 * candidate paths, per the `port` and `path` annotations (DESIGN.md,
 * "Annotations").
 */
import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import { Annotations, DEFAULT_PROBE_PATHS, MCP_PORT_NAMES } from '../contract.ts';

/** The longest `path` annotation probed: the path is written back in `endpoint`. */
export const MAX_PATH_LENGTH = 1024;

/** Where to probe one Service, or why nowhere. */
export type ProbeTargets =
  | {
      /** The Service port chosen. */
      port: V1ServicePort;
      scheme: 'http' | 'https';
      /** Paths to try, in order. */
      paths: readonly string[];
      /** The Service URL of each path, as clients reach it: what `endpoint` records. */
      urls: string[];
    }
  | { error: string };

/**
 * Builds the candidate URLs for `service`: `http(s)://NAME.NAMESPACE.svc.DOMAIN:PORT/PATH`.
 * `fallbackAnnotations` (e.g. those of the selected Deployment) are read when
 * the Service itself does not carry `port` or `path`.
 */
export function probeTargets(
  service: V1Service,
  options: { clusterDomain: string; fallbackAnnotations?: Record<string, string> },
): ProbeTargets {
  const name = service.metadata?.name;
  const namespace = service.metadata?.namespace;
  if (!name || !namespace) return { error: 'Service has no name or namespace' };
  const own = service.metadata?.annotations ?? {};
  const fallback = options.fallbackAnnotations ?? {};
  const portAnnotation = own[Annotations.port] ?? fallback[Annotations.port];
  const pathAnnotation = own[Annotations.path] ?? fallback[Annotations.path];

  const port = choosePort(service.spec?.ports ?? [], portAnnotation);
  if ('error' in port) return port;
  let paths: readonly string[] = DEFAULT_PROBE_PATHS;
  if (pathAnnotation !== undefined) {
    if (!pathAnnotation.startsWith('/')) return { error: `annotation ${Annotations.path} must start with /` };
    if (pathAnnotation.length > MAX_PATH_LENGTH) {
      return { error: `annotation ${Annotations.path} is longer than ${MAX_PATH_LENGTH} characters` };
    }
    // The path is only ever a path: it never changes the host probed (the
    // URL is built from our own host and port, and a path starting with /
    // cannot carry userinfo or a host).
    paths = [pathAnnotation];
  }
  const scheme = port.port.appProtocol === 'https' || port.port.name === 'https' ? 'https' : 'http';
  const host = `${name}.${namespace}.svc.${options.clusterDomain}`;
  return { port: port.port, scheme, paths, urls: paths.map((path) => `${scheme}://${host}:${port.port.port}${path}`) };
}

function choosePort(ports: V1ServicePort[], annotation: string | undefined): { port: V1ServicePort } | { error: string } {
  if (ports.length === 0) return { error: 'Service has no ports' };
  if (annotation !== undefined) {
    const byNumber = /^\d+$/.test(annotation) ? ports.find((p) => p.port === Number(annotation)) : undefined;
    const found = byNumber ?? ports.find((p) => p.name === annotation);
    if (!found) return { error: `annotation ${Annotations.port} names no port of the Service` };
    return { port: found };
  }
  for (const wanted of MCP_PORT_NAMES) {
    const named = ports.find((p) => p.name === wanted);
    if (named) return { port: named };
  }
  return { port: ports[0]! };
}

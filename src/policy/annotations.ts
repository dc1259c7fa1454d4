/**
 * Reads the user-set `mcp-admission.dev/*` annotations of one object and
 * holds each to its syntax and to the policy's bounds. Every problem is
 * reported, each with its field path and the value that would be accepted.
 */
import { Annotations, DECLARED_PROTOCOLS, type DeclaredProtocol } from '../contract.ts';
import { MAX_SESSION_AFFINITY_TIMEOUT_SECONDS } from '../kubernetes/api-server.ts';
import { annotationField, type Finding, type RuleId } from './finding.ts';
import type { TransportSettings } from './transport-settings.ts';

/** Annotation values that parsed and are within bounds; absent where unset or invalid. */
export interface WorkloadAnnotations {
  protocol: DeclaredProtocol;
  path?: string;
  /** A port number, or a port name. */
  port?: number | string;
  terminationGracePeriodSeconds?: number;
  sessionAffinity?: boolean;
  sessionAffinityTimeoutSeconds?: number;
}

export interface ParsedAnnotations {
  values: WorkloadAnnotations;
  denials: Finding[];
  warnings: Finding[];
}

/** IANA service name, as Kubernetes validates container and Service port names. */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;
const DECIMAL = /^[0-9]+$/;

/** Parses the user-set annotations; unknown `mcp-admission.dev/` keys are left to the caller. */
export function parseWorkloadAnnotations(
  annotations: Readonly<Record<string, string>> | null | undefined,
  settings: TransportSettings,
): ParsedAnnotations {
  const found = annotations ?? {};
  const denials: Finding[] = [];
  const warnings: Finding[] = [];
  const values: WorkloadAnnotations = { protocol: 'auto' };
  const deny = (rule: RuleId, key: string, message: string) => denials.push({ rule, field: annotationField(key), message });

  const protocol = found[Annotations.protocol];
  if (protocol !== undefined) {
    if ((DECLARED_PROTOCOLS as readonly string[]).includes(protocol)) {
      values.protocol = protocol as DeclaredProtocol;
    } else {
      deny(
        'annotation-protocol',
        Annotations.protocol,
        `"${protocol}" is not a protocol mcp-admission knows. Use one of ${DECLARED_PROTOCOLS.map((p) => `"${p}"`).join(', ')}; ` +
          `"auto" lets the prober decide. Fix: ${annotationFix(Annotations.protocol, 'auto')}`,
      );
    }
  }

  const path = found[Annotations.path];
  if (path !== undefined) {
    if (path.startsWith('/') && !/\s/.test(path)) values.path = path;
    else
      deny(
        'annotation-path',
        Annotations.path,
        `"${path}" is not an endpoint path: it must start with "/" and contain no spaces, e.g. "/mcp" or "/sse". ` +
          `Fix: ${annotationFix(Annotations.path, '/mcp')}`,
      );
  }

  const port = found[Annotations.port];
  if (port !== undefined) {
    const parsed = parsePort(port);
    if (parsed !== undefined) values.port = parsed;
    else
      deny(
        'annotation-port',
        Annotations.port,
        `"${port}" is neither a port number (1-65535) nor a port name (lowercase letters, digits and "-", at most 15 characters). ` +
          `Fix: ${annotationFix(Annotations.port, 'mcp')}`,
      );
  }

  const grace = found[Annotations.terminationGracePeriodSeconds];
  if (grace !== undefined) {
    const min = settings.minTerminationGracePeriodSeconds;
    const max = settings.maxTerminationGracePeriodSeconds;
    const seconds = DECIMAL.test(grace) ? Number(grace) : NaN;
    const suggestion = String(Math.min(max, Math.max(min, settings.terminationGracePeriodSeconds)));
    if (Number.isNaN(seconds)) {
      deny(
        'annotation-grace-period',
        Annotations.terminationGracePeriodSeconds,
        `"${grace}" is not a whole number of seconds. SSE pods need a grace period long enough for open streams to drain; ` +
          `policy allows ${min} to ${max}. Fix: ${annotationFix(Annotations.terminationGracePeriodSeconds, suggestion)}`,
      );
    } else if (seconds < min || seconds > max) {
      deny(
        'annotation-grace-period',
        Annotations.terminationGracePeriodSeconds,
        `${seconds} is outside the bounds policy allows (${min} to ${max} seconds). ` +
          (seconds < min
            ? `A shorter grace period cuts SSE streams before clients can reconnect elsewhere. `
            : `A longer one holds terminating pods, and rollouts, for longer than policy accepts. `) +
          `Fix: ${annotationFix(Annotations.terminationGracePeriodSeconds, seconds < min ? String(min) : String(max))}`,
      );
    } else {
      values.terminationGracePeriodSeconds = seconds;
    }
  }

  const affinity = found[Annotations.sessionAffinity];
  if (affinity !== undefined) {
    if (affinity === 'true') values.sessionAffinity = true;
    else if (affinity === 'false') {
      if (settings.allowSessionAffinityOptOut) {
        values.sessionAffinity = false;
        warnings.push({
          rule: 'annotation-affinity-opt-out',
          field: annotationField(Annotations.sessionAffinity),
          message:
            'session affinity is turned off for this MCP server. If it speaks SSE, a client\'s POSTs can reach a pod ' +
            'that does not hold its stream, and fail with "session not found", unless the server shares sessions across pods.',
        });
      } else {
        deny(
          'annotation-affinity-opt-out',
          Annotations.sessionAffinity,
          `policy${policyNames(settings)} does not allow turning session affinity off: an SSE session lives in the pod ` +
            `that holds its stream, so POSTs routed elsewhere fail. Fix: remove the annotation ` +
            `(kubectl annotate <kind>/<name> ${Annotations.sessionAffinity}-) or ${annotationFix(Annotations.sessionAffinity, 'true')}`,
        );
      }
    } else {
      deny(
        'annotation-session-affinity',
        Annotations.sessionAffinity,
        `"${affinity}" is not "true" or "false". Fix: ${annotationFix(Annotations.sessionAffinity, 'true')}`,
      );
    }
  }

  const timeout = found[Annotations.sessionAffinityTimeoutSeconds];
  if (timeout !== undefined) {
    const seconds = DECIMAL.test(timeout) ? Number(timeout) : NaN;
    if (Number.isNaN(seconds) || seconds < 1 || seconds > MAX_SESSION_AFFINITY_TIMEOUT_SECONDS) {
      deny(
        'annotation-affinity-timeout',
        Annotations.sessionAffinityTimeoutSeconds,
        `"${timeout}" is not a whole number of seconds from 1 to ${MAX_SESSION_AFFINITY_TIMEOUT_SECONDS} (the Kubernetes limit for ` +
          `sessionAffinityConfig.clientIP.timeoutSeconds). It should outlast the longest SSE session. ` +
          `Fix: ${annotationFix(Annotations.sessionAffinityTimeoutSeconds, String(settings.sessionAffinityTimeoutSeconds))}`,
      );
    } else {
      values.sessionAffinityTimeoutSeconds = seconds;
    }
  }

  return { values, denials, warnings };
}

function parsePort(value: string): number | string | undefined {
  if (DECIMAL.test(value)) {
    const port = Number(value);
    return port >= 1 && port <= 65535 ? port : undefined;
  }
  return PORT_NAME.test(value) ? value : undefined;
}

/** The YAML a user adds under `metadata.annotations` to set one annotation. */
export function annotationFix(key: string, value: string): string {
  return `set it in the manifest:\n  metadata:\n    annotations:\n      ${key}: "${value}"`;
}

/** ` (MCPTransportPolicy a, b)` naming the policies behind `settings`, or nothing for built-ins. */
export function policyNames(settings: TransportSettings): string {
  return settings.sources.length > 0 ? ` (MCPTransportPolicy ${settings.sources.join(', ')})` : '';
}

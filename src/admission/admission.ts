/**
 * The admission adapter: turns one decoded AdmissionRequest into a result
 * for the mutating or the validating webhook. Operation dispatch, scope
 * (namespaces, label, policy mode) and the shape check happen here, once;
 * the rules in src/policy only ever see an object they apply to.
 */
import fastJsonPatch from 'fast-json-patch';
import { MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE, SYSTEM_NAMESPACES } from '../contract.ts';
import { DEFAULT_NAMESPACE } from '../kubernetes/api-server.ts';
import { describeFinding, type Finding, type RuleId } from '../policy/finding.ts';
import { NO_FACTS, type ClusterFacts } from '../policy/front-door.ts';
import type { Mode, TransportSettings } from '../policy/transport-settings.ts';
import { onlyProberAnnotationsChanged } from './prober-update.ts';
import { describeResources, findResource, type Judgeable, type Resource } from './resources.ts';
import { allowed, denied, errored, patched, withWarnings, type AdmissionResult } from './response.ts';
import type { AdmissionRequest } from './admission-review.ts';

/** Where the settings for a namespace come from: built-ins, a file, or the cluster's policies. */
export interface SettingsSource {
  settingsFor(namespace: string): TransportSettings;
}

export interface AdmissionDeps {
  settings: SettingsSource;
  /** The webhook's own namespace, never judged (DESIGN.md "Which objects"). */
  ownNamespace: string;
  /** What is known of the rest of the cluster, for Ingress and HTTPRoute rules; none when absent. */
  facts?: ClusterFacts;
}

/** What happened, for logs and metrics. */
export type Decision = 'allowed' | 'patched' | 'denied' | 'warned' | 'skipped' | 'invalid';

/**
 * How a finding counted: `deny` refused the object, `would-deny` is a denial
 * that mode `warn` let through as a warning, `warning` never blocks in any
 * mode. Telling the middle one apart sizes a warn-mode rollout before
 * switching to `validate`.
 */
export type Severity = 'deny' | 'would-deny' | 'warning';

/** One finding as metrics and `audit` count it: its rule and how it weighed. */
export interface CountedFinding {
  rule: RuleId;
  severity: Severity;
}

export interface Outcome {
  result: AdmissionResult;
  decision: Decision;
  /** What a patch changes, in words, for logs and `review`; absent when nothing is patched. */
  changes?: string[];
  /** The validating webhook's findings, with the mode they were judged under; absent when nothing was judged. */
  findings?: CountedFinding[];
  /**
   * In mode `warn`, the denials that became warnings, whole (a warning is cut
   * to what the API server shows): `review` and `audit` print their fixes.
   */
  wouldDeny?: Finding[];
  /** Mode the object was judged under; `none` for kinds no mode applies to (MCPTransportPolicy). */
  mode?: Mode | 'none';
}

type Scoped =
  | { judged: false; outcome: Outcome }
  | {
      judged: true;
      resource: Resource;
      /** The rules, bound to the object once its shape has checked it. */
      judge: Judgeable;
      /** The object as received: patches are computed against it, never against the parsed copy. */
      object: Record<string, unknown>;
      settings: TransportSettings;
      target: string;
    };

const skip = (): { judged: false; outcome: Outcome } => ({ judged: false, outcome: { result: allowed(), decision: 'skipped' } });
const invalid = (message: string): { judged: false; outcome: Outcome } => ({
  judged: false,
  outcome: { result: errored(400, message), decision: 'invalid' },
});

function scope(request: AdmissionRequest, deps: AdmissionDeps): Scoped {
  if (request.operation === 'DELETE' || request.operation === 'CONNECT') return skip();
  const resource = findResource(request.kind);
  if (!resource) {
    return invalid(
      `mcp-admission does not judge ${request.kind.group || 'core'}/${request.kind.version} ${request.kind.kind} ` +
        `(it judges ${describeResources()}): check the rules of the webhook configuration`,
    );
  }
  const object = request.object;
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    return invalid(`request.object must be a ${resource.kind} object for operation ${request.operation}`);
  }
  const raw = object as Record<string, unknown>;
  if (raw.kind !== undefined && raw.kind !== resource.kind) {
    return invalid(`request.object is a ${String(raw.kind)}, but request.kind says ${resource.kind}`);
  }
  const parsed = resource.parse(raw);
  if (!parsed.ok) return invalid(`request.object does not match ${resource.kind}: ${parsed.issues}`);
  const { judge } = parsed;
  const metadata = (raw.metadata ?? {}) as { name?: string; namespace?: string; labels?: Record<string, string> | null };
  const name = metadata.name ?? request.name ?? '';
  if (!resource.workload) {
    return { judged: true, resource, judge, object: raw, settings: deps.settings.settingsFor(''), target: `${resource.kind} "${name}"` };
  }

  const namespace = request.namespace || metadata.namespace || DEFAULT_NAMESPACE;
  // The webhook configurations exclude these with selectors; this is the
  // second line, for a configuration edited by hand.
  if ((SYSTEM_NAMESPACES as readonly string[]).includes(namespace) || namespace === deps.ownNamespace) return skip();
  if (metadata.labels?.[MCP_COMPONENT_LABEL] !== MCP_COMPONENT_VALUE) return skip();
  const settings = deps.settings.settingsFor(namespace);
  if (settings.exempt || settings.mode === 'off') return skip();
  return { judged: true, resource, judge, object: raw, settings, target: `${resource.kind.toLowerCase()} "${name}" in namespace "${namespace}"` };
}

/** The mutating webhook: the SSE settings as a JSON patch against the object as received. */
export function mutateRequest(request: AdmissionRequest, deps: AdmissionDeps): Outcome {
  const scoped = scope(request, deps);
  if (!scoped.judged) return scoped.outcome;
  const { judge, object, settings } = scoped;
  if (!judge.mutate || settings.mode !== 'mutate') return { result: allowed(), decision: 'allowed' };
  const { object: mutated, changes } = judge.mutate(settings, deps.facts ?? NO_FACTS);
  if (changes.length === 0) return { result: allowed(), decision: 'allowed' };
  // Diff against the raw object, never a parsed copy, so fields this version
  // does not know are not turned into `remove` operations.
  const patch = fastJsonPatch.compare(object, mutated as object);
  if (patch.length === 0) return { result: allowed(), decision: 'allowed' };
  return { result: patched(patch), decision: 'patched', changes };
}

/** The validating webhook: judges the object as it will be stored, every problem at once. */
export function validateRequest(request: AdmissionRequest, deps: AdmissionDeps): Outcome {
  const scoped = scope(request, deps);
  if (!scoped.judged) return scoped.outcome;
  const { resource, judge, settings, target } = scoped;
  // The prober's status write changes nothing a rule reads: the object stays as it was stored.
  if (request.operation === 'UPDATE' && onlyProberAnnotationsChanged(request.object, request.oldObject)) {
    return { result: allowed(), decision: 'allowed' };
  }
  const verdict = judge.validate(settings, deps.facts ?? NO_FACTS);
  const warnings = verdict.warnings.map((w) => warningText(w));
  const mode = resource.workload ? settings.mode : 'none';
  const counted = (findings: readonly Finding[], severity: Severity): CountedFinding[] => findings.map(({ rule }) => ({ rule, severity }));
  const warned = counted(verdict.warnings, 'warning');
  if (verdict.denials.length === 0) {
    return { result: withWarnings(allowed(), warnings), decision: warnings.length ? 'warned' : 'allowed', findings: warned, mode };
  }
  if (resource.workload && settings.mode === 'warn') {
    return {
      result: withWarnings(allowed(), [...verdict.denials.map((d) => warningText(d, WOULD_DENY)), ...warnings]),
      decision: 'warned',
      findings: [...counted(verdict.denials, 'would-deny'), ...warned],
      wouldDeny: verdict.denials,
      mode,
    };
  }
  return {
    result: withWarnings(denied(denialMessage(target, verdict.denials), verdict.denials), warnings),
    decision: 'denied',
    findings: [...counted(verdict.denials, 'deny'), ...warned],
    mode,
  };
}

/** Marks a warning that mode `validate` would have refused, so kubectl users tell it from advice. */
const WOULD_DENY = 'would deny: ';

/** One message with every problem, numbered, each with its field path and fix. */
export function denialMessage(target: string, denials: readonly Finding[]): string {
  const count = denials.length === 1 ? '1 problem' : `${denials.length} problems`;
  return `mcp-admission refused ${target} (${count}):\n\n${denials.map((d, i) => `${i + 1}. ${describeFinding(d)}`).join('\n\n')}\n`;
}

/**
 * The API server keeps each warning whole until one request's warnings pass
 * 4096 characters; from then on it cuts every warning to 256
 * (k8s.io/apiserver pkg/endpoints/filters/warning.go). So a warning carries
 * the problem without its fix (by convention a message puts its fix after
 * "Fix:") within 256 characters; `mcp-admission review` shows the fix in
 * full. A finding whose point is the command to run (`fix`) keeps it whole
 * at the end, after the problem shortened to fit 512 characters: whole
 * while the request's warnings stay within 4096.
 */
const MAX_WARNING_LENGTH = 256;
const MAX_WARNING_WITH_FIX_LENGTH = 512;
/** What remains of the problem however long the fix: the field and the start of the why. */
const MIN_PROBLEM_LENGTH = 120;
function warningText(finding: Finding, marker = ''): string {
  const described = describeFinding(finding);
  // The text before the first "Fix:" and the blanks before it (what split(/\s*Fix:/)[0] gives, without the other pieces).
  const fixAt = described.search(/\s*Fix:/);
  const problem = `mcp-admission: ${marker}${(fixAt < 0 ? described : described.slice(0, fixAt)).replace(/\s+/g, ' ').trim()}`;
  if (finding.fix === undefined) return cut(problem, MAX_WARNING_LENGTH);
  const fix = ` Fix: ${finding.fix.replace(/\s+/g, ' ').trim()}`;
  return `${cut(problem, Math.max(MAX_WARNING_WITH_FIX_LENGTH - fix.length, MIN_PROBLEM_LENGTH))}${fix}`;
}

const cut = (text: string, length: number): string => (text.length <= length ? text : `${text.slice(0, length - 1)}…`);

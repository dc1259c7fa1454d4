/**
 * What the rules need to know about one MCP object before judging it: its
 * annotations parsed against policy and the protocol it is treated as.
 */
import { parseWorkloadAnnotations, type ParsedAnnotations } from './annotations.ts';
import { effectiveProtocol, type EffectiveProtocol } from './protocol.ts';
import type { TransportSettings } from './transport-settings.ts';

/** The result of a mutation rule: the object (the input itself when nothing changed) and what changed. */
export interface Mutation<T> {
  object: T;
  /** What changed, in words; empty when nothing did. */
  changes: string[];
}

export interface Workload {
  settings: TransportSettings;
  annotations: ParsedAnnotations;
  protocol: EffectiveProtocol;
  /** `kind/name -n namespace` for kubectl commands in fixes. */
  kubectlTarget: string;
}

export function describeWorkload(
  kind: 'deployment' | 'service',
  metadata: { name?: string | undefined; generateName?: string | undefined; namespace?: string | undefined; annotations?: Record<string, string> | null | undefined },
  settings: TransportSettings,
): Workload {
  const annotations = parseWorkloadAnnotations(metadata.annotations, settings);
  const name = metadata.name ?? (metadata.generateName ? `${metadata.generateName}<suffix>` : '<name>');
  const namespace = metadata.namespace ? ` -n ${metadata.namespace}` : '';
  return {
    settings,
    annotations,
    protocol: effectiveProtocol(annotations.values, metadata.annotations, settings),
    kubectlTarget: `${kind}/${name}${namespace}`,
  };
}

/** A `kubectl patch --type=merge` command that applies `patch` to the workload. */
export function kubectlMergePatch(workload: Workload, patch: unknown): string {
  return `kubectl patch ${workload.kubectlTarget} --type=merge -p '${JSON.stringify(patch)}'`;
}

/**
 * Which transport the rules treat an object as speaking (DESIGN.md
 * "Effective protocol"): an explicit `protocol` annotation wins, then what
 * the prober detected, then the policy's `undetectedProtocol`.
 */
import { Annotations, type Transport } from '../contract.ts';
import type { WorkloadAnnotations } from './annotations.ts';
import type { TransportSettings } from './transport-settings.ts';

export interface EffectiveProtocol {
  protocol: Transport;
  /** Where the answer came from; `policy` means nobody has said yet. */
  source: 'annotation' | 'detected' | 'policy';
}

export function effectiveProtocol(
  declared: WorkloadAnnotations,
  annotations: Readonly<Record<string, string>> | null | undefined,
  settings: TransportSettings,
): EffectiveProtocol {
  if (declared.protocol !== 'auto') return { protocol: declared.protocol, source: 'annotation' };
  const detected = annotations?.[Annotations.detectedProtocol];
  if (detected === 'sse' || detected === 'streamable-http') return { protocol: detected, source: 'detected' };
  return { protocol: settings.undetectedProtocol, source: 'policy' };
}

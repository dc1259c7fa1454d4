/**
 * The raw figures of one `npm run bench:apiserver` run, written beside its
 * Markdown report as JSON, so that several runs can be pooled
 * (`npm run bench:apiserver:pool`): every operation's client latency and
 * each webhook process's CPU and RSS, per phase and configuration.
 */
import { readFileSync } from 'node:fs';

/** Issue 13's targets: serve's added latency, CPU per operation and steady RSS, each over the floor's. */
export const TARGET_ADDED_VS_FLOOR = 1.15;
export const TARGET_CPU_VS_FLOOR = 1.3;
export const TARGET_RSS_VS_FLOOR = 1.3;

/** Which process's CPU and RSS a webhook configuration measures. */
export const PROCESS_OF = { floor: 'floor', 'blocks-floor': 'blocksFloor', 'mcp-admission': 'serve' } as const;

/** One configuration's measured windows in one phase. */
export interface ConfigurationSamples {
  /** Client latency of each measured operation, ms, in the order measured. */
  latencies: number[];
  /** Seconds spent in the measured windows. */
  seconds: number;
  /** CPU seconds of each webhook process in those windows: serve, floor, blocksFloor. */
  cpuSeconds: Record<string, number>;
  /** Median VmRSS (MB) of each webhook process in those windows. */
  rssSteadyMb: Record<string, number>;
}

export interface ApiserverSamples {
  /** The format, for readers of older files. */
  format: 1;
  started: string;
  /** `git describe --always --dirty` of the code measured. */
  commit: string;
  machine: string;
  phases: { key: string; title: string; paced: boolean; configurations: Record<string, ConfigurationSamples> }[];
}

/** Reads a samples file, refusing one of another format with a message that names it. */
export function readSamples(file: string): ApiserverSamples {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ApiserverSamples>;
  if (parsed.format !== 1 || !Array.isArray(parsed.phases)) {
    throw new Error(`${file}: not a bench:apiserver samples file (format 1); write one with npm run bench:apiserver`);
  }
  return parsed as ApiserverSamples;
}

/**
 * The parts of V8's `.cpuprofile` format (what `--cpu-prof` writes) that
 * the benchmarks read: the call tree's nodes, and one sample per tick with
 * the µs since the one before.
 */

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  /** CLOCK_MONOTONIC µs of the first sample's base. */
  startTime: number;
  endTime?: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Where a process's resident memory is, for `npm run bench:memory --
 * --breakdown`: the kernel's view (/proc/PID/smaps, each mapping's Rss
 * summed by what backs it) beside V8's and Node's (bench/lib/memory-probe.mjs,
 * preloaded into the measured process and asked by SIGUSR2), and a heap
 * snapshot summed by node type and name. Not part of the product.
 */
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resident kB of a process's mappings, by what backs them. */
export interface SmapsRss {
  /** The node binary's own pages (text and data). */
  nodeBinary: number;
  /** Other files: shared libraries, locale data. */
  otherFiles: number;
  /** The brk heap (`[heap]`): glibc malloc's main arena. */
  brk: number;
  /** Anonymous mappings: V8's heap pages, malloc's mmap'd arenas and large blocks, thread stacks. */
  anonymous: number;
  /** The main thread's stack and the kernel's pages ([stack], [vdso], [vvar]). */
  other: number;
  total: number;
}

/** Sums /proc/PID/smaps Rss by mapping kind (kB). */
export function smapsRss(pid: number): SmapsRss {
  const node = realpathSync(process.execPath);
  const out: SmapsRss = { nodeBinary: 0, otherFiles: 0, brk: 0, anonymous: 0, other: 0, total: 0 };
  let kind: keyof SmapsRss = 'other';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      const path = header[1]!;
      kind = path === '' ? 'anonymous' : path === node ? 'nodeBinary' : path === '[heap]' ? 'brk' : path.startsWith('[') ? 'other' : 'otherFiles';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) {
      out[kind] += Number(rss[1]);
      out.total += Number(rss[1]);
    }
  }
  return out;
}

/** What bench/lib/memory-probe.mjs writes. */
export interface ProbeRecord {
  memory: NodeJS.MemoryUsage;
  heap: { total_physical_size: number; total_heap_size: number; used_heap_size: number; malloced_memory: number; external_memory: number };
  code: { code_and_metadata_size: number; bytecode_and_metadata_size: number; external_script_source_size: number };
  spaces: { space: string; size: number; used: number; physical: number }[];
}

/**
 * Asks the probe in `pid` for a record (SIGUSR2) and waits for it; with
 * `snapshot`, a heap snapshot follows, and its path is returned too.
 */
export async function probe(pid: number, dir: string, n: number, snapshot = false): Promise<{ record: ProbeRecord; snapshotFile?: string }> {
  const marker = join(dir, `${pid}.snapshot`);
  if (snapshot) writeFileSync(marker, '');
  process.kill(pid, 'SIGUSR2');
  const file = join(dir, `${pid}-${n}.json`);
  const snapshotFile = join(dir, `${pid}.heapsnapshot`);
  for (let waited = 0; ; waited += 100) {
    if (existsSync(file) && (!snapshot || existsSync(snapshotFile))) break;
    if (waited > 120_000) throw new Error(`no memory probe record from ${pid}`);
    await sleep(100);
  }
  // A heap snapshot is written in pieces: wait until its size settles.
  if (snapshot) {
    for (let last = -1; ; await sleep(500)) {
      const size = readFileSync(snapshotFile).length;
      if (size === last && size > 0) break;
      last = size;
    }
  }
  let record: ProbeRecord | undefined;
  while (!record) {
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as ProbeRecord;
    } catch {
      await sleep(100);
    }
  }
  return snapshot ? { record, snapshotFile } : { record };
}

/** A heap snapshot's self sizes, by node type and by `type: name` (bytes). */
export interface HeapSummary {
  byType: Map<string, number>;
  byName: Map<string, number>;
  /** Source text of each loaded script, by its URL (bytes). */
  scriptSources: Map<string, number>;
  total: number;
}

/** Reads a .heapsnapshot and sums its nodes' self sizes. */
export function summarizeSnapshot(file: string): HeapSummary {
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  const { meta } = snapshot.snapshot;
  const fields = meta.node_fields.length;
  const typeOf = meta.node_fields.indexOf('type');
  const nameOf = meta.node_fields.indexOf('name');
  const sizeOf = meta.node_fields.indexOf('self_size');
  const edgeCountOf = meta.node_fields.indexOf('edge_count');
  const edgeFields = meta.edge_fields.length;
  const edgeTypeOf = meta.edge_fields.indexOf('type');
  const edgeNameOf = meta.edge_fields.indexOf('name_or_index');
  const edgeToOf = meta.edge_fields.indexOf('to_node');
  const types = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snapshot;
  const byType = new Map<string, number>();
  const byName = new Map<string, number>();
  const scriptSources = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);
  let total = 0;
  let edge = 0;
  for (let i = 0; i < nodes.length; i += fields) {
    const type = types[nodes[i + typeOf]!]!;
    const name = strings[nodes[i + nameOf]!]!;
    const size = nodes[i + sizeOf]!;
    const edgeCount = nodes[i + edgeCountOf]!;
    total += size;
    add(byType, type, size);
    // Names of strings are their text: keep the type and length class only.
    const key = type === 'string' || type === 'concatenated string' || type === 'sliced string' ? `${type}` : `${type}: ${name.slice(0, 80)}`;
    add(byName, key, size);
    // A Script: a `code` node named by its URL, with an internal `source` edge to its text.
    if (type === 'code') {
      for (let e = edge; e < edge + edgeCount * edgeFields; e += edgeFields) {
        if (edgeTypes[edges[e + edgeTypeOf]!] !== 'internal' || strings[edges[e + edgeNameOf]!] !== 'source') continue;
        const source = nodes[edges[e + edgeToOf]! + sizeOf]!;
        if (source > 0) add(scriptSources, name || '(unnamed)', source);
      }
    }
    edge += edgeCount * edgeFields;
  }
  return { byType, byName, scriptSources, total };
}

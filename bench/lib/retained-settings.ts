/**
 * Heap a settings source retains after answering for made-up namespaces:
 * run with --expose-gc (forked so by `bench/hostile.ts`), measured after a
 * full collection before and after, so garbage does not count. Sends
 * `{ names, retainedMb }` to its parent.
 */
import { randomUUID } from 'node:crypto';
import { staticSettings } from '../../src/settings/static-source.ts';

const names = Number(process.argv[2] ?? 510_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const source = staticSettings();
source.settingsFor('warm-up');
gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < names; i++) source.settingsFor(`t${randomUUID().replaceAll('-', '')}${randomUUID().replaceAll('-', '')}`.slice(0, 62) + 'z');
gc();
const retainedMb = (process.memoryUsage().heapUsed - before) / 1e6;
// Keep the source alive until measured.
source.settingsFor('done');
process.send!({ names, retainedMb }, () => process.exit(0));

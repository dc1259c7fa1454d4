/**
 * Compiles src/ to JavaScript for a benchmark, as the image runs dist/:
 * tsconfig.build.json into `outDir`, with package.json one directory up,
 * where src/version.ts reads it (as dist/ finds it in the image).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';

/** Builds into `outDir` (ending in `/`) and returns the path of the CLI entry point. */
export function buildForBenchmark(root: string, outDir: string): string {
  const build = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json', '--outDir', outDir, '--sourceMap', 'false'], {
    cwd: root,
    encoding: 'utf8',
  });
  // tsc emits even when the tree has type errors elsewhere (e.g. a test in progress); say so and go on.
  if (build.status !== 0) process.stderr.write(`warning: tsc reported errors, measuring what it emitted:\n${build.stdout.slice(0, 2000)}\n`);
  const entry = `${outDir}cli/main.js`;
  if (!existsSync(entry)) throw new Error(`tsc emitted no ${entry}`);
  copyFileSync(join(root, 'package.json'), join(outDir, '../package.json'));
  return entry;
}

/** The floor webhooks' files in bench/lib/, entry points and what they import there. */
const FLOOR_FILES = ['floor-process', 'floor-server', 'blocks-floor-server'] as const;

/**
 * Writes a floor webhook (bench/lib/floor-server.ts, node: imports only, or
 * bench/lib/blocks-floor-server.ts, on the building blocks) as JavaScript
 * into `outDir`/bench/ and returns its path: a floor runs without the type
 * stripper, as serve runs compiled. Imports of src/ are pointed at the
 * compiled src/ in `outDir` (`buildForBenchmark`, which the blocks floor
 * needs first), `.ts` specifiers at `.js`.
 */
export function writeFloorEntry(root: string, outDir: string, floor: 'floor-server' | 'blocks-floor-server' = 'floor-server'): string {
  const dir = join(outDir, 'bench');
  mkdirSync(dir, { recursive: true });
  for (const name of FLOOR_FILES) {
    const javascript = stripTypeScriptTypes(readFileSync(join(root, `bench/lib/${name}.ts`), 'utf8'))
      .replaceAll("from '../../src/", "from '../")
      .replace(/(from '\.{1,2}\/[^']*)\.ts'/g, "$1.js'");
    writeFileSync(join(dir, `${name}.js`), javascript);
  }
  return join(dir, `${floor}.js`);
}

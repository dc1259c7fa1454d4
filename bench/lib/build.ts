/**
 * Compiles src/ to JavaScript for a benchmark, as the image runs dist/:
 * tsconfig.build.json into `outDir`, with package.json one directory up,
 * where src/version.ts reads it (as dist/ finds it in the image).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
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

/**
 * Writes the floor webhook (bench/lib/floor-server.ts, node: imports only)
 * as JavaScript into `outDir` and returns its path: the floor runs without
 * the type stripper, as serve runs compiled.
 */
export function writeFloorEntry(root: string, outDir: string): string {
  const entry = join(outDir, 'floor-server.js');
  writeFileSync(entry, stripTypeScriptTypes(readFileSync(join(root, 'bench/lib/floor-server.ts'), 'utf8')));
  return entry;
}

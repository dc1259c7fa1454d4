/**
 * The product version: package.json's, the one version that names the
 * image, the chart, `--version` and `mcp_admission_build_info`. Read at run
 * time, so the sources (src/) and the build (dist/) find the same file one
 * directory up.
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** `version` from package.json. */
export const VERSION: string = readVersion();

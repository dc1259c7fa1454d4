/**
 * Paths of the tools tests build from Go modules, by `test/tools/build.sh`
 * (pinned in `test/tools/versions.env`, cached under
 * `${MCP_ADMISSION_CACHE:-~/.cache/mcp-admission}/<tool>-<version>/`).
 *
 * Every call runs the build script, so a single test file run on a fresh
 * machine builds what it needs; with a warm cache that costs one stat. The
 * script takes a lock per tool, so a test that asks while CI is still building
 * that tool in the background waits for that build rather than starting
 * another.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** What `test/tools/build.sh` knows how to build. */
export type Tool = 'mcp-peer' | 'helm' | 'promtool' | 'traefik' | 'gateway-api' | 'cert-manager';

const buildScript = join(import.meta.dirname, '..', 'tools', 'build.sh');
const built = new Map<Tool, string>();

/**
 * The tool's binary (for `gateway-api`, the standard-channel CRD YAML; for
 * `cert-manager`, its CRDs), built
 * first if the cache lacks it. Throws with the build script's message (what to
 * install when Go is missing): a test needing a tool fails, never skips.
 */
export function toolPath(tool: Tool): string {
  const known = built.get(tool);
  if (known) return known;
  let path: string;
  try {
    path = execFileSync('bash', [buildScript, tool], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const failed = err as { status?: number; stderr?: string };
    throw new Error(`test/tools/build.sh ${tool} failed (exit ${failed.status}): ${failed.stderr?.trim() || String(err)}`);
  }
  built.set(tool, path);
  return path;
}

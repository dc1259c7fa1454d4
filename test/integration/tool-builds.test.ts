/**
 * test/tools/build.sh fails loudly: without Go it says what to install and
 * exits 3 (the code the control-plane build uses), and builds nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const buildScript = join(import.meta.dirname, '..', 'tools', 'build.sh');
const cache = mkdtempSync(join(tmpdir(), 'mcp-admission-tools-'));
after(() => rmSync(cache, { recursive: true, force: true }));

// HOME in the empty cache too: a ~/.bashrc may put Go back on PATH.
const withoutGo = { PATH: '/usr/bin:/bin', HOME: cache, MCP_ADMISSION_CACHE: cache };

/** build.sh with an empty cache and a PATH that has bash and coreutils but no Go. */
function buildWithoutGo(...tools: string[]) {
  return spawnSync('bash', [buildScript, ...tools], { encoding: 'utf8', env: withoutGo });
}

describe('test/tools/build.sh', () => {
  it('without Go: exit 3, what to install, nothing built', () => {
    assert.equal(spawnSync('bash', ['-c', 'command -v go'], { env: withoutGo }).status, 1, 'this test needs a PATH without Go');
    const result = buildWithoutGo('helm');
    assert.equal(result.status, 3);
    assert.match(result.stderr, /building helm needs Go >= 1\.26 on PATH \(https:\/\/go\.dev\/doc\/install/);
    assert.doesNotMatch(result.stderr, /building helm into/);
    assert.equal(result.stdout, '');
    assert.deepEqual(readdirSync(cache), []);
  });

  it('an unknown tool: exit 2 naming the known ones', () => {
    const result = buildWithoutGo('kubectl');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown tool 'kubectl': known are mcp-peer, helm, promtool, traefik, gateway-api/);
  });
});

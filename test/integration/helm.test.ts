/**
 * Helm as built by test/tools/build.sh is the pinned release and works
 * offline: create, lint and render a chart without a cluster.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { toolPath } from '../support/tools.ts';

const pinned = /^HELM_VERSION=(\S+)$/m.exec(readFileSync(join(import.meta.dirname, '..', 'tools', 'versions.env'), 'utf8'))?.[1];
const work = mkdtempSync(join(tmpdir(), 'mcp-admission-helm-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Runs helm with its state kept in the temp dir, never the user's ~/.config or ~/.cache. */
function helm(...args: string[]): string {
  return execFileSync(toolPath('helm'), args, {
    encoding: 'utf8',
    cwd: work,
    env: { ...process.env, HELM_CONFIG_HOME: join(work, 'config'), HELM_CACHE_HOME: join(work, 'cache'), HELM_DATA_HOME: join(work, 'data') },
  });
}

describe('helm from its Go module', () => {
  it('reports the version pinned in versions.env', () => {
    assert.ok(pinned, 'HELM_VERSION in versions.env');
    assert.match(helm('version', '--template', '{{.Version}}'), new RegExp(`^${pinned.replaceAll('.', '\\.')}$`));
  });

  it('creates, lints and renders a chart offline', () => {
    helm('create', 'demo');
    assert.match(helm('lint', 'demo'), /1 chart\(s\) linted, 0 chart\(s\) failed/);
    const rendered = helm('template', 'release-a', 'demo', '--namespace', 'team-a');
    assert.match(rendered, /kind: Deployment/);
    assert.match(rendered, /name: release-a-demo/);
  });
});

/**
 * The harness itself: the control plane it builds and starts is the pinned
 * one, answers kubectl as an admin, enforces RBAC, and leaves nothing behind.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, mustSucceed, startE2E, type E2E } from '../support/harness.ts';

function pinnedKubernetesVersion(): string {
  const env = readFileSync(join(REPO_ROOT, 'test/controlplane/versions.env'), 'utf8');
  const match = /^KUBERNETES_VERSION=(\S+)/m.exec(env);
  assert.ok(match?.[1], 'versions.env names KUBERNETES_VERSION');
  return match[1];
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('e2e control plane', () => {
  let env: E2E;
  before(async () => {
    env = await startE2E({ webhook: false });
    process.stderr.write(
      `e2e: control plane ready in ${Math.round(env.timings.controlPlaneMs)} ms ` +
        `(build.sh ${Math.round(env.timings.buildMs)} ms)\n`,
    );
  });
  after(() => env?.stop());

  it('runs the pinned kube-apiserver and kubectl', async () => {
    const { stdout } = await mustSucceed(env.kubectl, ['version', '-o', 'json']);
    const version = JSON.parse(stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    const pinned = pinnedKubernetesVersion();
    assert.equal(version.serverVersion.gitVersion, pinned);
    assert.equal(version.clientVersion.gitVersion, pinned);
  });

  it('answers kubectl as system:masters', async () => {
    const { stdout } = await mustSucceed(env.kubectl, ['get', 'namespaces', '-o', 'name']);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      assert.match(stdout, new RegExp(`^namespace/${ns}$`, 'm'));
    }
  });

  it('enforces RBAC for everyone else', async () => {
    const result = await env.kubectl(['auth', 'can-i', 'create', 'deployments', '--as=nobody']);
    assert.equal(result.stdout.trim(), 'no');
    assert.notEqual(result.code, 0);
  });

  it('stops every process and removes its directory', async () => {
    const pids = [env.controlPlane.etcd.pid, env.controlPlane.apiserver.pid];
    assert.ok(pids.every(isRunning));
    await env.stop();
    assert.deepEqual(pids.filter(isRunning), []);
    assert.equal(existsSync(env.dir), false);
  });
});

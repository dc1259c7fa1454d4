/**
 * The cluster settings source with many MCPTransportPolicy objects on a real
 * API server: the first list rebuilds the policy set once, not once per
 * listed policy (each rebuild checked every policy listed so far: with
 * 1,000 policies, half a million checks before the first review, and the
 * garbage left the webhook's RSS some 110 MB higher for good; BENCHMARKS.md,
 * "Memory"), later changes still rebuild it, one per change, and a write of
 * a policy's status alone does not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startE2E, type E2E } from '../support/harness.ts';
import { loadKubeAccess } from '../../src/kubernetes/kube-access.ts';
import { KubeClient } from '../../src/kubernetes/kube-client.ts';
import { ClusterSettingsSource } from '../../src/settings/cluster-source.ts';

const COUNT = 100;

function policy(i: number): object {
  return {
    apiVersion: 'mcp-admission.dev/v1alpha1',
    kind: 'MCPTransportPolicy',
    metadata: { name: `team-${String(i).padStart(3, '0')}` },
    spec: { mode: 'mutate', namespaceSelector: { matchLabels: { team: `t${i}` } }, defaults: { terminationGracePeriodSeconds: 200 + i } },
  };
}

describe(`the cluster settings source with ${COUNT} policies`, () => {
  let env: E2E;
  let source: ClusterSettingsSource | undefined;
  let client: KubeClient | undefined;
  before(async () => {
    // The CRD and the cluster default policy, no webhook.
    env = await startE2E({ webhook: false });
    const applied = await env.apply(Array.from({ length: COUNT }, (_, i) => policy(i)), ['--server-side']);
    assert.equal(applied.code, 0, applied.stderr);
  });
  after(async () => {
    await source?.stop();
    await client?.access.close();
    await env?.stop();
  });

  it('rebuilds the policy set once at the first sync, then once per change of a spec, never for a status write', async () => {
    client = new KubeClient(await loadKubeAccess({ kubeconfig: env.controlPlane.kubeconfig }));
    const rebuilds: Array<{ accepted: number; invalid: number }> = [];
    source = new ClusterSettingsSource({ client, logger: pino({ level: 'silent' }), onPolicies: (counts) => rebuilds.push(counts) });
    await source.start();
    assert.deepEqual(rebuilds, [{ accepted: COUNT + 1, invalid: 0 }]);
    assert.equal(source.settingsFor('default').terminationGracePeriodSeconds, 120);

    const added = await env.apply(policy(COUNT));
    assert.equal(added.code, 0, added.stderr);
    for (const started = performance.now(); rebuilds.length < 2; ) {
      assert.ok(performance.now() - started < 10_000, 'no rebuild 10 s after a policy was added');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(rebuilds, [{ accepted: COUNT + 1, invalid: 0 }, { accepted: COUNT + 2, invalid: 0 }]);

    // Status writes (the status writer's, every pass, through the status
    // subresource) leave the policies as they were: no rebuild. A spec
    // change after them is rebuilt, and arrives on the same watch after
    // them, so when it has been seen, so have they.
    for (let i = 0; i < 10; i++) {
      const status = { status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', reason: 'Accepted', message: 'in force', lastTransitionTime: '2026-11-24T09:30:00Z' }] } };
      const written = await env.kubectl(['patch', 'mcptransportpolicy', `team-${String(i).padStart(3, '0')}`, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
      assert.equal(written.code, 0, written.stderr);
    }
    const changed = await env.apply({ ...policy(0), spec: { ...(policy(0) as { spec: object }).spec, defaults: { terminationGracePeriodSeconds: 999 } } });
    assert.equal(changed.code, 0, changed.stderr);
    for (const started = performance.now(); rebuilds.length < 3; ) {
      assert.ok(performance.now() - started < 10_000, 'no rebuild 10 s after a policy was changed');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(rebuilds.length, 3, `${rebuilds.length - 2} rebuilds for 10 status writes and 1 spec change`);
  });
});

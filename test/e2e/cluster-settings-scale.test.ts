/**
 * The cluster settings source with many MCPTransportPolicy objects on a real
 * API server: the first list rebuilds the policy set once, not once per
 * listed policy (each rebuild checked every policy listed so far: with
 * 1,000 policies, half a million checks before the first review, and the
 * garbage left the webhook's RSS some 110 MB higher for good; BENCHMARKS.md,
 * "Memory"), later changes still rebuild it, one per change, and a write of
 * a policy's status alone does not. A namespace's new labels forget its
 * own resolved settings, not every namespace's.
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
    // Of each policy the cache keeps what is read: no managedFields, no
    // last-applied annotation (the cluster default is applied by kubectl).
    for (const kept of source.snapshot().policies) {
      assert.deepEqual(Object.keys(kept).sort(), ['apiVersion', 'kind', 'metadata', 'spec'], kept.metadata?.name);
      assert.deepEqual(Object.keys(kept.metadata ?? {}).sort(), ['generation', 'name', 'resourceVersion', 'uid'], kept.metadata?.name);
    }

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

  it('a namespace relabelled forgets its own settings alone; an update that leaves its labels forgets nothing and reports no change', async () => {
    client ??= new KubeClient(await loadKubeAccess({ kubeconfig: env.controlPlane.kubeconfig }));
    let changes = 0;
    const watching = new ClusterSettingsSource({ client, logger: pino({ level: 'silent' }), onChange: () => void changes++ });
    try {
      await watching.start();
      for (const [name, team] of [['relabelled', 't1'], ['bystander', 't2']]) {
        const made = await env.kubectl(['create', 'namespace', name!]);
        assert.equal(made.code, 0, made.stderr);
        const labelled = await env.kubectl(['label', 'namespace', name!, `team=${team}`]);
        assert.equal(labelled.code, 0, labelled.stderr);
      }
      const settled = async (what: string, check: () => boolean) => {
        for (const started = performance.now(); !check(); ) {
          assert.ok(performance.now() - started < 10_000, `${what} within 10 s`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      await settled('both namespaces seen', () => watching.settingsFor('relabelled').terminationGracePeriodSeconds === 201 && watching.settingsFor('bystander').terminationGracePeriodSeconds === 202);
      const bystander = watching.settingsFor('bystander');
      const before = changes;
      // An annotation, then new labels: on one watch, in that order.
      const annotated = await env.kubectl(['annotate', 'namespace', 'relabelled', 'example.com/owner=team-one']);
      assert.equal(annotated.code, 0, annotated.stderr);
      const relabelled = await env.kubectl(['label', 'namespace', 'relabelled', 'team=t3', '--overwrite']);
      assert.equal(relabelled.code, 0, relabelled.stderr);
      await settled('the new labels in force', () => watching.settingsFor('relabelled').terminationGracePeriodSeconds === 203);
      assert.equal(watching.settingsFor('bystander'), bystander, "another namespace's settings are kept, not resolved again");
      assert.equal(changes - before, 1, 'one change reported: the labels, not the annotation');
    } finally {
      await watching.stop();
    }
  });
});

/**
 * What a user sees at `kubectl apply` (issue 3): real kubectl, a real
 * kube-apiserver, mcp-admission registered through deploy/overlays/local.
 * Stored objects are read back with `kubectl get -o json`, denials and
 * warnings from kubectl's stderr, exactly as they reach a terminal.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Annotations } from '../../src/contract.ts';
import { ensureNamespace, getJson, manifest, startE2E, type E2E, type KubectlResult } from '../support/harness.ts';
import { APPLIED, mcpDeployment, mcpService, type Manifest } from '../support/objects.ts';

const NS = 'mcp';
const SAFE_STRATEGY = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } };
const DEFAULT_STRATEGY = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
const DENIED_BY = 'admission webhook "validate.mcp-admission.dev" denied the request';

describe('kubectl apply through mcp-admission', () => {
  let env: E2E;
  const get = (kind: string, name: string, namespace = NS): Promise<Manifest> =>
    getJson<Manifest>(env.kubectl, [kind, name, '-n', namespace]);
  const exists = async (kind: string, name: string, namespace = NS): Promise<boolean> =>
    (await env.kubectl(['get', kind, name, '-n', namespace, '-o', 'name'])).code === 0;
  const applyOk = async (object: Manifest, args: string[] = []): Promise<KubectlResult> => {
    const result = await env.apply(object, args);
    assert.equal(result.code, 0, `kubectl apply failed:\n${result.stderr}`);
    return result;
  };
  const refused = async (object: Manifest): Promise<string> => {
    const result = await env.apply(object);
    assert.notEqual(result.code, 0, `expected a refusal, kubectl said:\n${result.stdout}${result.stderr}`);
    assert.ok(result.stderr.includes(DENIED_BY), result.stderr);
    return result.stderr;
  };

  before(async () => {
    env = await startE2E();
    await ensureNamespace(env.kubectl, NS);
  });
  after(() => env?.stop());

  describe('an SSE server', () => {
    it('is stored with a rollout that never cuts streams and a 120 s grace period', async () => {
      await applyOk(mcpDeployment('sse-app', { namespace: NS, annotations: { protocol: 'sse' } }));
      const stored = await get('deployment', 'sse-app');
      assert.deepEqual(stored.spec.strategy, SAFE_STRATEGY);
      assert.equal(stored.spec.template.spec.terminationGracePeriodSeconds, 120);
      assert.match(stored.metadata.annotations[APPLIED], /maxUnavailable 0/);
    });

    it('keeps a longer grace period the user chose', async () => {
      await applyOk(
        mcpDeployment('sse-long-grace', { namespace: NS, annotations: { protocol: 'sse' } }, {
          template: { spec: { terminationGracePeriodSeconds: 600 } },
        }),
      );
      const stored = await get('deployment', 'sse-long-grace');
      assert.equal(stored.spec.template.spec.terminationGracePeriodSeconds, 600);
      assert.deepEqual(stored.spec.strategy, SAFE_STRATEGY);
    });

    it('has its Service stored with ClientIP affinity for 10800 s', async () => {
      await applyOk(mcpService('sse-app', { namespace: NS, annotations: { protocol: 'sse' } }));
      const stored = await get('service', 'sse-app');
      assert.equal(stored.spec.sessionAffinity, 'ClientIP');
      assert.equal(stored.spec.sessionAffinityConfig.clientIP.timeoutSeconds, 10800);
    });

    it('is assumed when the transport is not detected yet, and kubectl shows why', async () => {
      const result = await applyOk(mcpDeployment('undetected', { namespace: NS }));
      assert.deepEqual((await get('deployment', 'undetected')).spec.strategy, SAFE_STRATEGY);
      assert.match(result.stderr, /^Warning: mcp-admission: .*not detected/m);
    });
  });

  describe('left untouched', () => {
    it('a streamable-http Deployment and Service', async () => {
      const options = { namespace: NS, annotations: { protocol: 'streamable-http' } };
      const result = await applyOk(mcpDeployment('streamable', options));
      await applyOk(mcpService('streamable', options));
      const deployment = await get('deployment', 'streamable');
      assert.deepEqual(deployment.spec.strategy, DEFAULT_STRATEGY);
      assert.equal(deployment.spec.template.spec.terminationGracePeriodSeconds, 30);
      assert.equal(deployment.metadata.annotations[APPLIED], undefined);
      assert.equal((await get('service', 'streamable')).spec.sessionAffinity, 'None');
      assert.doesNotMatch(result.stderr, /Warning/);
    });

    it('unlabelled objects, whatever their annotations say', async () => {
      const options = { namespace: NS, annotations: { protocol: 'sse' }, unlabelled: true };
      await applyOk(mcpDeployment('unlabelled', options, { strategy: { type: 'Recreate' } }));
      await applyOk(mcpService('unlabelled', options));
      assert.deepEqual((await get('deployment', 'unlabelled')).spec.strategy, { type: 'Recreate' });
      assert.equal((await get('service', 'unlabelled')).spec.sessionAffinity, 'None');
    });

    it('labelled SSE objects in kube-system', async () => {
      const options = { namespace: 'kube-system', annotations: { protocol: 'sse' } };
      await applyOk(mcpDeployment('system-sse', options, { strategy: { type: 'Recreate' } }));
      await applyOk(mcpService('system-sse', options));
      assert.deepEqual((await get('deployment', 'system-sse', 'kube-system')).spec.strategy, { type: 'Recreate' });
      assert.equal((await get('service', 'system-sse', 'kube-system')).spec.sessionAffinity, 'None');
    });
  });

  describe('refusals', () => {
    it('a Recreate SSE Deployment, with the whole reason and its fix on stderr', async () => {
      const stderr = await refused(
        mcpDeployment('recreate', { namespace: NS, annotations: { protocol: 'sse' } }, { strategy: { type: 'Recreate' } }),
      );
      assert.match(stderr, /mcp-admission refused deployment "recreate" in namespace "mcp"/);
      assert.match(stderr, /spec\.strategy\.type/);
      assert.match(stderr, /Recreate stops every pod/);
      // The fix, both as YAML and as a command that can be pasted.
      assert.match(stderr, /Fix:\s+spec:\s+strategy:\s+type: RollingUpdate\s+rollingUpdate:\s+maxSurge: "25%"\s+maxUnavailable: 0/);
      assert.match(stderr, /kubectl patch deployment\/recreate -n mcp/);
      assert.equal(await exists('deployment', 'recreate'), false);
    });

    it('the kubectl patch in a refusal fixes the object as it says', async () => {
      // Stored before it was an MCP server, then labelled: an UPDATE.
      const options = { namespace: NS, annotations: { protocol: 'sse' }, unlabelled: true };
      await applyOk(mcpDeployment('fix-me', options, { strategy: { type: 'Recreate' } }));
      const label = ['label', 'deployment', 'fix-me', '-n', NS, 'app.kubernetes.io/component=mcp-server'];
      const refusal = await env.kubectl(label);
      assert.ok(refusal.stderr.includes(DENIED_BY), refusal.stderr);
      const command = /^or: kubectl (patch \S+ -n \S+ --type=merge) -p '([^']+)'$/m.exec(refusal.stderr);
      assert.ok(command?.[1] && command[2], `no kubectl patch command in:\n${refusal.stderr}`);
      const patch = await env.kubectl([...command[1].split(' '), '-p', command[2]]);
      assert.equal(patch.code, 0, patch.stderr);
      const relabel = await env.kubectl(label);
      assert.equal(relabel.code, 0, relabel.stderr);
      assert.deepEqual((await get('deployment', 'fix-me')).spec.strategy, SAFE_STRATEGY);
    });

    it('an explicit maxSurge: 0, which leaves a safe rollout no room', async () => {
      const stderr = await refused(
        mcpDeployment('no-surge', { namespace: NS, annotations: { protocol: 'sse' } }, {
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
        }),
      );
      assert.match(stderr, /spec\.strategy\.rollingUpdate\.maxSurge/);
      assert.equal(await exists('deployment', 'no-surge'), false);
    });

    it('annotation values that do not parse or break policy bounds', async () => {
      for (const value of ['abc', '7200']) {
        const stderr = await refused(
          mcpDeployment(`grace-${value}`, {
            namespace: NS,
            annotations: { protocol: 'sse', 'termination-grace-period-seconds': value },
          }),
        );
        assert.ok(stderr.includes(`metadata.annotations[${Annotations.terminationGracePeriodSeconds}]`), stderr);
        assert.ok(stderr.includes(value), stderr);
      }
    });

    it('every problem at once, each with its field', async () => {
      const stderr = await refused(
        mcpDeployment('many', {
          namespace: NS,
          annotations: { protocol: 'sse', 'termination-grace-period-seconds': 'soon' },
        }, { strategy: { type: 'Recreate' } }),
      );
      assert.match(stderr, /\(\d+ problems\)/);
      assert.match(stderr, /spec\.strategy\.type/);
      assert.ok(stderr.includes(`metadata.annotations[${Annotations.terminationGracePeriodSeconds}]`), stderr);
    });

    it('also in a server-side dry run', async () => {
      const result = await env.apply(
        mcpDeployment('dry-recreate', { namespace: NS, annotations: { protocol: 'sse' } }, { strategy: { type: 'Recreate' } }),
        ['--dry-run=server'],
      );
      assert.notEqual(result.code, 0);
      assert.ok(result.stderr.includes(DENIED_BY), result.stderr);
    });
  });

  describe('warnings', () => {
    it('appear in kubectl output and do not block', async () => {
      const result = await applyOk(
        mcpDeployment('single', { namespace: NS, annotations: { protocol: 'sse' } }, { replicas: 1 }),
      );
      assert.match(result.stderr, /^Warning: mcp-admission: .*one replica/m);
      assert.deepEqual((await get('deployment', 'single')).spec.strategy, SAFE_STRATEGY);
    });

    it('for a Service whose owner opts out of affinity', async () => {
      const result = await applyOk(
        mcpService('no-affinity', { namespace: NS, annotations: { protocol: 'sse', 'session-affinity': 'false' } }),
      );
      assert.match(result.stderr, /^Warning: mcp-admission: /m);
      assert.equal((await get('service', 'no-affinity')).spec.sessionAffinity, 'None');
    });
  });

  describe('changes over time', () => {
    it('a server-side dry run shows the result without storing it', async () => {
      const result = await applyOk(
        mcpDeployment('dry', { namespace: NS, annotations: { protocol: 'sse' } }),
        ['--dry-run=server', '-o', 'json'],
      );
      assert.deepEqual((JSON.parse(result.stdout) as Manifest).spec.strategy, SAFE_STRATEGY);
      assert.equal(await exists('deployment', 'dry'), false);
    });

    it('an UPDATE from a changed manifest gets the settings again', async () => {
      const options = { namespace: NS, annotations: { protocol: 'sse' } };
      await applyOk(mcpDeployment('updated', options));
      const first = await get('deployment', 'updated');
      const changed = mcpDeployment('updated', options, {
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } },
        template: { spec: { terminationGracePeriodSeconds: 60 } },
      });
      changed.spec.template.spec.containers[0].image = 'ghcr.io/example/mcp-server:1.1.0';
      await applyOk(changed);
      const second = await get('deployment', 'updated');
      assert.ok(second.metadata.generation > first.metadata.generation);
      assert.equal(second.spec.template.spec.containers[0].image, 'ghcr.io/example/mcp-server:1.1.0');
      assert.deepEqual(second.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
      assert.equal(second.spec.template.spec.terminationGracePeriodSeconds, 120);
    });

    /**
     * Applies `object` (named `name-csa` for client-side apply, `name-ssa` for
     * server-side apply), then twice more the same way, and asserts the stored
     * object never changes. The two ways get separate objects: moving an
     * object from one to the other rewrites managedFields, a change of its own.
     */
    const assertStableReapply = async (kind: string, name: string, build: (name: string) => Manifest): Promise<void> => {
      for (const [suffix, args] of [['csa', []], ['ssa', ['--server-side']]] as const) {
        const object = build(`${name}-${suffix}`);
        await applyOk(object, [...args]);
        const first = await get(kind, object.metadata.name);
        for (let i = 0; i < 2; i++) {
          await applyOk(object, [...args]);
          const again = await get(kind, object.metadata.name);
          const how = `${kind} re-applied with kubectl apply ${args.join(' ')}`;
          assert.deepEqual(again.metadata.annotations, first.metadata.annotations, how);
          assert.equal(again.metadata.generation, first.metadata.generation, how);
          assert.equal(again.metadata.resourceVersion, first.metadata.resourceVersion, how);
        }
      }
    };

    it('an unchanged re-apply changes nothing', async () => {
      const options = { namespace: NS, annotations: { protocol: 'sse' } };
      await assertStableReapply('deployment', 'stable', (name) => mcpDeployment(name, options));
      await assertStableReapply('service', 'stable', (name) => mcpService(name, options));
    });

    it('an unchanged re-apply changes nothing, even where the manifest disagrees with the webhook', async () => {
      // The manifest asks for 30 s and no affinity; the webhook stores 120 s
      // and ClientIP. Every re-apply sends the manifest's values again and
      // gets the webhook's back: the stored object must not change.
      const options = { namespace: NS, annotations: { protocol: 'sse' } };
      await assertStableReapply('deployment', 'disagrees', (name) =>
        mcpDeployment(name, options, { template: { spec: { terminationGracePeriodSeconds: 30 } } }),
      );
      await assertStableReapply('service', 'disagrees', (name) => mcpService(name, options, { sessionAffinity: 'None' }));
    });

    it('kubectl patch cannot make a stored SSE Deployment unsafe', async () => {
      await applyOk(mcpDeployment('patched', { namespace: NS, annotations: { protocol: 'sse' } }));
      const loosen = await env.kubectl([
        'patch', 'deployment', 'patched', '-n', NS, '--type=merge',
        '-p', JSON.stringify({ spec: { strategy: { rollingUpdate: { maxUnavailable: 1 } }, template: { spec: { terminationGracePeriodSeconds: 5 } } } }),
      ]);
      assert.equal(loosen.code, 0, loosen.stderr);
      const stored = await get('deployment', 'patched');
      assert.deepEqual(stored.spec.strategy, SAFE_STRATEGY);
      assert.equal(stored.spec.template.spec.terminationGracePeriodSeconds, 120);

      const recreate = await env.kubectl([
        'patch', 'deployment', 'patched', '-n', NS, '--type=json',
        '-p', JSON.stringify([{ op: 'replace', path: '/spec/strategy', value: { type: 'Recreate' } }]),
      ]);
      assert.notEqual(recreate.code, 0);
      assert.ok(recreate.stderr.includes(DENIED_BY), recreate.stderr);
      assert.deepEqual((await get('deployment', 'patched')).spec.strategy, SAFE_STRATEGY);
    });

    it('declaring streamable-http later leaves the safe settings in place', async () => {
      await applyOk(mcpDeployment('switch', { namespace: NS, annotations: { protocol: 'sse' } }));
      await applyOk(mcpDeployment('switch', { namespace: NS, annotations: { protocol: 'streamable-http' } }));
      // The webhook never loosens: a streamable server is simply left alone.
      assert.deepEqual((await get('deployment', 'switch')).spec.strategy, SAFE_STRATEGY);
    });
  });

  it('kubectl sees one manifest per object in a List too', async () => {
    const result = await env.kubectl(['apply', '-f', '-'], {
      input: manifest([
        mcpDeployment('listed', { namespace: NS, annotations: { protocol: 'sse' } }),
        mcpService('listed', { namespace: NS, annotations: { protocol: 'sse' } }),
      ]),
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await get('deployment', 'listed')).spec.strategy, SAFE_STRATEGY);
    assert.equal((await get('service', 'listed')).spec.sessionAffinity, 'ClientIP');
  });
});

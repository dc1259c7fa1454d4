/**
 * With the webhook process stopped, MCP objects follow the documented
 * failurePolicy (Fail: refused, never stored unsafe) and nothing else in the
 * cluster notices: unlabelled objects, system namespaces, scaling, deletion
 * and finalizer removal all go through. When it serves again, so does
 * admission.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureNamespace, getJson, mustSucceed, startE2E, type E2E } from '../support/harness.ts';
import { mcpDeployment, mcpService, type Manifest } from '../support/objects.ts';

const NS = 'mcp';
const SSE = { namespace: NS, annotations: { protocol: 'sse' } };

describe('with the webhook down', () => {
  let env: E2E;
  const webhook = () => {
    assert.ok(env.webhook, 'the webhook was started');
    return env.webhook;
  };

  before(async () => {
    env = await startE2E();
    await ensureNamespace(env.kubectl, NS);
    // Stored while the webhook serves, for the scale/delete cases below.
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: JSON.stringify(mcpDeployment('existing', SSE)) });
    const finalized = mcpDeployment('finalized', SSE);
    finalized.metadata.finalizers = ['e2e.mcp-admission.dev/hold'];
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: JSON.stringify(finalized) });
    await webhook().stop();
  });
  after(() => env?.stop());

  it('refuses MCP Deployments and Services (failurePolicy: Fail), saying why', async () => {
    for (const object of [mcpDeployment('while-down', SSE), mcpService('while-down', SSE)]) {
      const result = await env.apply(object);
      assert.notEqual(result.code, 0, result.stdout);
      assert.match(result.stderr, /failed calling webhook "mutate\.mcp-admission\.dev"/);
      assert.match(result.stderr, /connection refused/);
      const stored = await env.kubectl(['get', object.kind, 'while-down', '-n', NS]);
      assert.notEqual(stored.code, 0, `${object.kind} was stored without the webhook`);
    }
  });

  it('admits everything else as usual', async () => {
    const unlabelled = { namespace: NS, annotations: { protocol: 'sse' }, unlabelled: true };
    const system = { namespace: 'kube-system', annotations: { protocol: 'sse' } };
    for (const object of [
      mcpDeployment('plain', unlabelled),
      mcpService('plain', unlabelled),
      mcpDeployment('system', system),
      mcpService('system', system),
    ]) {
      const result = await env.apply(object);
      assert.equal(result.code, 0, `${object.kind} ${object.metadata.namespace}/${object.metadata.name}: ${result.stderr}`);
    }
  });

  it('lets MCP Deployments be scaled and deleted', async () => {
    // The scale subresource and DELETE are not in the webhooks' rules.
    await mustSucceed(env.kubectl, ['scale', 'deployment', 'existing', '-n', NS, '--replicas=3']);
    assert.equal((await getJson<Manifest>(env.kubectl, ['deployment', 'existing', '-n', NS])).spec.replicas, 3);
    await mustSucceed(env.kubectl, ['delete', 'deployment', 'existing', '-n', NS, '--wait=false']);
  });

  it('lets an MCP Deployment being deleted shed its finalizers (matchConditions)', async () => {
    await mustSucceed(env.kubectl, ['delete', 'deployment', 'finalized', '-n', NS, '--wait=false']);
    // This UPDATE would be refused without the not-being-deleted condition.
    await mustSucceed(env.kubectl, [
      'patch', 'deployment', 'finalized', '-n', NS, '--type=json',
      '-p', JSON.stringify([{ op: 'remove', path: '/metadata/finalizers' }]),
    ]);
    const gone = await env.kubectl(['get', 'deployment', 'finalized', '-n', NS]);
    assert.match(gone.stderr, /NotFound/);
  });

  it('admits MCP objects again once the webhook is back', async () => {
    await webhook().start();
    const result = await env.apply(mcpDeployment('after-restart', SSE));
    assert.equal(result.code, 0, result.stderr);
    const stored = await getJson<Manifest>(env.kubectl, ['deployment', 'after-restart', '-n', NS]);
    assert.equal(stored.spec.strategy.rollingUpdate.maxUnavailable, 0);
  });
});

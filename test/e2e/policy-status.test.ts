/**
 * MCPTransportPolicy status on a real API server: a policy stored invalid
 * while the webhook was down (under an older CRD without the rules that now
 * refuse it) gets `Invalid` with the field path once the webhook is back,
 * and a Warning Event; two policies whose merged bounds cross in a
 * namespace both get `Conflicting`; `kubectl get mcptp` shows it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { getJson, manifest, mustSucceed, REPO_ROOT, startE2E, type E2E } from '../support/harness.ts';
import type { Manifest } from '../support/objects.ts';

function policy(name: string, spec: Manifest): Manifest {
  return { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name }, spec };
}

/** The CRD as an older release had it: the same schema without its CEL rules. */
function crdWithoutRules(): Manifest {
  const crd = parse(readFileSync(`${REPO_ROOT}/deploy/crd/mcptransportpolicies.yaml`, 'utf8'));
  const strip = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(strip);
    else if (node && typeof node === 'object') {
      delete (node as Manifest)['x-kubernetes-validations'];
      Object.values(node).forEach(strip);
    }
  };
  strip(crd);
  return crd;
}

describe('MCPTransportPolicy status', () => {
  let env: E2E;
  const condition = async (name: string, type: string): Promise<Manifest | undefined> => {
    const object = await getJson<Manifest>(env.kubectl, ['mcptransportpolicy', name]);
    return object.status?.conditions?.find((c: Manifest) => c.type === type);
  };
  const waitFor = async (what: string, check: () => Promise<boolean>): Promise<void> => {
    const deadline = performance.now() + 20_000;
    while (!(await check())) {
      assert.ok(performance.now() < deadline, `${what} within 20 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  before(async () => {
    env = await startE2E();
    // The Lease the status writer holds lives in the webhook's namespace.
    await mustSucceed(env.kubectl, ['create', 'namespace', 'mcp-admission']);
  });
  after(() => env?.stop());

  it('a valid policy is Accepted at its generation', async () => {
    await waitFor('cluster-default Accepted', async () => (await condition('cluster-default', 'Accepted'))?.status === 'True');
    const object = await getJson<Manifest>(env.kubectl, ['mcptransportpolicy', 'cluster-default']);
    assert.equal(object.status.observedGeneration, object.metadata.generation);

    // Every plan is counted with its CPU time.
    const metrics = await new Promise<string>((resolve, reject) =>
      httpGet({ host: '127.0.0.1', port: env.webhook!.metricsPort, path: '/metrics' }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text));
      }).on('error', reject),
    );
    // At least the first, which resolves every namespace.
    const plans = Number(/^mcp_admission_policy_status_plan_cpu_seconds_count\{scope="all"\} (\S+)$/m.exec(metrics)?.[1]);
    assert.ok(plans >= 1, `whole plans counted: ${plans}`);
  });

  it('a policy stored invalid while the webhook was down gets Invalid with the field path, and a Warning Event', async () => {
    await env.webhook!.stop();
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: manifest(crdWithoutRules()) });
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], {
      input: manifest(policy('broken', { bounds: { minTerminationGracePeriodSeconds: 900, maxTerminationGracePeriodSeconds: 60 } })),
    });
    await mustSucceed(env.kubectl, ['apply', '-f', `${REPO_ROOT}/deploy/crd/mcptransportpolicies.yaml`]);
    await env.webhook!.start();

    await waitFor('broken Invalid', async () => (await condition('broken', 'Invalid'))?.status === 'True');
    const invalid = await condition('broken', 'Invalid');
    assert.equal(invalid!.reason, 'InvalidSpec');
    assert.match(invalid!.message, /^spec\.bounds\.minTerminationGracePeriodSeconds: 900 is above maxTerminationGracePeriodSeconds \(60\)/);
    assert.equal((await condition('broken', 'Accepted'))!.status, 'False');

    await waitFor('a Warning Event', async () => {
      const events = await getJson<Manifest>(env.kubectl, ['events', '-n', 'default', '--field-selector', 'involvedObject.name=broken']);
      return events.items.some((e: Manifest) => e.type === 'Warning' && e.reason === 'InvalidPolicy' && /spec\.bounds\.minTerminationGracePeriodSeconds/.test(e.message));
    });
  });

  it('two policies whose merged bounds leave no valid value in a namespace are both Conflicting', async () => {
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], {
      input: manifest([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gold-tools', labels: { team: 'a', tier: 'gold' } } },
        policy('team-a-floor', { namespaceSelector: { matchLabels: { team: 'a' } }, bounds: { minTerminationGracePeriodSeconds: 600 } }),
        policy('gold-ceiling', { namespaceSelector: { matchLabels: { team: 'a', tier: 'gold' } }, bounds: { maxTerminationGracePeriodSeconds: 300 } }),
      ]),
    });
    for (const name of ['team-a-floor', 'gold-ceiling']) {
      await waitFor(`${name} Conflicting`, async () => (await condition(name, 'Conflicting'))?.status === 'True');
      assert.match((await condition(name, 'Conflicting'))!.message, /^In namespace gold-tools: MCPTransportPolicy gold-ceiling sets maxTerminationGracePeriodSeconds 300/);
    }
    assert.equal((await condition('cluster-default', 'Conflicting'))!.status, 'False');

    const printed = await mustSucceed(env.kubectl, ['get', 'mcptp']);
    const wide = await mustSucceed(env.kubectl, ['get', 'mcptp', '-o', 'wide']);
    process.stderr.write(`e2e: kubectl get mcptp\n${printed.stdout}\ne2e: kubectl get mcptp -o wide\n${wide.stdout}\n`);
    assert.match(printed.stdout, /^NAME\s+MODE\s+ACCEPTED\s+NAMESPACES\s+GRACE\s+AGE\n/);
    assert.match(printed.stdout, /\nbroken\s+False\s/);
    assert.match(printed.stdout, /\ncluster-default\s+mutate\s+True\s/);
    assert.match(wide.stdout, /\ngold-ceiling\s+True\s+True\s/);
  });
});

/**
 * MCPTransportPolicy on a real API server (issue 4): a policy applied with
 * kubectl changes what the next `kubectl apply` gets, without restarting
 * the webhook; modes switch; invalid policies are refused with our message;
 * deleting the policy brings the built-in defaults back.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { getJson, manifest, mustSucceed, REPO_ROOT, startE2E, waitForEstablished, type E2E } from '../support/harness.ts';
import { Annotations } from '../../src/contract.ts';
import { mcpDeployment, type Manifest } from '../support/objects.ts';

const NS = 'team-a-tools';

function policy(spec: Manifest, name = 'team-a'): Manifest {
  return { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name }, spec };
}

describe('MCPTransportPolicy through kubectl', () => {
  let env: E2E;
  const server = (name: string) => mcpDeployment(name, { namespace: NS, annotations: { protocol: 'sse' } });
  /** Grace period the API server would store for a fresh SSE Deployment, asked with a server-side dry run. */
  const graceNow = async (): Promise<number | string> => {
    const result = await env.apply(server('probe-grace'), ['--dry-run=server', '-o', 'json']);
    if (result.code !== 0) return result.stderr;
    return JSON.parse(result.stdout).spec.template.spec.terminationGracePeriodSeconds;
  };
  /** Polls until `graceNow()` equals `expected`; returns how long that took. */
  const waitForGrace = async (expected: number | RegExp): Promise<number> => {
    const started = performance.now();
    for (;;) {
      const grace = await graceNow();
      if (typeof expected === 'number' ? grace === expected : expected.test(String(grace))) return performance.now() - started;
      assert.ok(performance.now() - started < 10_000, `grace period still ${grace} after 10 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  before(async () => {
    env = await startE2E();
    await mustSucceed(env.kubectl, ['apply', '-f', `${REPO_ROOT}/deploy/crd/mcptransportpolicies.yaml`]);
    await waitForEstablished(env.kubectl, ['mcptransportpolicies.mcp-admission.dev']);
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], {
      input: manifest({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { team: 'a' } } }),
    });
  });
  after(() => env?.stop());

  it('with no policy, built-in defaults serve', async () => {
    assert.equal(await graceNow(), 120);
  });

  it('a policy for the namespace takes effect without restart', async () => {
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], {
      input: manifest(policy({ namespaceSelector: { matchLabels: { team: 'a' } }, defaults: { terminationGracePeriodSeconds: 300 } })),
    });
    const tookMs = await waitForGrace(300);
    process.stderr.write(`e2e: policy change visible to admission after ${tookMs.toFixed(0)} ms\n`);
    const printed = await mustSucceed(env.kubectl, ['get', 'mcptransportpolicies']);
    assert.match(printed.stdout, /^NAME\s+MODE\s+ACCEPTED\s+NAMESPACES\s+GRACE\s+AGE\n/);
    assert.match(printed.stdout, /team-a\s+.*300/);
  });

  it('a namespace the selector does not match keeps the defaults', async () => {
    await mustSucceed(env.kubectl, ['create', 'namespace', 'team-b-tools']);
    const result = await env.apply(mcpDeployment('other', { namespace: 'team-b-tools', annotations: { protocol: 'sse' } }), ['--dry-run=server', '-o', 'json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).spec.template.spec.terminationGracePeriodSeconds, 120);
  });

  it('labelling a namespace brings it under the policy, without restart', async () => {
    await mustSucceed(env.kubectl, ['label', 'namespace', 'team-b-tools', 'team=a']);
    const started = performance.now();
    for (;;) {
      const result = await env.apply(mcpDeployment('other', { namespace: 'team-b-tools', annotations: { protocol: 'sse' } }), ['--dry-run=server', '-o', 'json']);
      assert.equal(result.code, 0, result.stderr);
      if (JSON.parse(result.stdout).spec.template.spec.terminationGracePeriodSeconds === 300) break;
      assert.ok(performance.now() - started < 10_000, 'the new label is seen within 10 s');
      await new Promise((r) => setTimeout(r, 25));
    }
  });

  it('mode validate refuses the same manifest with its fix', async () => {
    await mustSucceed(env.kubectl, ['patch', 'mcptransportpolicy', 'team-a', '--type=merge', '-p', '{"spec":{"mode":"validate"}}']);
    await waitForGrace(/denied the request/);
    const result = await env.apply(server('gitops-app'));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /admission webhook "validate.mcp-admission.dev" denied the request: mcp-admission refused deployment "gitops-app" in namespace "team-a-tools"/);
    assert.match(result.stderr, /terminationGracePeriodSeconds: 300/);
    assert.match(result.stderr, /maxUnavailable: 0/);
  });

  it('mode warn lets it through with warnings', async () => {
    await mustSucceed(env.kubectl, ['patch', 'mcptransportpolicy', 'team-a', '--type=merge', '-p', '{"spec":{"mode":"warn"}}']);
    await waitForGrace(30);
    const result = await env.apply(server('warned-app'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Warning: mcp-admission: would deny: spec.strategy.rollingUpdate.maxUnavailable/);
    const stored = await getJson<Manifest>(env.kubectl, ['deployment', 'warned-app', '-n', NS]);
    assert.equal(stored.spec.template.spec.terminationGracePeriodSeconds, 30);
  });

  it("mode validate lets the prober's annotation-only update through, and judges any other change", async () => {
    // warned-app was stored under warn mode with the unsafe defaults; the prober now records what it found.
    await mustSucceed(env.kubectl, ['patch', 'mcptransportpolicy', 'team-a', '--type=merge', '-p', '{"spec":{"mode":"validate"}}']);
    await waitForGrace(/denied the request/);
    const status = JSON.stringify({ protocol: 'sse', detectedAt: new Date().toISOString(), reason: 'endpoint event on GET' });
    const annotated = await env.kubectl([
      'patch', 'deployment', 'warned-app', '-n', NS, '--type=merge',
      '-p', JSON.stringify({ metadata: { annotations: { [Annotations.detectedProtocol]: 'sse', [Annotations.transportStatus]: status } } }),
    ]);
    assert.equal(annotated.code, 0, annotated.stderr);
    // The same annotations with a spec change besides: judged, and refused.
    const alongside = await env.kubectl([
      'patch', 'deployment', 'warned-app', '-n', NS, '--type=merge',
      '-p', JSON.stringify({ metadata: { annotations: { [Annotations.detectedProtocol]: 'sse' } }, spec: { replicas: 3 } }),
    ]);
    assert.notEqual(alongside.code, 0);
    assert.match(alongside.stderr, /mcp-admission refused deployment "warned-app"/);
    await mustSucceed(env.kubectl, ['patch', 'mcptransportpolicy', 'team-a', '--type=merge', '-p', '{"spec":{"mode":"warn"}}']);
    await waitForGrace(30);
  });

  it('an invalid policy is refused by the API server (the CRD CEL rules) with our messages and field paths', async () => {
    const result = await env.kubectl(['apply', '-f', '-'], {
      input: manifest(policy({ defaults: { maxSurge: '0%' }, bounds: { minTerminationGracePeriodSeconds: 900, maxTerminationGracePeriodSeconds: 60 } }, 'broken')),
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /The MCPTransportPolicy "broken" is invalid/);
    assert.match(result.stderr, /spec\.bounds: Invalid value: .*minTerminationGracePeriodSeconds is above maxTerminationGracePeriodSeconds/);
    assert.match(result.stderr, /spec\.defaults\.maxSurge: Invalid value: .*leaves no room to roll/);
  });

  it('the CRD schema refuses what it can express, before the webhook', async () => {
    const result = await env.kubectl(['apply', '-f', '-'], { input: manifest(policy({ mode: 'enforce' }, 'typo')) });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /spec\.mode: Unsupported value: "enforce"/);
  });

  it('deleting the policy brings back the defaults', async () => {
    await mustSucceed(env.kubectl, ['delete', 'mcptransportpolicy', 'team-a']);
    await waitForGrace(120);
  });

  /** Server-side dry runs of a fresh SSE Deployment until `done` holds for the stored object; returns the last result. */
  const dryRunUntil = async (done: (stored: Manifest) => boolean) => {
    const started = performance.now();
    for (;;) {
      const result = await env.apply(server('dry-run'), ['--dry-run=server', '-o', 'json']);
      // Our own patch must never make the API server refuse the object.
      assert.equal(result.code, 0, result.stderr);
      const stored = JSON.parse(result.stdout) as Manifest;
      if (done(stored)) return { stored, stderr: result.stderr };
      assert.ok(performance.now() - started < 10_000, `policies not in force after 10 s: ${JSON.stringify(stored.spec.template.spec)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const sleepOf = (stored: Manifest) => stored.spec.template.spec.containers[0].lifecycle?.preStop?.sleep?.seconds;

  it('a policy preStop sleep longer than the grace period: the patched Deployment is still one the API server accepts', async () => {
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], {
      input: manifest(policy({ namespaceSelector: { matchLabels: { team: 'a' } }, defaults: { preStopSleepSeconds: 200 } }, 'long-sleep')),
    });
    // Under this policy alone the grace period stays 120: no sleep of 200 s may be added.
    const { stored, stderr } = await dryRunUntil((s) => /does not fit/.test(JSON.stringify(s)) || sleepOf(s) === undefined);
    assert.equal(stored.spec.template.spec.terminationGracePeriodSeconds, 120);
    assert.equal(sleepOf(stored), undefined);
    assert.match(stderr, /Warning: mcp-admission: spec\.defaults\.preStopSleepSeconds: MCPTransportPolicy long-sleep asks for a 200s preStop sleep/);

    // Crossed bounds from two layers: the team's minimum of 600 wins over the cluster's maximum of 300, and the sleep then fits.
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], {
      input: manifest([
        policy({ bounds: { maxTerminationGracePeriodSeconds: 300 } }, 'cluster-cap'),
        policy({ namespaceSelector: { matchLabels: { team: 'a' } }, bounds: { minTerminationGracePeriodSeconds: 600 } }, 'team-floor'),
      ]),
    });
    const crossed = await dryRunUntil((s) => s.spec.template.spec.terminationGracePeriodSeconds === 600);
    assert.equal(sleepOf(crossed.stored), 200);
    assert.match(crossed.stderr, /MCPTransportPolicy team-floor sets minTerminationGracePeriodSeconds 600/);
    await mustSucceed(env.kubectl, ['delete', 'mcptransportpolicy', 'long-sleep', 'cluster-cap', 'team-floor']);
    await waitForGrace(120);
  });

  it('with the API server gone, the last good policies stay in force and the staleness is reported', async () => {
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], {
      input: manifest(policy({ namespaceSelector: { matchLabels: { team: 'a' } }, defaults: { terminationGracePeriodSeconds: 450 } })),
    });
    await waitForGrace(450);
    await env.controlPlane.apiserver.stop();

    const webhook = env.webhook!;
    const metric = async (): Promise<string> =>
      new Promise((resolve, reject) =>
        httpGet({ host: '127.0.0.1', port: webhook.metricsPort, path: '/metrics' }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        }).on('error', reject),
      );
    const deadline = performance.now() + 15_000;
    while (!/^mcp_admission_policy_stale 1$/m.test(await metric())) {
      assert.ok(performance.now() < deadline, 'mcp_admission_policy_stale turns 1 within 15 s');
      await new Promise((r) => setTimeout(r, 100));
    }

    // The API server cannot call us now, so ask the webhook directly, as it would.
    const object = server('offline');
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'offline-1', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, namespace: NS, operation: 'CREATE', object },
    };
    const answer = await new Promise<any>((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port: webhook.port, path: '/mutate', method: 'POST', ca: readFileSync(webhook.certificates.caCert), headers: { 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(JSON.parse(text)));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(review));
    });
    const patch = JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8'));
    assert.ok(
      patch.some((op: any) => op.path === '/spec/template/spec/terminationGracePeriodSeconds' && op.value === 450),
      JSON.stringify(patch),
    );
  });
});

/**
 * Another mutator in the cluster sets `maxUnavailable: 1` on every
 * Deployment: a MutatingAdmissionPolicy (runs before webhooks) and a plain
 * mutating webhook registered after ours (runs after us, never reinvoked).
 * Whatever the order, an SSE Deployment ends stored safe or refused with a
 * message naming the field, never stored unsafe. This is what
 * reinvocationPolicy: IfNeeded on our mutating webhook and the validating
 * webhook after all mutation are for.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureNamespace, getJson, mustSucceed, manifest, startE2E, type E2E, type KubectlResult } from '../support/harness.ts';
import { generateWebhookCertificates } from '../support/harness/webhook.ts';
import { mcpDeployment, type Manifest } from '../support/objects.ts';

const DENIED_BY = 'admission webhook "validate.mcp-admission.dev" denied the request';

/** Either stored with maxUnavailable 0, or refused by our validation for that field. */
async function assertSafeOrRefused(env: E2E, result: KubectlResult, name: string, namespace: string): Promise<string> {
  if (result.code !== 0) {
    assert.ok(result.stderr.includes(DENIED_BY), result.stderr);
    assert.match(result.stderr, /spec\.strategy\.rollingUpdate\.maxUnavailable/);
    return 'refused';
  }
  const stored = await getJson<Manifest>(env.kubectl, ['deployment', name, '-n', namespace]);
  assert.equal(stored.spec.strategy.rollingUpdate.maxUnavailable, 0, JSON.stringify(stored.spec.strategy));
  return 'stored safe';
}

/** A MutatingAdmissionPolicy (admissionregistration.k8s.io/v1) loosening rollouts in `namespace`. */
function looseningPolicy(namespace: string): Manifest[] {
  const name = 'e2e-loosen-rollouts';
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingAdmissionPolicy',
      metadata: { name },
      spec: {
        matchConstraints: {
          resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'], operations: ['CREATE', 'UPDATE'] }],
        },
        matchConditions: [{ name: 'rolling', expression: 'has(object.spec.strategy) && has(object.spec.strategy.rollingUpdate)' }],
        failurePolicy: 'Fail',
        reinvocationPolicy: 'IfNeeded',
        mutations: [
          {
            patchType: 'JSONPatch',
            jsonPatch: {
              expression: '[JSONPatch{op: "replace", path: "/spec/strategy/rollingUpdate/maxUnavailable", value: 1}]',
            },
          },
        ],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingAdmissionPolicyBinding',
      metadata: { name },
      spec: {
        policyName: name,
        matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } },
      },
    },
  ];
}

/** A minimal mutating webhook that sets maxUnavailable: 1 on every Deployment it sees. */
function looseningWebhook(key: Buffer, cert: Buffer): Server {
  return createServer({ key, cert }, (req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const review = JSON.parse(body) as { apiVersion: string; request: { uid: string; object: Manifest } };
      const patch = review.request.object.spec?.strategy?.rollingUpdate
        ? [{ op: 'replace', path: '/spec/strategy/rollingUpdate/maxUnavailable', value: 1 }]
        : [];
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          apiVersion: review.apiVersion,
          kind: 'AdmissionReview',
          response: {
            uid: review.request.uid,
            allowed: true,
            ...(patch.length > 0 && { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }),
          },
        }),
      );
    });
  });
}

describe('a second mutator that sets maxUnavailable: 1', () => {
  let env: E2E;
  let server: Server | undefined;
  const outcomes: string[] = [];

  before(async () => {
    env = await startE2E();
  });
  after(async () => {
    process.stderr.write(`e2e: second mutator outcomes: ${outcomes.join(', ')}\n`);
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await env?.stop();
  });

  it('a MutatingAdmissionPolicy (runs before our webhook)', async () => {
    const ns = 'policy-mutator';
    await ensureNamespace(env.kubectl, ns);
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: manifest(looseningPolicy(ns)) });
    // The policy takes effect once the API server's informer has it: wait
    // until an unlabelled Deployment (which we leave alone) comes back loosened.
    const probe = mcpDeployment('probe', { namespace: ns, unlabelled: true });
    for (let i = 0; ; i++) {
      const dry = await env.apply(probe, ['--dry-run=server', '-o', 'json']);
      if (dry.code === 0 && (JSON.parse(dry.stdout) as Manifest).spec.strategy.rollingUpdate.maxUnavailable === 1) break;
      assert.ok(i < 100, `the MutatingAdmissionPolicy never took effect: ${dry.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const create = await env.apply(mcpDeployment('sse', { namespace: ns, annotations: { protocol: 'sse' } }));
    outcomes.push(`policy CREATE ${await assertSafeOrRefused(env, create, 'sse', ns)}`);
    if (create.code === 0) {
      const update = await env.kubectl(['label', 'deployment', 'sse', '-n', ns, 'touched=yes']);
      outcomes.push(`policy UPDATE ${await assertSafeOrRefused(env, update, 'sse', ns)}`);
    }
  });

  it('a mutating webhook that runs after ours and is never reinvoked', async () => {
    const ns = 'webhook-mutator';
    await ensureNamespace(env.kubectl, ns);
    const certs = await generateWebhookCertificates(join(env.dir, 'second-webhook-certs'));
    const [key, cert] = await Promise.all([readFile(certs.key), readFile(certs.cert)]);
    server = looseningWebhook(key, cert);
    const port = await new Promise<number>((resolve) => {
      server!.listen(0, '127.0.0.1', () => resolve((server!.address() as { port: number }).port));
    });
    // Webhook configurations run in name order: "zz-..." comes after "mcp-admission".
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], {
      input: manifest({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: 'zz-e2e-loosen-rollouts' },
        webhooks: [
          {
            name: 'loosen.e2e.mcp-admission.dev',
            clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle: certs.caBundle },
            rules: [{ apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'], operations: ['CREATE', 'UPDATE'] }],
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
            reinvocationPolicy: 'Never',
            failurePolicy: 'Fail',
            timeoutSeconds: 5,
          },
        ],
      }),
    });
    const probe = mcpDeployment('probe', { namespace: ns, unlabelled: true });
    for (let i = 0; ; i++) {
      const dry = await env.apply(probe, ['--dry-run=server', '-o', 'json']);
      if (dry.code === 0 && (JSON.parse(dry.stdout) as Manifest).spec.strategy.rollingUpdate.maxUnavailable === 1) break;
      assert.ok(i < 100, `the second webhook never took effect: ${dry.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const create = await env.apply(mcpDeployment('sse', { namespace: ns, annotations: { protocol: 'sse' } }));
    outcomes.push(`webhook CREATE ${await assertSafeOrRefused(env, create, 'sse', ns)}`);
    if (create.code === 0) {
      const update = await env.kubectl(['label', 'deployment', 'sse', '-n', ns, 'touched=yes']);
      outcomes.push(`webhook UPDATE ${await assertSafeOrRefused(env, update, 'sse', ns)}`);
    }
  });
});

/**
 * No manifest can rot (issue 6): what users install is rendered by kubectl's
 * own kustomize and accepted by a real API server (server-side dry-run, the
 * CRD applied first for real so the policy kind resolves), and the webhook
 * configurations agree with the product contract.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE, SYSTEM_NAMESPACES } from '../../src/contract.ts';
import { REPO_ROOT, mustSucceed, startE2E, type E2E } from '../support/harness.ts';
import { renderKustomization } from '../support/harness/manifests.ts';
import { generateWebhookCertificates } from '../support/harness/webhook.ts';

type Json = Record<string, any>;

describe('deploy/', () => {
  let env: E2E;
  const render = (path: string): Promise<Json[]> => renderKustomization(env.kubectl, path);
  const key = (o: Json): string => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

  before(async () => {
    // startE2E installs deploy/crd for real (custom resources resolve only
    // once their CRD is served). The namespace is created for real too: a
    // server-side dry run stores nothing, and namespaced objects are refused
    // in a namespace that does not exist.
    env = await startE2E({ webhook: false });
    await mustSucceed(env.kubectl, ['apply', '-f', join(REPO_ROOT, 'deploy/webhook/namespace.yaml')]);
  });
  after(() => env?.stop());

  it('installs with kubectl apply -k deploy/ --dry-run=server', async () => {
    const result = await env.kubectl(['apply', '-k', join(REPO_ROOT, 'deploy'), '--dry-run=server']);
    assert.equal(result.code, 0, result.stderr);
    for (const kind of ['namespace', 'deployment.apps', 'service', 'poddisruptionbudget.policy',
      'mutatingwebhookconfiguration.admissionregistration.k8s.io',
      'validatingwebhookconfiguration.admissionregistration.k8s.io']) {
      assert.match(result.stdout, new RegExp(`^${kind.replaceAll('.', '\\.')}/\\S+ (created|configured|unchanged) \\(server dry run\\)$`, 'm'));
    }
    // Pod Security "restricted" is enforced in our namespace: a warning here
    // means the webhook's pod template would not be admitted.
    assert.doesNotMatch(result.stderr, /violate PodSecurity/);
  });

  it('the prober: a `probe --watch` Deployment by default, the CronJob as a component', async () => {
    const base = await render(join(REPO_ROOT, 'deploy'));
    const deployment = base.find((o) => key(o) === 'Deployment/mcp-admission/mcp-admission-prober') as Json;
    assert.ok(deployment, 'deploy/ runs the prober as a Deployment');
    assert.equal(deployment.spec.replicas, 1);
    assert.deepEqual(deployment.spec.strategy, { type: 'Recreate' });
    const container = deployment.spec.template.spec.containers[0] as Json;
    assert.deepEqual(container.command, ['node', 'dist/cli/main.js', 'probe', '--watch', '--metrics-port', '9090']);
    assert.deepEqual(container.ports, [{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }]);
    for (const probe of [container.readinessProbe, container.livenessProbe]) assert.deepEqual(probe.httpGet, { path: '/healthz', port: 'metrics' });
    assert.ok(!base.some((o) => o.kind === 'CronJob'));
    // The prober's NetworkPolicy lets Prometheus in on that port, and nothing else.
    const policy = base.find((o) => key(o) === 'NetworkPolicy/mcp-admission/mcp-admission-prober') as Json;
    assert.deepEqual(policy.spec.podSelector.matchLabels, deployment.spec.template.metadata.labels);
    assert.deepEqual(policy.spec.ingress.map((r: Json) => r.ports), [[{ port: 'metrics', protocol: 'TCP' }]]);

    // components/prober-cronjob, as the README has it (a kustomization next
    // to deploy/): the CronJob instead, accepted by the API server.
    const copy = join(env.dir, 'prober-cronjob');
    await cp(join(REPO_ROOT, 'deploy'), join(copy, 'deploy'), { recursive: true });
    const overlay = join(copy, 'my-install');
    await mkdir(overlay, { recursive: true });
    await writeFile(join(overlay, 'kustomization.yaml'), JSON.stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization',
      resources: ['../deploy'],
      components: ['../deploy/components/prober-cronjob'],
    }));
    const swapped = await render(overlay);
    assert.deepEqual(swapped.filter((o) => o.metadata.name === 'mcp-admission-prober' && /^(Deployment|CronJob)$/.test(o.kind)).map(key), ['CronJob/mcp-admission/mcp-admission-prober']);
    assert.deepEqual(swapped.filter((o) => o.kind !== 'CronJob').map(key).sort(), base.filter((o) => o !== deployment).map(key).sort());
    const result = await env.kubectl(['apply', '-k', overlay, '--dry-run=server']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^cronjob\.batch\/mcp-admission-prober (created|configured|unchanged) \(server dry run\)$/m);
    assert.doesNotMatch(result.stderr, /violate PodSecurity/);
  });

  it('installs with the generated certificate: kubectl apply -k certs/out/', async () => {
    const certs = await generateWebhookCertificates(join(env.dir, 'certs-out'));
    const objects = await render(certs.dir);
    const secret = objects.find((o) => o.kind === 'Secret');
    assert.equal(secret?.type, 'kubernetes.io/tls');
    assert.equal(secret?.metadata.name, 'mcp-admission-webhook-tls');
    assert.equal(secret?.metadata.namespace, 'mcp-admission');
    const webhooks = objects.flatMap((o) => (o.webhooks ?? []) as Json[]);
    assert.equal(webhooks.length, 3);
    for (const webhook of webhooks) assert.equal(webhook.clientConfig.caBundle, certs.caBundle);
    const result = await env.kubectl(['apply', '-k', certs.dir, '--dry-run=server']);
    assert.equal(result.code, 0, result.stderr);
  });

  it('the cert-manager overlay is deploy/ plus certificates and cainjector annotations', async () => {
    const base = await render(join(REPO_ROOT, 'deploy'));
    const overlay = await render(join(REPO_ROOT, 'deploy/overlays/cert-manager'));
    const added = overlay.filter((o) => o.apiVersion === 'cert-manager.io/v1');
    assert.deepEqual(added.map(key).sort(), [
      'Certificate/mcp-admission/mcp-admission-ca',
      'Certificate/mcp-admission/mcp-admission-webhook',
      'Issuer/mcp-admission/mcp-admission-ca',
      'Issuer/mcp-admission/mcp-admission-selfsigned',
    ]);
    const serving = added.find((o) => key(o) === 'Certificate/mcp-admission/mcp-admission-webhook');
    assert.equal(serving?.spec.secretName, 'mcp-admission-webhook-tls');
    // The overlay lists deploy/'s parts by hand; this catches one left out.
    // It serves the Secret cert-manager writes, so it drops what self-managed
    // certificates need (components/certificate-files).
    const selfManaged = (o: Json): boolean => o.metadata.name === 'mcp-admission-webhook-certificates';
    assert.deepEqual(overlay.filter((o) => !added.includes(o)).map(key).sort(), base.filter((o) => !selfManaged(o)).map(key).sort());
    for (const config of overlay.filter((o) => /WebhookConfiguration$/.test(o.kind))) {
      assert.equal(
        config.metadata.annotations?.['cert-manager.io/inject-ca-from'],
        'mcp-admission/mcp-admission-webhook',
      );
    }
  });

  it('another namespace: one line in the kustomization moves every namespace-derived string', async () => {
    const copy = join(env.dir, 'renamed');
    await cp(join(REPO_ROOT, 'deploy'), join(copy, 'deploy'), { recursive: true });
    for (const file of ['deploy/kustomization.yaml', 'deploy/overlays/cert-manager/kustomization.yaml']) {
      const path = join(copy, file);
      const text = await readFile(path, 'utf8');
      assert.match(text, /^namespace: mcp-admission$/m, file);
      await writeFile(path, text.replace(/^namespace: mcp-admission$/m, 'namespace: platform-mcp'));
    }
    for (const dir of ['deploy', 'deploy/overlays/cert-manager']) {
      const objects = await render(join(copy, dir));
      // Strings that name the namespace inside a value: DNS names,
      // <namespace>/<name> references, selector values.
      const strings = JSON.stringify(objects);
      assert.doesNotMatch(strings, /mcp-admission-webhook\.mcp-admission\b|"mcp-admission\/|"values":\[[^\]]*"mcp-admission"/, dir);
      assert.ok(objects.find((o) => o.kind === 'Namespace')?.metadata.name === 'platform-mcp');
      for (const o of objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace)) assert.equal(o.metadata.namespace, 'platform-mcp', key(o));
      for (const webhook of objects.flatMap((o) => (o.webhooks ?? []) as Json[])) {
        assert.equal(webhook.clientConfig.service.namespace, 'platform-mcp');
        if (webhook.namespaceSelector) assert.ok(webhook.namespaceSelector.matchExpressions[0].values.includes('platform-mcp'));
      }
      if (dir.endsWith('cert-manager')) {
        const serving = objects.find((o) => key(o) === 'Certificate/platform-mcp/mcp-admission-webhook');
        assert.deepEqual(serving?.spec.dnsNames, [
          'mcp-admission-webhook', 'mcp-admission-webhook.platform-mcp',
          'mcp-admission-webhook.platform-mcp.svc', 'mcp-admission-webhook.platform-mcp.svc.cluster.local',
        ]);
        for (const config of objects.filter((o) => /WebhookConfiguration$/.test(o.kind))) {
          assert.equal(config.metadata.annotations['cert-manager.io/inject-ca-from'], 'platform-mcp/mcp-admission-webhook');
        }
      }
    }
  });

  it('the webhook configurations follow the contract', async () => {
    const objects = await render(join(REPO_ROOT, 'deploy/admission'));
    const byName = new Map<string, Json>(
      objects.flatMap((o) => ((o.webhooks ?? []) as Json[]).map((w): [string, Json] => [w.name, w])),
    );
    assert.deepEqual([...byName.keys()].sort(), [
      'mutate.mcp-admission.dev',
      'policy.validate.mcp-admission.dev',
      'validate.mcp-admission.dev',
    ]);
    for (const name of ['mutate.mcp-admission.dev', 'validate.mcp-admission.dev']) {
      const webhook = byName.get(name) as Json;
      assert.deepEqual(webhook.objectSelector, { matchLabels: { [MCP_COMPONENT_LABEL]: MCP_COMPONENT_VALUE } });
      assert.deepEqual(webhook.namespaceSelector.matchExpressions, [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...SYSTEM_NAMESPACES, 'mcp-admission'] },
      ]);
      assert.deepEqual(
        (webhook.rules as Json[]).map((r) => `${r.apiGroups}/${r.apiVersions}/${r.resources}:${r.operations}`),
        [
          'apps/v1/deployments:CREATE,UPDATE',
          '/v1/services:CREATE,UPDATE',
          // The front door (DESIGN.md): labelled routes, under the same objectSelector.
          'networking.k8s.io/v1/ingresses:CREATE,UPDATE',
          'gateway.networking.k8s.io/v1/httproutes:CREATE,UPDATE',
        ],
      );
      assert.equal(webhook.clientConfig.service.path, name.startsWith('mutate') ? '/mutate' : '/validate');
    }
    const policy = byName.get('policy.validate.mcp-admission.dev') as Json;
    assert.equal(policy.objectSelector, undefined);
    assert.deepEqual(policy.rules, [{
      apiGroups: ['mcp-admission.dev'], apiVersions: ['v1alpha1'], resources: ['mcptransportpolicies'],
      operations: ['CREATE', 'UPDATE'], scope: 'Cluster',
    }]);
    assert.equal(byName.get('mutate.mcp-admission.dev')?.reinvocationPolicy, 'IfNeeded');
    for (const webhook of byName.values()) {
      assert.equal(webhook.sideEffects, 'None');
      // Policies are checked by the CRD's CEL rules; the webhook is a second
      // opinion that must not block a policy while no pod answers.
      assert.equal(webhook.failurePolicy, webhook === policy ? 'Ignore' : 'Fail');
      assert.deepEqual(webhook.admissionReviewVersions, ['v1', 'v1beta1']);
    }
  });
});

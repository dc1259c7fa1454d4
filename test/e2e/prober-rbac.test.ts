/**
 * What the prober's ServiceAccount may do (issue 11, row 5), on a real API
 * server: deploy/prober installed into a namespace of its own choosing
 * through kustomize's `namespace:`, as a platform team would, then the
 * ServiceAccount impersonated with kubectl `--as`. RBAC is trimmed to what
 * `probe --once|--watch` needs; the ValidatingAdmissionPolicies shipped with
 * it let it change nothing but its two annotations on MCP servers, while
 * the webhook's SSE settings still land in the same UPDATE.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Annotations } from '../../src/contract.ts';
import { configMapPassState } from '../../src/prober/pass-state.ts';
import { applyObjects, renderKustomization, waitForEstablished } from '../support/harness/manifests.ts';
import { ensureNamespace, getJson, REPO_ROOT, startE2E, type E2E, type KubectlResult } from '../support/harness.ts';
import { mcpDeployment, mcpService, TRUST_THE_PROBER_POLICY, type Manifest } from '../support/objects.ts';
import { toolPath } from '../support/tools.ts';

const INSTALL_NS = 'platform-probes';
const PROBER = `system:serviceaccount:${INSTALL_NS}:mcp-admission-prober`;
/** A tenant's own ServiceAccount that happens to have the same name. */
const NAMESAKE = 'system:serviceaccount:team:mcp-admission-prober';
const POLICY_FILE = join(REPO_ROOT, 'deploy/prober/admission-policy.yaml');

// Undetected servers count as streamable-http, so SSE settings come only
// from a `detected-protocol: sse` written as the prober writes it.
const policyDir = mkdtempSync(join(tmpdir(), 'mcp-admission-prober-rbac-'));
const policyFile = join(policyDir, 'policy.json');
writeFileSync(policyFile, JSON.stringify(TRUST_THE_PROBER_POLICY));

const merge = (patch: object) => ['--type=merge', '-p', JSON.stringify(patch)];
const annotate = (annotations: Record<string, string>) => merge({ metadata: { annotations } });
const STATUS = JSON.stringify({ protocol: 'sse', detectedAt: '2026-01-01T00:00:00Z', reason: 'test' });

describe('the prober ServiceAccount (real API server, installed in another namespace)', () => {
  let env: E2E;
  const as = (user: string, args: string[]): Promise<KubectlResult> => env.kubectl([...args, `--as=${user}`]);

  before(async () => {
    env = await startE2E({ webhookArgs: ['--policy', policyFile] });
    const { kubectl } = env;
    for (const ns of [INSTALL_NS, 'team']) await ensureNamespace(kubectl, ns);
    // A platform team's overlay: deploy/prober in the namespace it chose.
    const overlay = mkdtempSync(join(policyDir, 'overlay-'));
    writeFileSync(join(overlay, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `namespace: ${INSTALL_NS}`,
      'resources:',
      `  - ${relative(overlay, join(REPO_ROOT, 'deploy/prober'))}`,
      '',
    ].join('\n'));
    await applyObjects(kubectl, await renderKustomization(kubectl, overlay));
    // The Gateway API CRDs, so `kubectl auth can-i` knows httproutes (it answers no for a resource the server does not serve).
    const crds = await kubectl(['apply', '--server-side', '-f', toolPath('gateway-api')]);
    assert.equal(crds.code, 0, crds.stderr);
    await waitForEstablished(kubectl, ['httproutes.gateway.networking.k8s.io']);
    // The namesake gets its own rights in its own namespace (a Role of its
    // own: the aggregated `edit` role stays empty with no controller manager).
    for (const args of [
      ['create', 'role', 'namesake', '-n', 'team', '--verb=get,patch', '--resource=deployments.apps'],
      ['create', 'rolebinding', 'namesake', '-n', 'team', '--role=namesake', '--serviceaccount=team:mcp-admission-prober'],
    ]) {
      const grant = await kubectl(args);
      assert.equal(grant.code, 0, grant.stderr);
    }
    for (const ns of ['team', 'kube-system']) {
      const apply = await env.apply([mcpDeployment('weather', { namespace: ns }), mcpService('weather', { namespace: ns })]);
      assert.equal(apply.code, 0, apply.stderr);
    }
    const plain = await env.apply({ ...mcpDeployment('plain', { namespace: 'team', unlabelled: true }) });
    assert.equal(plain.code, 0, plain.stderr);
    // Policies take effect once the API server's admission informers have them.
    const until = Date.now() + 20_000;
    for (;;) {
      const probe = await as(PROBER, ['patch', 'deployment', 'weather', '-n', 'team', ...merge({ metadata: { labels: { probe: 'x' } } }), '--dry-run=server']);
      if (probe.code !== 0 && /ValidatingAdmissionPolicy/.test(probe.stderr)) break;
      if (Date.now() > until) assert.fail(`the policies never took effect: ${probe.code} ${probe.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });
  after(async () => {
    await env?.stop();
    rmSync(policyDir, { recursive: true, force: true });
  });

  for (const ns of ['team', 'kube-system']) {
    it(`cannot change a labelled Deployment's image in ${ns}`, async () => {
      const patch = { spec: { template: { spec: { containers: [{ name: 'server', image: 'attacker.example/miner:1' }] } } } };
      const result = await as(PROBER, ['patch', 'deployment', 'weather', '-n', ns, '--type=strategic', '-p', JSON.stringify(patch)]);
      assert.notEqual(result.code, 0, 'the image patch was accepted');
      assert.match(result.stderr, /may not change a Deployment's containers/);
      const deployment = await getJson<Manifest>(env.kubectl, ['deployment', 'weather', '-n', ns]);
      assert.equal(deployment.spec.template.spec.containers[0].image, 'ghcr.io/example/mcp-server:1.0.0');
    });

    it(`can write its two annotations on a labelled Deployment and Service in ${ns}`, async () => {
      for (const kind of ['deployment', 'service']) {
        const result = await as(PROBER, ['patch', kind, 'weather', '-n', ns, ...annotate({ [Annotations.detectedProtocol]: 'streamable-http', [Annotations.transportStatus]: STATUS })]);
        assert.equal(result.code, 0, `${kind}: ${result.stderr}`);
      }
    });
  }

  const refused: Array<[string, string[], RegExp]> = [
    ['another annotation', ['deployment', 'weather', '-n', 'team', ...annotate({ 'example.com/owner': 'me' })], /may change only the mcp-admission.dev\/detected-protocol/],
    ['a label', ['deployment', 'weather', '-n', 'team', ...merge({ metadata: { labels: { tier: 'x' } } })], /may change only the mcp-admission.dev\/detected-protocol/],
    ['replicas', ['deployment', 'weather', '-n', 'team', ...merge({ spec: { replicas: 9 } })], /replicas, selector or pod labels/],
    ['the ServiceAccount of the pods', ['deployment', 'weather', '-n', 'team', ...merge({ spec: { template: { spec: { serviceAccountName: 'default', hostNetwork: true } } } })], /pod spec/],
    ['a Traefik annotation to a value the webhook never writes', ['service', 'weather', '-n', 'team', ...annotate({ 'traefik.io/service.nativelb': 'false' })], /may change only the mcp-admission.dev\/detected-protocol/],
    ['a Service selector', ['service', 'weather', '-n', 'team', ...merge({ spec: { selector: { app: 'other' } } })], /may not change a Service's spec/],
    ['an unlabelled Deployment, even its annotations', ['deployment', 'plain', '-n', 'team', ...annotate({ [Annotations.detectedProtocol]: 'sse' })], /may change only MCP servers/],
  ];
  for (const [what, args, message] of refused) {
    it(`cannot change ${what}`, async () => {
      const result = await as(PROBER, ['patch', ...args]);
      assert.notEqual(result.code, 0, `accepted: ${result.stdout}`);
      assert.match(result.stderr, message);
    });
  }

  it('cannot create, delete, or touch Secrets and ConfigMaps (RBAC)', async () => {
    for (const args of [
      ['delete', 'deployment', 'weather', '-n', 'team', '--dry-run=server'],
      ['create', 'configmap', 'x', '-n', 'team', '--dry-run=server'],
      ['get', 'secrets', '-n', 'kube-system'],
      ['get', 'pod', 'any', '-n', 'team'],
    ]) {
      const result = await as(PROBER, args);
      assert.notEqual(result.code, 0, args.join(' '));
      assert.match(result.stderr, /forbidden/i, args.join(' '));
    }
  });

  it('has exactly the reads and writes `probe --once|--watch` use', async () => {
    const can = async (verb: string, resource: string, subresource?: string) =>
      (await as(PROBER, ['auth', 'can-i', verb, resource, '--all-namespaces', ...(subresource ? [`--subresource=${subresource}`] : [])])).stdout.trim() === 'yes';
    const granted: string[] = [];
    for (const resource of [
      'services', 'deployments.apps', 'endpointslices.discovery.k8s.io', 'pods', 'events', 'secrets', 'configmaps', 'namespaces',
      'mcptransportpolicies.mcp-admission.dev', 'ingresses.networking.k8s.io', 'httproutes.gateway.networking.k8s.io',
    ]) {
      for (const verb of ['get', 'list', 'watch', 'patch', 'update', 'create', 'delete']) if (await can(verb, resource)) granted.push(`${verb} ${resource}`);
    }
    for (const [resource, subresource] of [['deployments.apps', 'scale'], ['deployments.apps', 'status'], ['services', 'status'], ['pods', 'status']] as const) {
      for (const verb of ['get', 'patch', 'update']) if (await can(verb, resource, subresource)) granted.push(`${verb} ${resource}/${subresource}`);
    }
    assert.deepEqual(granted.sort(), [
      // Events: recorded, and a repeat counted on the Event it repeats.
      'create events', 'patch events',
      // Routes, for the unlabelled ones to SSE servers.
      'list ingresses.networking.k8s.io', 'list httproutes.gateway.networking.k8s.io',
      'get deployments.apps', 'get services',
      'list deployments.apps', 'list endpointslices.discovery.k8s.io', 'list pods', 'list services',
      // The policies and namespace labels the webhook's verdict reads (audit).
      'list mcptransportpolicies.mcp-admission.dev', 'list namespaces',
      'patch deployments.apps', 'patch services',
      'watch deployments.apps', 'watch services',
    ].sort());
  });

  it('keeps its pass state in one ConfigMap of its own namespace, and nowhere else', async () => {
    const can = async (args: string[]) => (await as(PROBER, ['auth', 'can-i', ...args])).stdout.trim() === 'yes';
    assert.equal(await can(['get', 'configmap/mcp-admission-prober-pass', '-n', INSTALL_NS]), true);
    assert.equal(await can(['update', 'configmap/mcp-admission-prober-pass', '-n', INSTALL_NS]), true);
    assert.equal(await can(['get', 'configmap/other', '-n', INSTALL_NS]), false);
    assert.equal(await can(['create', 'configmaps', '-n', 'team']), false);
    // And the store itself, on the real API: created on the first save, replaced after.
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(env.controlPlane.kubeconfig);
    const state = configMapPassState(kubeConfig, INSTALL_NS);
    assert.deepEqual(await state.load(), []);
    await state.save(['team/a', 'team/b']);
    await state.save(['team/b']);
    assert.deepEqual(await state.load(), ['team/b']);
  });

  it('lets the webhook apply the SSE settings in the UPDATE that records sse', async () => {
    const result = await as(PROBER, ['patch', 'deployment', 'weather', '-n', 'team', ...annotate({ [Annotations.detectedProtocol]: 'sse', [Annotations.transportStatus]: STATUS })]);
    assert.equal(result.code, 0, result.stderr);
    const deployment = await getJson<Manifest>(env.kubectl, ['deployment', 'weather', '-n', 'team']);
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
    assert.equal(deployment.spec.template.spec.terminationGracePeriodSeconds, 120);
    const service = await as(PROBER, ['patch', 'service', 'weather', '-n', 'team', ...annotate({ [Annotations.detectedProtocol]: 'sse', [Annotations.transportStatus]: STATUS })]);
    assert.equal(service.code, 0, service.stderr);
    assert.equal((await getJson<Manifest>(env.kubectl, ['service', 'weather', '-n', 'team'])).spec.sessionAffinity, 'ClientIP');
  });

  it('holds only the ServiceAccount the binding names: a namesake in another namespace keeps its own rights', async () => {
    const patch = { spec: { template: { spec: { containers: [{ name: 'server', image: 'ghcr.io/example/mcp-server:1.0.1' }] } } } };
    const result = await as(NAMESAKE, ['patch', 'deployment', 'weather', '-n', 'team', '--type=strategic', '-p', JSON.stringify(patch), '--dry-run=server']);
    assert.equal(result.code, 0, result.stderr);
  });

  it('compares every field the API server knows, so none is left for the prober to change', async () => {
    const policy = readFileSync(POLICY_FILE, 'utf8');
    const schemas = {
      ...JSON.parse((await env.kubectl(['get', '--raw', '/openapi/v3/api/v1'])).stdout).components.schemas,
      ...JSON.parse((await env.kubectl(['get', '--raw', '/openapi/v3/apis/apps/v1'])).stdout).components.schemas,
    };
    const fields = (name: string): string[] => Object.keys(schemas[name]?.properties ?? {});
    // Each field is compared old against new in the policy, or is one of the webhook's SSE settings with a rule of its own.
    const checks: Array<[string, (f: string) => string, string[]]> = [
      ['io.k8s.api.core.v1.ServiceSpec', (f) => `object.spec.?${f} == oldObject.spec.?${f}`, ['sessionAffinity', 'sessionAffinityConfig']],
      ['io.k8s.api.apps.v1.DeploymentSpec', (f) => `object.spec.?${f} == oldObject.spec.?${f}`, ['strategy', 'template']],
      ['io.k8s.api.core.v1.PodSpec', (f) => `variables.newPod.?${f} == variables.oldPod.?${f}`, ['containers', 'terminationGracePeriodSeconds']],
      ['io.k8s.api.core.v1.Container', (f) => `c.?${f} == o.?${f}`, ['lifecycle']],
      ['io.k8s.api.core.v1.Lifecycle', (f) => `c.?lifecycle.?${f} == o.?lifecycle.?${f}`, ['preStop']],
    ];
    const missing: string[] = [];
    for (const [schema, compared, ruled] of checks) {
      const known = fields(schema);
      assert.ok(known.length > 0, `no schema ${schema}`);
      for (const field of known) if (!ruled.includes(field) && !policy.includes(compared(field))) missing.push(`${schema}.${field}`);
    }
    assert.deepEqual(missing, []);
  });
});

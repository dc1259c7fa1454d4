/**
 * The Helm chart at deploy/helm/mcp-admission: `helm lint` clean with the
 * defaults and with every toggle on; every namespace-derived string from
 * the release namespace; the same webhook, RBAC, pods and policies as
 * deploy/ (so the two installs never drift apart); accepted by a real API
 * server (server-side dry run).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT, startE2E, waitForEstablished, type E2E } from '../support/harness.ts';
import { renderKustomization } from '../support/harness/manifests.ts';
import { CHART, helm, renderChart } from '../support/helm.ts';

type Json = Record<string, any>;

/** existingSecret values, as the README's certs/generate.sh path sets them. */
const EXISTING = ['certificates.mode=existingSecret', 'certificates.existingSecret.name=mcp-admission-webhook-tls', 'certificates.existingSecret.caBundle=Y2E='];
const EVERYTHING = [
  ...EXISTING, 'prober.mode=watch', 'defaultPolicy.enabled=true', 'metrics.serviceMonitor.enabled=true',
  'metrics.podMonitor.enabled=true', 'metrics.prometheusRule.enabled=true', 'priorityClassName=system-cluster-critical', 'image.digest=sha256:' + '0'.repeat(64),
];
const key = (o: Json): string => `${o.kind}/${o.metadata?.name}`;

describe('the Helm chart', () => {
  let env: E2E;
  let home: string;
  before(async () => {
    env = await startE2E({ webhook: false, clusterPolicies: false });
    home = join(env.dir, 'helm-home');
  });
  after(() => env?.stop());

  /** deploy/'s parts plus `components`, as an overlay in a copy of deploy/ (kustomize will not include ../.. from inside it). */
  const overlay = async (components: string[]): Promise<string> => {
    const copy = join(env.dir, `overlay-${components.join('-').replaceAll('/', '-')}`);
    await cp(join(REPO_ROOT, 'deploy'), join(copy, 'deploy'), { recursive: true });
    const dir = join(copy, 'deploy/overlays/test');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'kustomization.yaml'), JSON.stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace: 'mcp-admission',
      resources: ['../../crd', '../../webhook', '../../admission', '../../prober'],
      components: components.map((c) => `../../${c}`),
    }));
    return dir;
  };

  /** Every object of `kustomized` (but the Namespace and CRD) is in `charted`, alike where it matters. */
  const assertSameAs = (kustomized: Json[], charted: Json[]): void => {
    const find = (list: Json[], k: string): Json => {
      const found = list.find((o) => key(o) === k);
      assert.ok(found, `${k} missing`);
      return found;
    };
    for (const o of kustomized.filter((o) => !['Namespace', 'CustomResourceDefinition'].includes(o.kind))) {
      const h = find(charted, key(o));
      switch (o.kind) {
        case 'ClusterRole':
        case 'Role':
          assert.deepEqual(h.rules, o.rules, key(o));
          break;
        case 'MutatingWebhookConfiguration':
        case 'ValidatingWebhookConfiguration':
          assert.deepEqual(
            h.webhooks.map(({ clientConfig: { caBundle: _, ...clientConfig }, ...w }: Json) => ({ ...w, clientConfig })),
            o.webhooks,
            key(o),
          );
          break;
        case 'ClusterRoleBinding':
        case 'RoleBinding':
          assert.deepEqual({ roleRef: h.roleRef, subjects: h.subjects }, { roleRef: o.roleRef, subjects: o.subjects }, key(o));
          break;
        case 'ValidatingAdmissionPolicy':
        case 'ValidatingAdmissionPolicyBinding': {
          // kustomize re-folds multi-line CEL with blank lines; whitespace
          // means nothing to CEL.
          const squash = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, v: unknown) => (typeof v === 'string' ? v.replace(/\s+/g, ' ') : v)));
          assert.deepEqual(squash(h.spec), squash(o.spec), key(o));
          break;
        }
        case 'Service':
          assert.deepEqual(h.spec.ports, o.spec.ports, key(o));
          break;
        case 'NetworkPolicy':
          assert.deepEqual(h.spec.ingress, o.spec.ingress, key(o));
          break;
        case 'PodDisruptionBudget':
          assert.equal(h.spec.minAvailable, o.spec.minAvailable);
          break;
        case 'Deployment':
        case 'CronJob': {
          const pod = (x: Json): Json => (x.kind === 'CronJob' ? x.spec.jobTemplate.spec.template.spec : x.spec.template.spec);
          const strip = ({ affinity: _a, topologySpreadConstraints: _t, ...rest }: Json): Json => ({
            ...rest,
            containers: rest.containers.map((c: Json) => ({ ...c, env: c.env?.filter((e: Json) => !e.name.startsWith('MCP_ADMISSION_')) })),
          });
          assert.deepEqual(strip(pod(h)), strip(pod(o)), key(o));
          if (o.kind === 'Deployment') assert.deepEqual({ ...h.spec, selector: 0, template: 0 }, { ...o.spec, selector: 0, template: 0 });
          else assert.deepEqual({ ...h.spec, jobTemplate: 0 }, { ...o.spec, jobTemplate: 0 });
          break;
        }
        default:
          // Every kind deploy/ has must be compared here.
          assert.ok(['ServiceAccount'].includes(o.kind), `${o.kind} is not compared`);
      }
    }
  };

  it('helm lint is clean with the defaults and with every toggle on', async () => {
    for (const values of [
      [], EVERYTHING, ['prober.mode=cronjob', 'metrics.prometheusRule.enabled=true'],
      ['certificates.mode=certManager', 'prober.enabled=false', 'networkPolicy.enabled=false', 'podDisruptionBudget.enabled=false'],
    ]) {
      const result = await helm(['lint', CHART, ...values.flatMap((v) => ['--set', v])], { home });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(result.stdout, /\[(WARNING|ERROR)\]/);
    }
  });

  it('refuses values it cannot honour, saying which', async () => {
    const missing = await helm(['template', 'x', CHART, '--set', 'certificates.mode=existingSecret'], { home });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /certificates\.existingSecret\.name is required/);
    const badMode = await helm(['template', 'x', CHART, '--set', 'prober.mode=sometimes'], { home });
    assert.notEqual(badMode.code, 0);
    assert.match(badMode.stderr, /prober\.mode must be watch or cronjob, not "sometimes"/);
    const unscrapable = await helm(['template', 'x', CHART, '--set', 'prober.mode=cronjob', '--set', 'metrics.podMonitor.enabled=true'], { home });
    assert.notEqual(unscrapable.code, 0);
    assert.match(unscrapable.stderr, /metrics\.podMonitor scrapes the prober's metrics port: it needs prober\.enabled and prober\.mode=watch/);
  });

  it('takes every namespace-derived string from the release namespace', async () => {
    for (const values of [EXISTING, ['certificates.mode=certManager']]) {
      const objects = await renderChart('mcp-admission', 'platform-mcp', values, home);
      const text = JSON.stringify(objects);
      assert.doesNotMatch(text, /mcp-admission-webhook\.mcp-admission\b|"mcp-admission\/|"values":\[[^\]]*"mcp-admission"/);
      for (const o of objects.filter((o) => o.metadata.namespace)) assert.equal(o.metadata.namespace, 'platform-mcp', key(o));
      for (const webhook of objects.flatMap((o) => (o.webhooks ?? []) as Json[])) {
        assert.equal(webhook.clientConfig.service.namespace, 'platform-mcp');
        if (webhook.namespaceSelector) {
          assert.deepEqual(webhook.namespaceSelector.matchExpressions[0].values, ['kube-system', 'kube-public', 'kube-node-lease', 'platform-mcp']);
        }
      }
      for (const binding of objects.filter((o) => o.kind === 'ClusterRoleBinding')) assert.equal(binding.subjects[0].namespace, 'platform-mcp');
      const pod = objects.find((o) => key(o) === 'Deployment/mcp-admission-webhook')?.spec.template.spec;
      assert.deepEqual(pod.containers[0].env.find((e: Json) => e.name === 'POD_NAMESPACE')?.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } });
      if (values[0] === 'certificates.mode=certManager') {
        const serving = objects.find((o) => key(o) === 'Certificate/mcp-admission-webhook');
        assert.deepEqual(serving?.spec.dnsNames.slice(1), ['mcp-admission-webhook.platform-mcp', 'mcp-admission-webhook.platform-mcp.svc', 'mcp-admission-webhook.platform-mcp.svc.cluster.local']);
        for (const config of objects.filter((o) => /WebhookConfiguration$/.test(o.kind))) {
          assert.equal(config.metadata.annotations['cert-manager.io/inject-ca-from'], 'platform-mcp/mcp-admission-webhook');
        }
      }
    }
  });

  it('image: tag defaults to the appVersion, a digest wins', async () => {
    const chart = await readFile(join(CHART, 'Chart.yaml'), 'utf8');
    const appVersion = /^appVersion: "?([^"\n]+)"?$/m.exec(chart)?.[1];
    const image = async (values: string[]) =>
      (await renderChart('r', 'ns', [...EXISTING, ...values], home)).find((o) => o.kind === 'Deployment')?.spec.template.spec.containers[0].image;
    assert.equal(await image([]), `ghcr.io/mcp-admission/mcp-admission:${appVersion}`);
    assert.equal(await image(['image.tag=9.9.9']), 'ghcr.io/mcp-admission/mcp-admission:9.9.9');
    assert.equal(await image([`image.digest=sha256:${'a'.repeat(64)}`]), `ghcr.io/mcp-admission/mcp-admission@sha256:${'a'.repeat(64)}`);
  });

  it('installs the same webhook, permissions, pods and CRD as deploy/', async () => {
    const kustomized = await renderKustomization(env.kubectl, 'deploy');
    // Both defaults: self-managed certificates, the prober watching.
    const charted = await renderChart('mcp-admission', 'mcp-admission', [], home);
    const crd = await readFile(join(REPO_ROOT, 'deploy/crd/mcptransportpolicies.yaml'), 'utf8');
    assert.equal(await readFile(join(CHART, 'crds/mcptransportpolicies.yaml'), 'utf8'), crd,
      'the chart\'s CRD differs from deploy/crd: cp deploy/crd/mcptransportpolicies.yaml deploy/helm/mcp-admission/crds/');
    assert.ok(kustomized.some((o) => key(o) === 'Deployment/mcp-admission-prober'), 'deploy/ runs the prober as a Deployment');
    assert.ok(!kustomized.some((o) => o.kind === 'CronJob'), 'and no CronJob');
    assertSameAs(kustomized, charted);
  });

  it('prober.mode=cronjob is deploy/ with components/prober-cronjob', async () => {
    const kustomized = await renderKustomization(env.kubectl, await overlay(['components/prober-cronjob']));
    const charted = await renderChart('mcp-admission', 'mcp-admission', ['prober.mode=cronjob'], home);
    assert.ok(kustomized.some((o) => key(o) === 'CronJob/mcp-admission-prober'));
    assert.ok(!kustomized.some((o) => key(o) === 'Deployment/mcp-admission-prober'), 'the component swaps the Deployment for the CronJob');
    assert.ok(!charted.some((o) => key(o) === 'Deployment/mcp-admission-prober'));
    assertSameAs(kustomized, charted);
  });

  it("the chart's monitoring values are deploy/monitoring, with the release's names", async () => {
    const kustomized = (await renderKustomization(env.kubectl, await overlay(['monitoring']))).filter((o) => o.apiVersion === 'monitoring.coreos.com/v1');
    const monitoring = ['metrics.serviceMonitor.enabled=true', 'metrics.podMonitor.enabled=true', 'metrics.prometheusRule.enabled=true'];
    const charted = (await renderChart('mcp-admission', 'mcp-admission', monitoring, home)).filter((o) => o.apiVersion === 'monitoring.coreos.com/v1');
    assert.deepEqual(charted.map(key).sort(), kustomized.map(key).sort());
    for (const o of kustomized) {
      const h = charted.find((c) => key(c) === key(o)) as Json;
      if (o.kind === 'PrometheusRule') assert.deepEqual(h.spec, o.spec, 'the same alerts, word for word');
      else if (o.kind === 'ServiceMonitor') assert.deepEqual(h.spec.endpoints, o.spec.endpoints);
      else assert.deepEqual(h.spec.podMetricsEndpoints, o.spec.podMetricsEndpoints);
    }
    // Each toggle alone.
    for (const [i, kind] of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'].entries()) {
      const only = await renderChart('mcp-admission', 'mcp-admission', [monitoring[i] as string], home);
      assert.deepEqual(only.filter((o) => o.apiVersion === 'monitoring.coreos.com/v1').map((o) => o.kind), [kind]);
    }
    assert.ok(!(await renderChart('mcp-admission', 'mcp-admission', [], home)).some((o) => o.apiVersion === 'monitoring.coreos.com/v1'), 'all off by default');
    // Another release, another namespace: the alerts select its names.
    const renamed = (await renderChart('edge', 'platform-mcp', monitoring, home)).find((o) => o.kind === 'PrometheusRule') as Json;
    const text = JSON.stringify(renamed.spec);
    assert.match(text, /job=\\"edge-mcp-admission-metrics\\"/);
    assert.match(text, /cronjob=\\"edge-mcp-admission-prober\\"/);
    assert.match(text, /kubectl -n platform-mcp logs deployment\/edge-mcp-admission-prober/);
    assert.doesNotMatch(text, /"mcp-admission-metrics\\"|-n mcp-admission /);
  });

  it('a real API server accepts what the chart renders (server-side dry run)', async () => {
    const objects = await renderChart('mcp-admission', 'platform-mcp', [...EXISTING, 'prober.mode=watch', 'defaultPolicy.enabled=true'], home);
    await env.kubectl(['create', 'namespace', 'platform-mcp']);
    const crds = await env.kubectl(['apply', '--server-side', '-f', join(CHART, 'crds')]);
    assert.equal(crds.code, 0, crds.stderr);
    await waitForEstablished(env.kubectl, ['mcptransportpolicies.mcp-admission.dev']);
    const result = await env.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /Warning/);
  });
});

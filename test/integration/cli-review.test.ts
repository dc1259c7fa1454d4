import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const review = (args: string[], input?: string) =>
  spawnSync(process.execPath, ['src/cli/main.ts', 'review', ...args], { cwd: root, input, encoding: 'utf8' });

const recreate = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: legacy
  namespace: tools
  labels: {app.kubernetes.io/component: mcp-server}
  annotations: {mcp-admission.dev/protocol: sse, mcp-admission.dev/termination-grace-period-seconds: "5"}
spec:
  replicas: 2
  strategy: {type: Recreate}
  template:
    spec:
      containers: [{name: server, ports: [{name: mcp, containerPort: 8080}], readinessProbe: {tcpSocket: {port: 8080}}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unrelated}
data: {a: b}
`;

describe('mcp-admission review', () => {
  it('mutates an SSE server and exits 0 (-o json)', () => {
    const out = review(['-f', 'examples/sse-server.yaml', '-o', 'json']);
    assert.equal(out.status, 0, out.stderr);
    const entries = JSON.parse(out.stdout);
    assert.deepEqual(entries.map((e: any) => [e.kind, e.namespace, e.name, e.allowed, e.denials.length]), [
      ['Deployment', 'tools', 'weather', true, 0],
      ['Service', 'tools', 'weather', true, 0],
    ]);
    assert.deepEqual(Object.keys(entries[0]), ['kind', 'namespace', 'name', 'allowed', 'patch', 'changes', 'object', 'denials', 'warnings']);
    assert.deepEqual(entries[0].changes, [
      'strategy (unset) -> RollingUpdate(maxSurge 25%, maxUnavailable 0)',
      'terminationGracePeriodSeconds 30 -> 120',
    ]);
    assert.deepEqual(entries[0].object.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } });
    assert.equal(entries[1].object.spec.sessionAffinity, 'ClientIP');
    assert.ok(entries[0].warnings.some((w: string) => w.includes('spec.replicas')));
  });

  it('reads stdin, reports every denial with its field, leaves other kinds alone, exits 1', () => {
    const out = review(['-f', '-', '-o', 'json'], recreate);
    assert.equal(out.status, 1, out.stderr);
    const [deployment, configMap] = JSON.parse(out.stdout);
    assert.equal(deployment.allowed, false);
    assert.deepEqual(deployment.denials.map((d: any) => d.field), [
      'metadata.annotations[mcp-admission.dev/termination-grace-period-seconds]',
      'spec.strategy.type',
      'spec.template.spec.terminationGracePeriodSeconds',
    ]);
    assert.deepEqual([configMap.kind, configMap.allowed, configMap.patch], ['ConfigMap', true, []]);
  });

  it('applies a policy file: the shipped default policy gives the built-in decisions', () => {
    const withPolicy = review(['-f', 'examples/sse-server.yaml', '-o', 'json', '--policy', 'examples/cluster-default-policy.yaml']);
    const without = review(['-f', 'examples/sse-server.yaml', '-o', 'json']);
    assert.equal(withPolicy.status, 0, withPolicy.stderr);
    assert.deepEqual(JSON.parse(withPolicy.stdout).map((e: any) => e.object), JSON.parse(without.stdout).map((e: any) => e.object));
  });

  it('reads a JSON List as kubectl writes it', () => {
    const list = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'tools', labels: { 'app.kubernetes.io/component': 'mcp-server' } }, spec: { ports: [{ port: 80 }] } }],
    });
    const out = review(['-f', '-', '-o', 'json'], list);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(JSON.parse(out.stdout)[0].object.spec.sessionAffinity, 'ClientIP');
  });

  it('reviews a labelled Service without spec instead of crashing', () => {
    const out = review(['-f', '-', '-o', 'json'], 'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: tools, labels: {app.kubernetes.io/component: mcp-server}}\n');
    assert.equal(out.status, 0, out.stderr);
    assert.equal(JSON.parse(out.stdout)[0].object.spec.sessionAffinity, 'ClientIP');
  });

  it('prints YAML by default', () => {
    const out = review(['-f', 'examples/sse-server.yaml']);
    assert.equal(out.status, 0);
    assert.match(out.stdout, /^- kind: Deployment\n {2}namespace: tools\n/);
    assert.doesNotMatch(out.stdout, /&a\d|\*a\d/, 'no YAML anchors in output');
  });

  const bad: Array<[string, string[], string | undefined, RegExp]> = [
    ['no -f', [], undefined, /usage/],
    ['missing file', ['-f', 'nope.yaml'], undefined, /ENOENT/],
    ['malformed YAML', ['-f', '-'], 'kind: [unclosed', /document 1/],
    ['an object without kind', ['-f', '-'], 'metadata: {name: x}', /no apiVersion or kind/],
    ['a Deployment that is not one', ['-f', '-'], 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x, labels: {app.kubernetes.io/component: mcp-server}}\nspec: 3', /does not match Deployment/],
    ['an invalid policy file', ['-f', 'examples/sse-server.yaml', '--policy', '-'], undefined, /policy/],
    ['unknown output', ['-f', 'examples/sse-server.yaml', '-o', 'table'], undefined, /usage/],
  ];
  for (const [name, args, input, message] of bad) {
    it(`exits 2 on bad input: ${name}`, () => {
      const out = review(args, input);
      assert.equal(out.status, 2);
      assert.match(out.stderr, message);
      assert.equal(out.stdout, '');
    });
  }

  it('judges routes against the Services of the same input as they would be stored (examples/front-door.yaml)', () => {
    const out = review(['-f', 'examples/front-door.yaml', '-o', 'json']);
    assert.equal(out.status, 0, out.stderr);
    const entries = JSON.parse(out.stdout);
    const byKind = Object.fromEntries(entries.map((e: any) => [e.kind, e]));
    assert.deepEqual(entries.map((e: any) => e.kind), ['IngressClass', 'GatewayClass', 'Gateway', 'Deployment', 'Service', 'Ingress', 'HTTPRoute']);
    assert.equal(byKind.Service.object.metadata.annotations['traefik.ingress.kubernetes.io/service.nativelb'], 'true');
    assert.deepEqual(byKind.Ingress.object.metadata.annotations, {
      'nginx.ingress.kubernetes.io/upstream-hash-by': '$remote_addr',
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
      'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
      'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
      'mcp-admission.dev/applied': byKind.Ingress.object.metadata.annotations['mcp-admission.dev/applied'],
    });
    assert.deepEqual(byKind.HTTPRoute.object.spec.rules[0].timeouts, { request: '1h' });
    assert.match(byKind.HTTPRoute.warnings[0], /Envoy Gateway .* BackendTrafficPolicy/);
  });

  it('a Traefik Ingress passes with its Service in the input, and is refused against a Service stored without nativeLB', () => {
    const traefik = (serviceAnnotations: string) => `
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: traefik}
spec: {controller: traefik.io/ingress-controller}
---
apiVersion: v1
kind: Service
metadata:
  name: weather
  namespace: tools
  labels: {app.kubernetes.io/component: mcp-server}
  annotations: {mcp-admission.dev/protocol: sse${serviceAnnotations}}
spec: {selector: {app: weather}, ports: [{name: mcp, port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: weather, namespace: tools, labels: {app.kubernetes.io/component: mcp-server}}
spec:
  ingressClassName: traefik
  defaultBackend: {service: {name: weather, port: {number: 80}}}
`;
    const passes = review(['-f', '-', '-o', 'json'], traefik(''));
    assert.equal(passes.status, 0, passes.stdout);
    const refused = review(['-f', '-', '-o', 'json'], traefik(', traefik.ingress.kubernetes.io/service.nativelb: "false"'));
    assert.equal(refused.status, 1);
    const [, service, ingress] = JSON.parse(refused.stdout);
    assert.deepEqual(service.denials.map((d: any) => d.field), ['metadata.annotations[traefik.ingress.kubernetes.io/service.nativelb]']);
    assert.deepEqual(ingress.denials.map((d: any) => d.field), ['spec.defaultBackend.service.name']);
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    assert.deepEqual(Object.keys(entries[0]), ['kind', 'namespace', 'name', 'allowed', 'patch', 'changes', 'object', 'denials', 'wouldDeny', 'warnings']);
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
    ['missing file', ['-f', 'nope.yaml'], undefined, /cannot read nope\.yaml: no such file/],
    ['zero objects', ['-f', '-'], '---\n# nothing\n', /no objects in -/],
    ['malformed YAML', ['-f', '-'], 'kind: [unclosed', /document 1/],
    ['an object without kind', ['-f', '-'], 'metadata: {name: x}', /no apiVersion or kind/],
    ['a Deployment that is not one', ['-f', '-'], 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x, labels: {app.kubernetes.io/component: mcp-server}}\nspec: 3', /does not match Deployment/],
    ['an invalid policy file', ['-f', 'examples/sse-server.yaml', '--policy', '-'], undefined, /policy/],
    ['unknown output', ['-f', 'examples/sse-server.yaml', '-o', 'xml'], undefined, /usage/],
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

  describe('never disagrees silently with the cluster', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-admission-review-'));
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, 'apiVersion: mcp-admission.dev/v1alpha1\nkind: MCPTransportPolicy\nmetadata: {name: team-a}\nspec: {mode: validate, namespaceSelector: {matchLabels: {team: a}}}\n');
    const server = readFileSync(join(root, 'examples/sse-server.yaml'), 'utf8');
    const namespace = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: tools, labels: {team: a}}\n';

    it('exits 2 with the reason when a label-selected policy meets a namespace of unknown labels', () => {
      const out = review(['-f', 'examples/sse-server.yaml', '--policy', policyFile]);
      assert.equal(out.status, 2);
      assert.match(out.stderr, /cannot evaluate the namespaceSelector of MCPTransportPolicy team-a for namespace tools: its labels are unknown offline/);
    });

    it('takes namespace labels from a Namespace in the input, as the cluster would', () => {
      const out = review(['-f', '-', '--policy', policyFile, '-o', 'json'], `${namespace}---\n${server}`);
      assert.equal(out.status, 1, out.stderr);
      const deployment = JSON.parse(out.stdout).find((e: any) => e.kind === 'Deployment');
      assert.equal(deployment.allowed, false, 'mode validate of team-a applies');
    });

    it('takes namespace labels from --namespace-labels; in mode warn keeps the whole fix in wouldDeny', () => {
      const warnFile = join(dir, 'warn.yaml');
      writeFileSync(warnFile, readFileSync(policyFile, 'utf8').replace('mode: validate', 'mode: warn'));
      const out = review(['-f', 'examples/sse-server.yaml', '--policy', warnFile, '--namespace-labels', 'tools=team=a', '-o', 'json']);
      assert.equal(out.status, 0, out.stderr);
      const deployment = JSON.parse(out.stdout).find((e: any) => e.kind === 'Deployment');
      assert.ok(deployment.wouldDeny.length > 0);
      assert.ok(deployment.wouldDeny.every((d: any) => /Fix:|kubectl patch/.test(d.message)), 'each with its fix');
      assert.ok(deployment.wouldDeny.some((d: any) => d.message.length > 256), 'not cut to the 256 characters of a warning');
    });

    it('reads repeated -f and directories, recursively with -R; prints a table with a summary line', () => {
      mkdirSync(join(dir, 'manifests/nested'), { recursive: true });
      writeFileSync(join(dir, 'manifests/server.yaml'), server);
      writeFileSync(join(dir, 'manifests/nested/ns.yaml'), namespace);
      writeFileSync(join(dir, 'manifests/notes.txt'), 'not a manifest');
      const flat = review(['-f', join(dir, 'manifests'), '-o', 'json']);
      assert.equal(JSON.parse(flat.stdout).length, 2);
      const deep = review(['-f', join(dir, 'manifests'), '-R', '-f', 'examples/sse-server.yaml', '--policy', policyFile, '-o', 'table']);
      assert.equal(deep.status, 1, deep.stderr);
      assert.match(deep.stdout, /^NAMESPACE\s+KIND\s+NAME\s+RESULT\s+CHANGES\s+PROBLEMS\n/);
      assert.match(deep.stdout, /\n5 objects: 1 allowed, 0 mutated, 0 warned, 4 denied\n$/);
    });

    it('--help gives flags, defaults and exit codes', () => {
      for (const command of ['review', 'explain', 'audit', 'probe', 'serve']) {
        const out = spawnSync(process.execPath, ['src/cli/main.ts', command, '--help'], { cwd: root, encoding: 'utf8' });
        assert.equal(out.status, 0, `${command} --help: ${out.stderr}`);
        assert.match(out.stdout, /usage: mcp-admission/, command);
        assert.match(out.stdout, /exit/i, `${command} --help names its exit codes`);
      }
    });
  });
});

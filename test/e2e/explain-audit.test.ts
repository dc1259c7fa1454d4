/**
 * `explain` and `audit` against a real API server and the webhook serving
 * from this checkout: what `explain` says is what admission then does
 * (checked with `kubectl apply --dry-run=server`), and `audit` finds an
 * object created under mode off once the mode is validate, until it is fixed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { manifest, mustSucceed, REPO_ROOT, startE2E, type E2E } from '../support/harness.ts';
import { mcpDeployment, type Manifest } from '../support/objects.ts';

const run = promisify(execFile);
const NS = 'team-a-tools';

function policy(name: string, spec: Manifest): Manifest {
  return { apiVersion: 'mcp-admission.dev/v1alpha1', kind: 'MCPTransportPolicy', metadata: { name }, spec };
}

describe('explain and audit on a real cluster', () => {
  let env: E2E;
  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['src/cli/main.ts', ...args, '--kubeconfig', env.controlPlane.kubeconfig], { cwd: REPO_ROOT });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const failed = err as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
  /** Applies policies and waits until the webhook's dry runs show `ready`. */
  const applyPolicies = async (objects: Manifest[], ready: () => Promise<boolean>): Promise<void> => {
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: manifest(objects) });
    const deadline = performance.now() + 10_000;
    while (!(await ready())) {
      assert.ok(performance.now() < deadline, 'the webhook sees the policies within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const dryRun = (object: Manifest) => env.apply(object, ['--dry-run=server', '-o', 'json']);
  const runReview = (args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = execFile(process.execPath, ['src/cli/main.ts', 'review', ...args], { cwd: REPO_ROOT }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(input);
    });

  before(async () => {
    env = await startE2E();
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], {
      input: manifest({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { team: 'a' } } }),
    });
  });
  after(() => env?.stop());

  it('explain says what admission then does', async () => {
    const server = mcpDeployment('explained', { namespace: NS, annotations: { protocol: 'sse' } });
    await applyPolicies(
      [
        policy('cluster-default', { defaults: { maxSurge: '50%' }, bounds: { minTerminationGracePeriodSeconds: 45 } }),
        policy('team-a', { namespaceSelector: { matchLabels: { team: 'a' } }, defaults: { terminationGracePeriodSeconds: 420 } }),
      ],
      async () => JSON.parse((await dryRun(server)).stdout || '{}').spec?.template?.spec?.terminationGracePeriodSeconds === 420,
    );
    const explained = await cli('explain', '-n', NS, '-o', 'json');
    assert.equal(explained.code, 0, explained.stderr);
    const e = JSON.parse(explained.stdout);
    process.stderr.write(`e2e: mcp-admission explain -n ${NS} -o yaml:\n${(await cli('explain', '-n', NS)).stdout}\n`);
    assert.deepEqual(e.policies, ['cluster-default', 'team-a']);
    assert.deepEqual(e.defaults.terminationGracePeriodSeconds, { value: 420, from: 'MCPTransportPolicy team-a' });
    assert.deepEqual(e.defaults.maxSurge, { value: '50%', from: 'MCPTransportPolicy cluster-default' });
    assert.deepEqual(e.mode, { value: 'mutate', from: 'built-in default' });

    const result = await dryRun(server);
    assert.equal(result.code, 0, result.stderr);
    const stored = JSON.parse(result.stdout);
    assert.equal(stored.spec.template.spec.terminationGracePeriodSeconds, e.defaults.terminationGracePeriodSeconds.value);
    assert.equal(stored.spec.strategy.rollingUpdate.maxSurge, e.defaults.maxSurge.value);
    assert.equal(stored.spec.strategy.rollingUpdate.maxUnavailable, 0);
  });

  it('explain reads the cluster through a kubeconfig whose user is an exec credential plugin, as on EKS and GKE', async () => {
    // Ours serves static credentials; an exec user is handed to client-node
    // (kube-access.ts). The plugin here prints a real ServiceAccount token
    // the API server verifies, with only the reads explain makes granted.
    await mustSucceed(env.kubectl, ['create', 'serviceaccount', 'explainer', '-n', NS]);
    await mustSucceed(env.kubectl, ['create', 'clusterrole', 'mcp-explainer', '--verb=list', '--resource=mcptransportpolicies.mcp-admission.dev,namespaces']);
    await mustSucceed(env.kubectl, ['create', 'clusterrolebinding', 'mcp-explainer', '--clusterrole=mcp-explainer', `--serviceaccount=${NS}:explainer`]);
    const token = (await mustSucceed(env.kubectl, ['create', 'token', 'explainer', '-n', NS])).stdout.trim();
    const dir = mkdtempSync(join(tmpdir(), 'mcp-admission-exec-'));
    const plugin = join(dir, 'credential-plugin.sh');
    const printing = (credential: string) =>
      `#!/bin/sh\ncat <<'EOF'\n${JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: credential } })}\nEOF\n`;
    writeFileSync(plugin, printing(token), { mode: 0o755 });
    const admin = JSON.parse(readFileSync(env.controlPlane.kubeconfig, 'utf8')) as { users: Array<{ name: string; user: unknown }> };
    admin.users = [{ name: 'admin', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } } }];
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, JSON.stringify(admin), { mode: 0o600 });
    const explain = () => run(process.execPath, ['src/cli/main.ts', 'explain', '-n', NS, '-o', 'json', '--kubeconfig', kubeconfig], { cwd: REPO_ROOT });
    try {
      const e = JSON.parse((await explain()).stdout);
      // The policies the first test applied: read from the cluster, not a default.
      assert.deepEqual(e.policies, ['cluster-default', 'team-a']);
      assert.deepEqual(e.defaults.terminationGracePeriodSeconds, { value: 420, from: 'MCPTransportPolicy team-a' });
      // A credential the API server refuses is an error that says so.
      writeFileSync(plugin, printing('not-a-token'), { mode: 0o755 });
      const failed = await explain().then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      assert.ok(failed, 'explain fails when the API server refuses the credential');
      assert.notEqual(failed.code, 0);
      assert.match(failed.stderr, /HTTP 401: Unauthorized/, failed.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('review with a label-selected policy and the Namespace in its input answers as the cluster does', async () => {
    const server = mcpDeployment('reviewed', { namespace: NS, annotations: { protocol: 'sse' } });
    const validate = policy('team-a', { namespaceSelector: { matchLabels: { team: 'a' } }, mode: 'validate' });
    await applyPolicies([validate], async () => (await dryRun(server)).code !== 0);
    const cluster = await dryRun(server);
    assert.notEqual(cluster.code, 0, 'the cluster refuses it');

    const policyFile = join(env.dir, 'team-a-policy.json');
    writeFileSync(policyFile, JSON.stringify(validate));
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { team: 'a' } } };
    const reviewed = await runReview(['-f', '-', '--policy', policyFile, '-o', 'json'], manifest([namespace, server]));
    assert.equal(reviewed.code, 1, reviewed.stderr);
    const entry = JSON.parse(reviewed.stdout).find((e: Manifest) => e.kind === 'Deployment');
    assert.equal(entry.allowed, false);
    // Each field the cluster names in its refusal, review names too.
    for (const denial of entry.denials) assert.ok(cluster.stderr.includes(`${denial.field}:`), `${denial.field} in: ${cluster.stderr}`);

    const unlabelled = await runReview(['-f', '-', '--policy', policyFile], manifest(server));
    assert.equal(unlabelled.code, 2, 'without the namespace labels it says it cannot tell');
    const fromCluster = await runReview(['-f', '-', '--cluster', '--kubeconfig', env.controlPlane.kubeconfig, '-o', 'json'], manifest(server));
    assert.equal(fromCluster.code, 1, fromCluster.stderr);
  });

  it('audit lists an object created under mode off as would-refuse once the mode is validate, and compliant after the fix', async () => {
    const server = mcpDeployment('legacy', { namespace: NS, annotations: { protocol: 'sse' } }, { strategy: { type: 'Recreate' } });
    await applyPolicies([policy('team-a', { namespaceSelector: { matchLabels: { team: 'a' } }, mode: 'off' })], async () => (await dryRun(server)).code === 0);
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: manifest(server) });

    const underOff = await cli('audit', '-n', NS, '-o', 'json');
    assert.equal(underOff.code, 0, underOff.stderr);
    assert.deepEqual(JSON.parse(underOff.stdout).map((e: Manifest) => [e.name, e.verdict, e.reason]), [['legacy', 'not-judged', 'mode off']]);

    await applyPolicies([policy('team-a', { namespaceSelector: { matchLabels: { team: 'a' } }, mode: 'validate' })], async () => (await dryRun({ ...server, metadata: { ...server.metadata, name: 'probe-validate' } })).code !== 0);
    const table = await cli('audit', '-n', NS);
    process.stderr.write(`e2e: mcp-admission audit -n ${NS}:\n${table.stdout}\n`);
    assert.equal(table.code, 1, table.stderr);
    assert.match(table.stdout, /^NAMESPACE\s+KIND\s+NAME\s+MODE\s+VERDICT\n/);
    assert.match(table.stdout, new RegExp(`${NS}\\s+Deployment\\s+legacy\\s+validate\\s+would-refuse`));
    const [entry] = JSON.parse((await cli('audit', '-A', '-o', 'json')).stdout);
    assert.equal(entry.verdict, 'would-refuse');
    assert.ok(entry.fixes.some((f: Manifest) => f.field === 'spec.strategy.type'));

    // The fixes the audit gives, as kubectl patches, applied together (the
    // webhook judges the whole object, so one at a time would be refused).
    const patches = entry.fixes.map((f: Manifest) => f.message.match(/kubectl patch deployment\/legacy -n \S+ --type=merge -p '([^']+)'/)?.[1]);
    assert.ok(patches.every(Boolean), 'every fix carries a kubectl patch command');
    const merged = patches.map((p: string) => JSON.parse(p)).reduce((a: Manifest, b: Manifest) => deepMerge(a, b), {});
    await mustSucceed(env.kubectl, ['patch', 'deployment/legacy', '-n', NS, '--type=merge', '-p', JSON.stringify(merged)]);
    const fixed = await cli('audit', '-n', NS, '-o', 'json');
    assert.equal(fixed.code, 0, fixed.stdout);
    assert.deepEqual(JSON.parse(fixed.stdout).map((e: Manifest) => [e.name, e.verdict]), [['legacy', 'compliant']]);
  });
});

function deepMerge(a: Manifest, b: Manifest): Manifest {
  const out: Manifest = { ...a };
  for (const [key, value] of Object.entries(b)) {
    out[key] = value && typeof value === 'object' && !Array.isArray(value) && typeof out[key] === 'object' ? deepMerge(out[key], value) : value;
  }
  return out;
}

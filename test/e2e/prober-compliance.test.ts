/**
 * `probe --once` on a real API server with the webhook serving from this
 * checkout reports what `audit` finds: a Deployment created under mode warn
 * that mode validate would refuse gets a `NonCompliant` Warning Event and is counted in the
 * `--metrics-file` gauge, and
 * an exempt namespace gets nothing (no probe, no annotation, no Event).
 * No pod runs (there is no kubelet), so the probes themselves find no
 * endpoint; the verdict does not depend on them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Annotations } from '../../src/contract.ts';
import { manifest, mustSucceed, getJson, REPO_ROOT, startE2E, type E2E } from '../support/harness.ts';
import { mcpDeployment, mcpIngress, mcpService, type Manifest } from '../support/objects.ts';

const run = promisify(execFile);

describe('probe --once reports non-compliant objects', () => {
  let env: E2E;
  before(async () => {
    env = await startE2E();
  });
  after(() => env?.stop());

  it('a Warning Event on a would-warn Deployment under mode warn; nothing in an exempt namespace', async () => {
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], {
      input: manifest([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'warned', labels: { rollout: 'warn' } } },
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'free', labels: { rollout: 'warn' } } },
        {
          apiVersion: 'mcp-admission.dev/v1alpha1',
          kind: 'MCPTransportPolicy',
          metadata: { name: 'rollout' },
          spec: { namespaceSelector: { matchLabels: { rollout: 'warn' } }, mode: 'warn', exemptNamespaces: ['free'] },
        },
      ]),
    });
    const objects = (ns: string) => [
      mcpDeployment('legacy', { namespace: ns, annotations: { protocol: 'sse' }, podLabels: { app: 'legacy' } }, { strategy: { type: 'Recreate' } }),
      mcpService('legacy', { namespace: ns, annotations: { protocol: 'sse' }, podLabels: { app: 'legacy' } }),
    ];
    // Under mode warn the Recreate Deployment is let through (with a warning);
    // wait until the webhook has the policy, i.e. the create warns.
    for (let i = 0; ; i++) {
      const dry = await env.apply(objects('warned')[0]!, ['--dry-run=server']);
      if (dry.code === 0 && /Warning/.test(dry.stderr)) break;
      assert.ok(i < 100, `the webhook never took the policy: ${dry.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: manifest([...objects('warned'), ...objects('free')]) });

    const metricsFile = join(env.dir, 'prober.prom');
    const probe = await run(process.execPath, ['src/cli/main.ts', 'probe', '--once', '--log-level', 'info', '--metrics-file', metricsFile], {
      cwd: REPO_ROOT,
      env: { ...process.env, KUBECONFIG: env.controlPlane.kubeconfig, MCP_ADMISSION_PROBE_TIMEOUT_MS: '2000' },
    }).catch((err: { stdout: string; stderr: string }) => err);
    process.stderr.write(`e2e: probe --once:\n${probe.stderr}\n`);

    const events = async (ns: string) =>
      (await getJson<{ items: Manifest[] }>(env.kubectl, ['events', '-n', ns, '--field-selector', 'reason=NonCompliant'])).items;
    const warned = await events('warned');
    const onDeployment = warned.filter((e) => e.involvedObject.kind === 'Deployment' && e.involvedObject.name === 'legacy');
    assert.equal(onDeployment.length, 1, JSON.stringify(warned));
    assert.equal(onDeployment[0]!.type, 'Warning');
    assert.match(onDeployment[0]!.message, /would warn this Deployment.*spec\.strategy\.type/);
    assert.deepEqual(await events('free'), []);
    // The gauge the MCPAdmissionNoncompliantObjects alert reads, left for a textfile collector.
    const metrics = readFileSync(metricsFile, 'utf8');
    assert.match(metrics, /^mcp_admission_noncompliant_objects\{namespace="warned",kind="Deployment",reason="would-warn"\} 1$/m);
    assert.doesNotMatch(metrics, /namespace="free"/);
    const free = await getJson<Manifest>(env.kubectl, ['deployment', 'legacy', '-n', 'free']);
    assert.equal(free.metadata.annotations?.[Annotations.transportStatus], undefined, 'an exempt namespace is not probed');
    const warnedDeployment = await getJson<Manifest>(env.kubectl, ['deployment', 'legacy', '-n', 'warned']);
    assert.ok(warnedDeployment.metadata.annotations?.[Annotations.transportStatus], 'a judged namespace is probed');
  });

  it('audit lists an unlabelled Ingress to an SSE MCP Service with the label to add', async () => {
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: manifest([mcpIngress('front', undefined, { namespace: 'warned', services: ['legacy'], unlabelled: true })]) });
    const audit = await run(process.execPath, ['src/cli/main.ts', 'audit', '-n', 'warned', '--kubeconfig', env.controlPlane.kubeconfig], { cwd: REPO_ROOT }).catch(
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    process.stderr.write(`e2e: mcp-admission audit -n warned:\n${audit.stdout}${audit.stderr}\n`);
    assert.match(audit.stdout, /warned\s+Ingress\s+front\s+unlabelled-route/);
    assert.match(audit.stdout, /Fix: kubectl label ingress\/front -n warned app\.kubernetes\.io\/component=mcp-server/);
    assert.equal((audit as { code?: number }).code, 1);
  });
});

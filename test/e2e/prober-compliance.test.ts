/**
 * The prober's judged pass on a real API server with the webhook serving
 * from this checkout reports what `audit` finds: a Deployment created under
 * mode warn that mode validate would refuse gets a `NonCompliant` Warning
 * Event and is counted in the `--metrics-file` gauge, and an exempt
 * namespace gets nothing (no probe, no annotation, no Event); a second
 * pass counts on the same Event (count 2) instead of making another; a
 * Deployment with no Service beside it is judged too; an unlabelled Ingress
 * or HTTPRoute to an SSE server gets an `UnlabelledRoute` Warning Event; and
 * `probe --watch` does the same at start and serves the gauge on
 * `--metrics-port`. No pod runs (there is no kubelet), so the probes
 * themselves find no endpoint; the verdicts do not depend on them.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Annotations } from '../../src/contract.ts';
import { eventName } from '../../src/prober/event-recorder.ts';
import { manifest, mustSucceed, getJson, REPO_ROOT, startE2E, type E2E } from '../support/harness.ts';
import { mcpDeployment, mcpHTTPRoute, mcpIngress, mcpService, type Manifest } from '../support/objects.ts';
import { waitForEstablished } from '../support/harness/manifests.ts';
import { toolPath } from '../support/tools.ts';

const run = promisify(execFile);

/** A Deployment the policy's mode validate would refuse (Recreate cuts SSE streams), warned about under mode warn. */
const legacyDeployment = (ns: string, name = 'legacy') =>
  mcpDeployment(name, { namespace: ns, annotations: { protocol: 'sse' }, podLabels: { app: name } }, { strategy: { type: 'Recreate' } });

describe('the prober pass reports non-compliant objects and unlabelled routes (probe --once and --watch)', () => {
  let env: E2E;
  let metricsFile: string;
  before(async () => {
    env = await startE2E();
    metricsFile = join(env.dir, 'prober.prom');
  });
  after(() => env?.stop());

  /** One `probe --once` pass, as the CronJob runs it; its log goes to the test's stderr. */
  const probeOnce = async () => {
    const probe = await run(process.execPath, ['src/cli/main.ts', 'probe', '--once', '--log-level', 'info', '--metrics-file', metricsFile], {
      cwd: REPO_ROOT,
      env: { ...process.env, KUBECONFIG: env.controlPlane.kubeconfig, MCP_ADMISSION_PROBE_TIMEOUT_MS: '2000' },
    }).catch((err: { stdout: string; stderr: string }) => err);
    process.stderr.write(`e2e: probe --once:\n${probe.stderr}\n`);
    assert.doesNotMatch(probe.stderr, /cannot record the Event/);
    return probe;
  };
  const events = async (ns: string, reason: string) =>
    (await getJson<{ items: Manifest[] }>(env.kubectl, ['events', '-n', ns, '--field-selector', `reason=${reason}`])).items;

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
    const objects = (ns: string) => [legacyDeployment(ns), mcpService('legacy', { namespace: ns, annotations: { protocol: 'sse' }, podLabels: { app: 'legacy' } })];
    // Under mode warn the Recreate Deployment is let through (with a warning);
    // wait until the webhook has the policy, i.e. the create warns.
    for (let i = 0; ; i++) {
      const dry = await env.apply(objects('warned')[0]!, ['--dry-run=server']);
      if (dry.code === 0 && /Warning/.test(dry.stderr)) break;
      assert.ok(i < 100, `the webhook never took the policy: ${dry.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: manifest([...objects('warned'), ...objects('free')]) });

    await probeOnce();
    const warned = await events('warned', 'NonCompliant');
    const onDeployment = warned.filter((e) => e.involvedObject.kind === 'Deployment' && e.involvedObject.name === 'legacy');
    assert.equal(onDeployment.length, 1, JSON.stringify(warned));
    assert.equal(onDeployment[0]!.type, 'Warning');
    assert.match(onDeployment[0]!.message, /would warn this Deployment.*spec\.strategy\.type/);
    assert.deepEqual(await events('free', 'NonCompliant'), []);
    // The gauge the MCPAdmissionNoncompliantObjects alert reads, left for a textfile collector.
    const metrics = readFileSync(metricsFile, 'utf8');
    assert.match(metrics, /^mcp_admission_noncompliant_objects\{namespace="warned",kind="Deployment",reason="would-warn"\} 1$/m);
    assert.match(metrics, /^mcp_admission_prober_last_success_timestamp_seconds \d{10}(\.\d+)?$/m);
    assert.doesNotMatch(metrics, /namespace="free"/);
    const free = await getJson<Manifest>(env.kubectl, ['deployment', 'legacy', '-n', 'free']);
    assert.equal(free.metadata.annotations?.[Annotations.transportStatus], undefined, 'an exempt namespace is not probed');
    const warnedDeployment = await getJson<Manifest>(env.kubectl, ['deployment', 'legacy', '-n', 'warned']);
    assert.ok(warnedDeployment.metadata.annotations?.[Annotations.transportStatus], 'a judged namespace is probed');
  });

  it('a second pass counts on the same Event (count 2, a later lastTimestamp) instead of making another', async () => {
    const [first] = (await events('warned', 'NonCompliant')).filter((e) => e.involvedObject.kind === 'Deployment');
    // lastTimestamp has whole seconds: let one pass.
    await new Promise((r) => setTimeout(r, 1100));
    await probeOnce();
    const onDeployment = (await events('warned', 'NonCompliant')).filter((e) => e.involvedObject.kind === 'Deployment');
    assert.equal(onDeployment.length, 1, JSON.stringify(onDeployment));
    assert.equal(onDeployment[0]!.metadata.name, first!.metadata.name);
    assert.equal(onDeployment[0]!.count, 2);
    assert.equal(onDeployment[0]!.firstTimestamp, first!.firstTimestamp);
    assert.ok(Date.parse(onDeployment[0]!.lastTimestamp) > Date.parse(first!.lastTimestamp), `${first!.lastTimestamp} -> ${onDeployment[0]!.lastTimestamp}`);
  });

  it('a labelled Deployment with no labelled Service in its namespace is judged too; an Event a tenant made under our name is left alone', async () => {
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], {
      input: manifest([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lonely', labels: { rollout: 'warn' } } },
        legacyDeployment('lonely', 'alone'),
        legacyDeployment('lonely', 'squatted'),
      ]),
    });
    // The tenant computes the name our Event about `squatted` will have, and takes it first.
    const squatted = await getJson<Manifest>(env.kubectl, ['deployment', 'squatted', '-n', 'lonely']);
    const name = eventName({ kind: 'Deployment', namespace: 'lonely', name: 'squatted', uid: squatted.metadata.uid }, 'NonCompliant');
    await mustSucceed(env.kubectl, ['create', '-f', '-'], {
      input: manifest({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: 'lonely' },
        involvedObject: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'lonely', name: 'squatted', uid: squatted.metadata.uid },
        reason: 'NonCompliant',
        type: 'Warning',
        message: 'call +1 555 0100 to fix this',
        source: { component: 'tenant' },
        reportingComponent: 'tenant',
        count: 1,
      }),
    });
    await probeOnce();
    const lonely = await events('lonely', 'NonCompliant');
    assert.deepEqual(lonely.filter((e) => e.involvedObject.name === 'alone').map((e) => [e.involvedObject.kind, e.type]), [['Deployment', 'Warning']]);
    const onSquatted = lonely.filter((e) => e.involvedObject.name === 'squatted');
    const tenants = onSquatted.find((e) => e.metadata.name === name)!;
    assert.deepEqual([tenants.message, tenants.count], ['call +1 555 0100 to fix this', 1], 'the tenant\'s Event is not counted or reworded');
    const ours = onSquatted.filter((e) => e.metadata.name !== name);
    assert.equal(ours.length, 1, JSON.stringify(onSquatted));
    assert.equal(ours[0]!.reportingComponent, 'mcp-admission-prober');
    assert.match(ours[0]!.message, /would warn this Deployment/);
    assert.match(readFileSync(metricsFile, 'utf8'), /^mcp_admission_noncompliant_objects\{namespace="lonely",kind="Deployment",reason="would-warn"\} 2$/m);
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

  it('probe --once records an UnlabelledRoute Warning Event on an unlabelled Ingress and, with the Gateway API CRDs, HTTPRoute to an SSE server', async () => {
    // The Ingress `front` of the audit test above; no HTTPRoute CRD yet, and that is no failure.
    const first = await probeOnce();
    assert.doesNotMatch(first.stderr, /cannot list MCP services/);
    const [onIngress, ...others] = await events('warned', 'UnlabelledRoute');
    assert.equal(others.length, 0);
    assert.deepEqual([onIngress!.involvedObject.apiVersion, onIngress!.involvedObject.kind, onIngress!.involvedObject.name, onIngress!.type], ['networking.k8s.io/v1', 'Ingress', 'front', 'Warning']);
    assert.match(onIngress!.message, /^This Ingress routes to SSE MCP Service "legacy" without the label app\.kubernetes\.io\/component: mcp-server/);
    assert.match(onIngress!.message, /Fix: kubectl label ingress\/front -n warned app\.kubernetes\.io\/component=mcp-server$/);

    await mustSucceed(env.kubectl, ['apply', '--server-side', '-f', toolPath('gateway-api')]);
    await waitForEstablished(env.kubectl, ['httproutes.gateway.networking.k8s.io']);
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: manifest([mcpHTTPRoute('gw-front', 'gw', { namespace: 'warned', services: ['legacy'], unlabelled: true })]) });
    await probeOnce();
    const routes = await events('warned', 'UnlabelledRoute');
    assert.deepEqual(routes.map((e) => [e.involvedObject.kind, e.involvedObject.name, e.count]).sort(), [['HTTPRoute', 'gw-front', 1], ['Ingress', 'front', 2]]);
    const onRoute = routes.find((e) => e.involvedObject.kind === 'HTTPRoute')!;
    assert.equal(onRoute.involvedObject.apiVersion, 'gateway.networking.k8s.io/v1');
    assert.match(onRoute.message, /Fix: kubectl label httproute\/gw-front -n warned app\.kubernetes\.io\/component=mcp-server$/);
  });

  it('probe --watch judges at start: a NonCompliant Event, and the gauge on --metrics-port', async () => {
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], {
      input: manifest([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'watched', labels: { rollout: 'warn' } } }, legacyDeployment('watched', 'seen')]),
    });
    const watcher = spawn(process.execPath, ['src/cli/main.ts', 'probe', '--watch', '--host', '127.0.0.1', '--metrics-port', '0', '--log-level', 'info'], {
      cwd: REPO_ROOT,
      env: { ...process.env, KUBECONFIG: env.controlPlane.kubeconfig, MCP_ADMISSION_PROBE_TIMEOUT_MS: '2000' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    watcher.stderr!.setEncoding('utf8');
    const port = new Promise<number>((resolve) => {
      watcher.stderr!.on('data', (chunk: string) => {
        log += chunk;
        const found = /"metricsPort":(\d+)/.exec(log);
        if (found) resolve(Number(found[1]));
      });
    });
    try {
      const base = `http://127.0.0.1:${await port}`;
      assert.equal(await (await fetch(`${base}/healthz`)).text(), 'ok');
      let metrics = '';
      for (let i = 0; !/^mcp_admission_prober_passes_total\{result="success"\} 1$/m.test(metrics); i++) {
        assert.ok(i < 300, `no pass in 30 s:\n${metrics}\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
        metrics = await (await fetch(`${base}/metrics`)).text();
      }
      assert.match(metrics, /^mcp_admission_noncompliant_objects\{namespace="watched",kind="Deployment",reason="would-warn"\} 1$/m);
      assert.match(metrics, /^mcp_admission_prober_last_success_timestamp_seconds \d{10}(\.\d+)?$/m);
      assert.match(metrics, /^mcp_admission_prober_passes_total\{result="failure"\} 0$/m);
      assert.match(metrics, /^process_cpu_seconds_total /m);
      assert.doesNotMatch(metrics, /namespace="free"/);
      const seen = await events('watched', 'NonCompliant');
      assert.deepEqual(seen.map((e) => [e.involvedObject.kind, e.involvedObject.name, e.count]), [['Deployment', 'seen', 1]]);
    } finally {
      watcher.kill('SIGTERM');
      const [code] = await once(watcher, 'exit');
      process.stderr.write(`e2e: probe --watch:\n${log}\n`);
      assert.equal(code, 0);
    }
  });
});

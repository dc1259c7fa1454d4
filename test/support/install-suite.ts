/**
 * The scenarios every install path must pass, on an empty API server in a
 * network of our own (see test/support/installed.ts): the README's commands
 * exit 0 the first time; kube-apiserver calls the webhook through the
 * Service at the stand-in pods' addresses, trusting the installed caBundle
 * for the name `<service>.<namespace>.svc`; an SSE Deployment is mutated and
 * a Recreate one refused. Each transcript and the time from the first
 * install command to the first admitted MCP object are reported as test
 * diagnostics.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APPLIED } from './objects.ts';
import { getJson, manifest } from './harness.ts';
import { documentedCommands, runCommands, transcript } from './harness/install-commands.ts';
import { currentNetwork } from './harness/netns.ts';
import { untilLogged } from './harness/processes.ts';
import { spawnSync } from 'node:child_process';
import { toolPath } from './tools.ts';
import {
  PROBER,
  WEBHOOK,
  bundleCertificates,
  firstAdmitted,
  httpGet,
  install,
  sseServer,
  startProberPod,
  startWebhookPods,
  tlsHandshake,
  webhookCalls,
  type InstallOptions,
  type Installed,
} from './installed.ts';

type Json = Record<string, any>;

const DENIED_BY = 'admission webhook "validate.mcp-admission.dev" denied the request';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const APP_NAMESPACE = 'mcp-demo';

/** One install path in one namespace. */
export interface InstallCase {
  /** Test title, e.g. `kubectl apply -k deploy/ into mcp-admission`. */
  title: string;
  /** README block name. */
  path: string;
  namespace: string;
  rewrite?: InstallOptions['rewrite'];
  edit?: InstallOptions['edit'];
  extraPath?: string[];
  /** More scenarios for this path (upgrade, uninstall), run after the common ones. */
  more?: (installed: () => Installed) => void;
}

/** Defines the installed-path scenarios for `testCase`. */
export function installSuite(testCase: InstallCase): void {
  describe(testCase.title, () => {
    let installed: Installed;
    let admitted: Json;
    let webhookPort: number;

    before(async () => {
      const network = currentNetwork();
      const started = performance.now();
      installed = await install({ network, ...testCase });
      if (installed.runs.some((r) => r.code !== 0)) return; // the first test reports it
      await startWebhookPods(installed, network);
      admitted = await firstAdmitted(installed, APP_NAMESPACE);
      installed.firstAdmittedMs = performance.now() - started;
      const deployment = await getJson<Json>(installed.env.kubectl, ['deployment', WEBHOOK, '-n', testCase.namespace]);
      const container = deployment.spec.template.spec.containers[0] as Json;
      const service = await getJson<Json>(installed.env.kubectl, ['service', WEBHOOK, '-n', testCase.namespace]);
      const target = (service.spec.ports as Json[]).find((p) => p.port === 443)?.targetPort;
      webhookPort = typeof target === 'number' ? target : (container.ports as Json[]).find((p) => p.name === target)?.containerPort;
    });
    after(() => installed?.stop());

    it('the documented commands exit 0 the first time, on an empty API server', (t) => {
      t.diagnostic(`transcript:\n${transcript(installed.runs)}`);
      for (const run of installed.runs) assert.equal(run.code, 0, transcript(installed.runs));
      assert.equal(installed.runs.length, installed.commands.length);
      if (installed.firstAdmittedMs !== undefined) {
        t.diagnostic(`first MCP object admitted ${Math.round(installed.firstAdmittedMs)} ms after the first install command ` +
          `(stand-in pods ready in ${installed.pods.map((p) => `${Math.round(p.readyMs)} ms`).join(', ')})`);
      }
    });

    it('the API server calls the webhook through the Service, trusting the installed caBundle for the Service name', async () => {
      assert.ok(admitted, 'no MCP object was admitted');
      const { kubectl } = installed.env;
      const configs = [
        await getJson<Json>(kubectl, ['mutatingwebhookconfiguration', 'mcp-admission']),
        await getJson<Json>(kubectl, ['validatingwebhookconfiguration', 'mcp-admission']),
      ];
      const serverName = `${WEBHOOK}.${testCase.namespace}.svc`;
      for (const webhook of configs.flatMap((c) => c.webhooks as Json[])) {
        assert.equal(webhook.clientConfig.url, undefined, `${webhook.name} must call the Service`);
        assert.deepEqual(
          { name: webhook.clientConfig.service.name, namespace: webhook.clientConfig.service.namespace },
          { name: WEBHOOK, namespace: testCase.namespace },
        );
        assert.ok(webhook.clientConfig.caBundle, `${webhook.name} has no caBundle`);
        assert.ok(bundleCertificates(webhook.clientConfig.caBundle).length > 0);
        // What the API server checks: the pod's certificate chains to the
        // caBundle and names the Service.
        for (const pod of installed.pods) {
          const handshake = await tlsHandshake(pod.ip, webhookPort, serverName, webhook.clientConfig.caBundle);
          assert.equal(handshake.error, undefined, `${pod.name} for ${webhook.name}: ${handshake.error}`);
          assert.equal(handshake.authorized, true);
          assert.match(handshake.subjectAltName ?? '', new RegExp(`DNS:${serverName.replaceAll('.', '\\.')}(,|$)`));
        }
      }
      // The slices the API server resolved the Service through hold the pods.
      const slices = await getJson<{ items: Json[] }>(kubectl, ['endpointslices', '-n', testCase.namespace, '-l', `kubernetes.io/service-name=${WEBHOOK}`]);
      assert.deepEqual(
        slices.items.flatMap((s) => (s.endpoints as Json[]).flatMap((e) => e.addresses)).sort(),
        installed.pods.map((p) => p.ip).sort(),
      );
      assert.ok((await webhookCalls(installed, 'mutate.mcp-admission.dev')) >= 1);
      assert.ok((await webhookCalls(installed, 'validate.mcp-admission.dev')) >= 1);
      // And the pods say they answered.
      await untilLogged(installed.pods, /"kind":"Deployment"/, { lines: 200 });
      const answered = installed.pods.filter((p) => /"kind":"Deployment"/.test(p.logTail(200)));
      assert.ok(answered.length >= 1, installed.pods.map((p) => p.logTail()).join('\n'));
    });

    it('everything derived from the namespace names the install namespace', async () => {
      assert.ok(admitted, 'no MCP object was admitted');
      const { kubectl } = installed.env;
      for (const kind of ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration']) {
        const config = await getJson<Json>(kubectl, [kind, 'mcp-admission']);
        for (const webhook of (config.webhooks as Json[]).filter((w) => w.namespaceSelector?.matchExpressions)) {
          const excluded = (webhook.namespaceSelector.matchExpressions as Json[]).flatMap((e) => (e.operator === 'NotIn' ? e.values : []));
          assert.ok(excluded.includes(testCase.namespace), `${webhook.name} does not exclude ${testCase.namespace}: ${excluded}`);
          if (testCase.namespace !== 'mcp-admission') assert.ok(!excluded.includes('mcp-admission'), `${webhook.name} still excludes mcp-admission`);
        }
      }
      const bindings = await getJson<{ items: Json[] }>(kubectl, ['clusterrolebindings', '-l', 'app.kubernetes.io/name=mcp-admission']);
      assert.ok(bindings.items.length > 0);
      for (const binding of bindings.items) {
        for (const subject of binding.subjects as Json[]) assert.equal(subject.namespace, testCase.namespace, binding.metadata.name);
      }
      for (const pod of installed.pods) assert.equal(pod.env.POD_NAMESPACE, testCase.namespace);
      // The webhook's own namespace is never judged: not by the API server
      // (namespaceSelector) and not in process (POD_NAMESPACE).
      const own = sseServer(testCase.namespace, 'own');
      own.spec.strategy = { type: 'Recreate' };
      const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: manifest(own) });
      assert.equal(result.code, 0, result.stderr);
    });

    it('an SSE Deployment is stored with the SSE settings', () => {
      assert.ok(admitted, 'no MCP object was admitted');
      assert.deepEqual(admitted.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } });
      assert.equal(admitted.spec.template.spec.terminationGracePeriodSeconds, 120);
      assert.match(admitted.metadata.annotations[APPLIED], /maxUnavailable 0/);
    });

    it("the README's Verify commands show the applied annotation", async (t) => {
      assert.ok(admitted, 'no MCP object was admitted');
      const runs = await runCommands(documentedCommands('verify'), installed.shell);
      t.diagnostic(`transcript:\n${transcript(runs)}`);
      for (const run of runs) assert.equal(run.code, 0, transcript(runs));
      assert.match(runs.at(-1)?.output ?? '', /^SSE settings: strategy RollingUpdate\(maxSurge 25%, maxUnavailable 0\); terminationGracePeriodSeconds 120$/m);
    });

    it('a Recreate SSE Deployment is refused with the fix', async () => {
      const recreate = sseServer(APP_NAMESPACE, 'legacy');
      recreate.spec.strategy = { type: 'Recreate' };
      const result = await installed.env.kubectl(['apply', '-f', '-'], { input: manifest(recreate) });
      assert.notEqual(result.code, 0);
      assert.ok(result.stderr.includes(DENIED_BY), result.stderr);
      assert.match(result.stderr, /spec\.strategy\.type: Recreate/);
    });

    it('the prober Deployment runs `probe --watch` with its RBAC, and its /metrics has the prober metrics', async (t) => {
      assert.ok(admitted, 'no MCP object was admitted');
      const { kubectl } = installed.env;
      const deployment = await getJson<Json>(kubectl, ['deployment', PROBER, '-n', testCase.namespace]);
      const container = deployment.spec.template.spec.containers[0] as Json;
      const port = (container.ports as Json[]).find((p) => p.name === 'metrics')?.containerPort as number;
      assert.equal(port, 9090);
      // Ready means its readiness probe (/healthz on the metrics port) answered.
      const pod = await startProberPod(installed, currentNetwork());
      t.diagnostic(`prober stand-in ${pod.name} at ${pod.ip}: ${pod.argv.join(' ')}`);
      assert.deepEqual(pod.argv.slice(2), ['probe', '--watch', '--metrics-port', '9090']);
      // Its first judged pass runs at start, with the ServiceAccount's token
      // and RBAC; wait for it to finish (an event, not a duration).
      let text = '';
      for (const deadline = performance.now() + 120_000; ; await sleep(500)) {
        const exited = pod.process.exitStatus();
        assert.equal(exited, undefined, `the prober exited:\n${pod.logTail()}`);
        text = (await httpGet(pod.ip, port, '/metrics')).body;
        if (/^mcp_admission_prober_passes_total\{result="(success|failure)"\} [1-9]/m.test(text)) break;
        assert.ok(performance.now() < deadline, `no prober pass finished:\n${pod.logTail()}\n${text}`);
      }
      assert.match(text, /^mcp_admission_prober_passes_total\{result="success"\} [1-9]/m, `the first pass failed:\n${pod.logTail()}`);
      assert.match(text, /^mcp_admission_prober_passes_total\{result="failure"\} 0$/m);
      const lastSuccess = Number(/^mcp_admission_prober_last_success_timestamp_seconds (\S+)$/m.exec(text)?.[1]);
      assert.ok(lastSuccess > Date.now() / 1000 - 600, `last success ${lastSuccess}`);
      assert.match(text, /^# TYPE mcp_admission_noncompliant_objects gauge$/m);
      // Process metrics under their standard names.
      assert.match(text, /^process_resident_memory_bytes \d/m);
      assert.equal((await httpGet(pod.ip, port, '/healthz')).status, 200);
      // What Prometheus will read is well-formed. prom-client's standard
      // Node.js gauges end in _total, as test/integration/metrics-scrape.test.ts
      // allows for serve's: dashboards know them by those names.
      const check = spawnSync(toolPath('promtool'), ['check', 'metrics'], { input: text, encoding: 'utf8' });
      const upstream = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'].map(
        (name) => `${name} non-counter metrics should not have "_total" suffix`,
      );
      const findings = `${check.stdout}${check.stderr}`.trim().split('\n').filter(Boolean);
      assert.deepEqual(findings.filter((line) => !upstream.includes(line)), [], `promtool check metrics:\n${findings.join('\n')}`);
      t.diagnostic(text.split('\n').filter((l) => l.startsWith('mcp_admission_') || l.startsWith('process_resident_memory_bytes')).join('\n'));
    });

    testCase.more?.(() => installed);
  });
}

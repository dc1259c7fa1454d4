/**
 * The webhook under outages, on a real API server (issue 11, row 1): it is
 * ready, and decides reviews, only with the cluster's policies in force. With
 * RBAC refusing its list, or the API server unreachable, at start, /readyz
 * fails and a review that reaches it anyway is answered 503, never decided
 * with built-in defaults; the first successful list makes it ready. (That the
 * last good policies stay in force once the API server goes away later is
 * test/e2e/policy.test.ts.) Rows 3 and 7 need no API server:
 * test/integration/hostile-tenant.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { manifest, mustSucceed, REPO_ROOT, startE2E, type E2E } from '../support/harness.ts';
import { issue } from '../support/harness/pki.ts';
import { freePorts } from '../support/harness/ports.ts';
import { startProcess, type ManagedProcess } from '../support/harness/processes.ts';
import { generateWebhookCertificates, type WebhookCertificates } from '../support/harness/webhook.ts';
import { mcpDeployment } from '../support/objects.ts';

const NS = 'tenant-a';
const READER = 'mcp-admission-policy-reader';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Serve {
  process: ManagedProcess;
  get(path: string): Promise<number>;
  /** POSTs a CREATE review of an SSE Deployment in {@link NS} to /mutate; the AdmissionReview answer. */
  mutate(): Promise<{ status: number; response: { allowed: boolean; status?: { code: number; message: string }; patch?: string } }>;
}

/** `mcp-admission serve` reading policies through `kubeconfig`, started without waiting for readiness. */
async function serve(dir: string, certificates: WebhookCertificates, kubeconfig: string): Promise<Serve> {
  const [port, metricsPort] = (await freePorts(2)) as [number, number];
  const proc = startProcess({
    name: 'mcp-admission serve',
    command: join(REPO_ROOT, 'node_modules/.bin/node'),
    args: [join(REPO_ROOT, 'src/cli/main.ts'), 'serve', '--port', String(port), '--metrics-port', String(metricsPort),
      '--tls-cert', certificates.cert, '--tls-key', certificates.key, '--shutdown-delay-seconds', '0', '--kubeconfig', kubeconfig],
    cwd: REPO_ROOT,
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'KUBECONFIG' && !name.startsWith('MCP_ADMISSION_'))),
    logFile: join(dir, `serve-${port}.log`),
  });
  const ca = readFileSync(certificates.caCert);
  const call = (method: string, path: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method, ca, timeout: 5000, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    });
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'outage-1', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, namespace: NS, operation: 'CREATE', object: mcpDeployment('weather', { namespace: NS, annotations: { protocol: 'sse' } }) },
  };
  const started: Serve = {
    process: proc,
    get: async (path) => (await call('GET', path)).status,
    mutate: async () => {
      const { status, text } = await call('POST', '/mutate', JSON.stringify(review));
      return { status, response: (JSON.parse(text) as { response: any }).response };
    },
  };
  // Up when /healthz answers (readiness is what the tests look at).
  const deadline = performance.now() + 30_000;
  for (;;) {
    if (await started.get('/healthz').catch(() => 0) === 200) return started;
    assert.ok(performance.now() < deadline, `serve did not come up:\n${proc.logTail()}`);
    await sleep(100);
  }
}

/** The grace period the review's patch sets, or undefined when there is no such operation. */
function patchedGrace(response: { patch?: string }): number | undefined {
  if (!response.patch) return undefined;
  const ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as Array<{ path: string; value: unknown }>;
  return ops.find((op) => op.path === '/spec/template/spec/terminationGracePeriodSeconds')?.value as number | undefined;
}

function kubeconfig(file: string, server: string, ca: string, user: { cert: string; key: string }): string {
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server, 'certificate-authority': ca } }],
      users: [{ name: 'reader', user: { 'client-certificate': user.cert, 'client-key': user.key } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'reader' } }],
      'current-context': 'e2e',
    }),
  );
  return file;
}

describe('outages at start: ready only with the cluster policies in force (issue 11 row 1)', () => {
  let env: E2E;
  let certificates: WebhookCertificates;
  let reader: { cert: string; key: string };
  const running: Serve[] = [];

  before(async () => {
    env = await startE2E({ webhook: false });
    certificates = await generateWebhookCertificates(join(env.dir, 'outage-certs'));
    // A user the API server knows (its client CA signed the certificate) and RBAC grants nothing yet.
    reader = await issue(env.controlPlane.pki.clientCA, env.dir, { name: 'reader', subject: `/CN=${READER}`, usage: 'clientAuth' });
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], {
      input: manifest([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { tenant: 'a' } } },
        {
          apiVersion: 'mcp-admission.dev/v1alpha1',
          kind: 'MCPTransportPolicy',
          metadata: { name: 'tenant-a' },
          spec: { namespaceSelector: { matchLabels: { tenant: 'a' } }, defaults: { terminationGracePeriodSeconds: 450 } },
        },
      ]),
    });
  });
  after(async () => {
    for (const s of running) await s.process.stop();
    await env?.stop();
  });

  it('RBAC refusing the list: not ready and reviews refused, not decided with built-in defaults; ready with the policy once RBAC allows', async () => {
    const webhook = await serve(env.dir, certificates, kubeconfig(join(env.dir, 'reader.kubeconfig'), env.controlPlane.url, env.controlPlane.pki.servingCA.cert, reader));
    running.push(webhook);
    // Several failed lists (one a second) before looking.
    await sleep(3000);
    assert.equal(await webhook.get('/readyz'), 503, '/readyz while every list is refused');
    assert.ok(/cannot list policies or namespaces yet/.test(webhook.process.logTail(50)), 'the refused list is logged');
    const refused = await webhook.mutate();
    assert.equal(refused.response.allowed, false, `decided without policies: ${JSON.stringify(refused.response)}`);
    assert.equal(refused.response.status?.code, 503);
    assert.match(refused.response.status?.message ?? '', /cannot decide yet: policies are not loaded/);

    await mustSucceed(env.kubectl, ['create', 'clusterrole', READER, '--verb=get,list,watch', '--resource=mcptransportpolicies.mcp-admission.dev,namespaces']);
    await mustSucceed(env.kubectl, ['create', 'clusterrolebinding', READER, `--clusterrole=${READER}`, `--user=${READER}`]);
    // Lists are retried every second; the bound is generous for a loaded machine.
    const deadline = performance.now() + 45_000;
    while ((await webhook.get('/readyz')) !== 200) {
      assert.ok(performance.now() < deadline, `not ready 45 s after RBAC allowed the list:\n${webhook.process.logTail(20)}`);
      await sleep(100);
    }
    const decided = await webhook.mutate();
    assert.equal(decided.response.allowed, true);
    assert.equal(patchedGrace(decided.response), 450, 'the namespace policy is in force from the first ready moment');
  });

  it('API server unreachable at start: not ready and reviews refused', async () => {
    const [closedPort] = (await freePorts(1)) as [number];
    const webhook = await serve(env.dir, certificates, kubeconfig(join(env.dir, 'unreachable.kubeconfig'), `https://127.0.0.1:${closedPort}`, env.controlPlane.pki.servingCA.cert, reader));
    running.push(webhook);
    await sleep(3000);
    assert.equal(await webhook.get('/readyz'), 503);
    assert.equal(await webhook.get('/healthz'), 200, 'alive: a restart would not help');
    const refused = await webhook.mutate();
    assert.equal(refused.response.allowed, false);
    assert.equal(refused.response.status?.code, 503);
  });
});

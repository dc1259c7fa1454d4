/**
 * What `serve` loads to talk to the API server (issue 13): importing
 * @kubernetes/client-node's KubeConfig loads its whole generated API (about
 * 41 MB of RSS), so serve talks to the API server through a client of its
 * own (src/kubernetes) and must load no client-node module at all; with
 * static credentials it calls over node:https, so no undici module either
 * (undici alone is about 21 MB of RSS to import).
 *
 * serve runs with every Kubernetes-facing part on a real kube-apiserver:
 * policies and namespaces from the cluster (informers), the front-door
 * facts (informers), self-managed certificates (the Secret written by the
 * Lease holder and watched, the webhook configurations read and patched),
 * both Leases, and policy status written. A preload using Node's module
 * hooks (test/support/record-modules.ts) records every module URL the
 * process loads; once all of that has happened, none may be client-node's.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureNamespace, getJson, REPO_ROOT, startE2E, type E2E } from '../support/harness.ts';
import { freePorts } from '../support/harness/ports.ts';
import { startProcess, type ManagedProcess } from '../support/harness/processes.ts';

type Json = Record<string, any>;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const NAMESPACE = 'mcp-admission';

/** /readyz's status; the certificate is self-managed, so its CA is not known here (only the status matters). */
function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Polls `check` every 200 ms until it returns a value; fails with `what` and the serve log after 60 s. */
async function until<T>(what: string, serve: ManagedProcess, check: () => Promise<T | undefined>): Promise<T> {
  for (const started = performance.now(); ; await sleep(200)) {
    const value = await check();
    if (value !== undefined) return value;
    assert.equal(serve.exitStatus(), undefined, `serve exited while waiting for ${what}:\n${serve.logTail()}`);
    assert.ok(performance.now() - started < 60_000, `${what}: not within 60 s\n${serve.logTail()}`);
  }
}

describe('serve on a real API server', () => {
  let env: E2E;
  let serve: ManagedProcess | undefined;
  let moduleLog: string;
  before(async () => {
    env = await startE2E({ webhook: false });
    await ensureNamespace(env.kubectl, NAMESPACE);
  });
  after(async () => {
    await serve?.stop();
    await env?.stop();
  });

  it('loads no @kubernetes/client-node and no undici module with every Kubernetes-facing part running', async (t) => {
    const [port, metricsPort] = (await freePorts(2)) as [number, number];
    moduleLog = join(env.dir, 'serve-modules.log');
    serve = startProcess({
      name: 'mcp-admission serve',
      command: join(REPO_ROOT, 'node_modules/.bin/node'),
      args: [
        '--import', join(REPO_ROOT, 'test/support/record-modules.ts'),
        join(REPO_ROOT, 'src/cli/main.ts'),
        'serve',
        '--port', String(port),
        '--metrics-port', String(metricsPort),
        '--kubeconfig', env.controlPlane.kubeconfig,
        '--policy-source', 'cluster',
        '--certificates', 'self-managed',
        '--namespace', NAMESPACE,
        '--shutdown-delay-seconds', '0',
      ],
      cwd: REPO_ROOT,
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'KUBECONFIG' && !name.startsWith('MCP_ADMISSION_'))),
        MCP_ADMISSION_MODULE_LOG: moduleLog,
      },
      logFile: join(env.dir, 'serve.log'),
    });
    const running = serve;
    await until('/readyz 200', running, async () => ((await readyz(port)) === 200 ? true : undefined));
    // Each Kubernetes-facing part has done its work through the API server.
    const secret = await until('the certificate Secret', running, () =>
      getJson<Json>(env.kubectl, ['secret', 'mcp-admission-webhook-tls', '-n', NAMESPACE]).then((s) => (s.data?.['tls.crt'] ? s : undefined), () => undefined),
    );
    assert.ok(secret.data['ca.crt']);
    for (const lease of ['mcp-admission-webhook-certificates', 'mcp-admission-webhook-status']) {
      await until(`Lease ${lease} held`, running, () =>
        getJson<Json>(env.kubectl, ['lease', lease, '-n', NAMESPACE]).then((l) => l.spec?.holderIdentity || undefined, () => undefined),
      );
    }
    const policies = await getJson<Json>(env.kubectl, ['mcptransportpolicies']);
    assert.ok(policies.items.length > 0, 'the default policy is installed');
    await until('policy status written', running, async () => {
      const listed = await getJson<Json>(env.kubectl, ['mcptransportpolicies']);
      return listed.items.every((p: Json) => p.status?.conditions?.length > 0) ? true : undefined;
    });
    // serve's log gathers lines and writes them within a second: wait for the line rather than read it at once.
    await until('the front-door facts synced', running, async () => (/front-door facts synced from the cluster/.test(running.logTail(200)) ? true : undefined));

    const loaded = (await readFile(moduleLog, 'utf8')).split('\n').filter(Boolean);
    const ours = loaded.filter((url) => url.includes('/src/kubernetes/'));
    assert.ok(ours.length > 0, 'the recorder saw serve load its own Kubernetes modules');
    const clientNode = loaded.filter((url) => url.includes('/node_modules/@kubernetes/client-node/'));
    t.diagnostic(`${loaded.length} modules loaded, ${clientNode.length} of @kubernetes/client-node`);
    assert.deepEqual(clientNode.slice(0, 5), [], `serve loaded ${clientNode.length} @kubernetes/client-node modules`);
    const undici = loaded.filter((url) => url.includes('/node_modules/undici/'));
    t.diagnostic(`${undici.length} of undici`);
    assert.deepEqual(undici.slice(0, 5), [], `serve loaded ${undici.length} undici modules`);
  });
});

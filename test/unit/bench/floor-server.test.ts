/**
 * The floor webhooks of `npm run bench:apiserver` (the bare floor and the
 * floor on the building blocks) answer serve's patch for the bench
 * Deployment, so the object the API server stores under either passes the
 * same check as under serve (bench/lib/admission-configs.ts checkStored).
 * The patch is serve's offline decision (the code `serve` runs); each floor
 * runs as the benchmark runs it, a process of its own on real TLS.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fastJsonPatch from 'fast-json-patch';
import { decideOffline } from '../../../src/admission/offline.ts';
import { DevelopmentCertificateSource } from '../../../src/server/certificate-source.ts';
import { staticSettings } from '../../../src/settings/static-source.ts';
import { checkStored } from '../../../bench/lib/admission-configs.ts';
import { parseMetrics, plainMetrics, total } from '../../../bench/lib/kube-api.ts';
import { freePorts } from '../../support/harness/ports.ts';
import { paddedDeploymentReview } from '../../../bench/lib/reviews.ts';
import { serveServerOptions } from '../../../bench/lib/webhook-processes.ts';
import { mcpDeploymentObject } from '../../../bench/lib/workloads.ts';

const object = mcpDeploymentObject('weather', 'tools');
const servePatch = decideOffline(structuredClone(object), { settings: staticSettings(), ownNamespace: 'mcp-admission' }).patch;

test('serve patches the bench Deployment with three operations, and the object as sent fails the check', () => {
  assert.equal(servePatch.length, 3);
  assert.match(checkStored('floor', object) ?? '', /expected made safe/);
});

for (const file of ['floor-server', 'blocks-floor-server']) {
  describe(file, () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-admission-floor-test-'));
    let floor: ChildProcess;
    let port: number;
    let ca: Buffer;
    /** The blocks floor's metrics port (the bare floor has none). */
    let metricsPort = 0;
    /** What the floor wrote on stdout: its port, then (the blocks floor) its log lines. */
    let output = '';

    before(async () => {
      const certificates = new DevelopmentCertificateSource();
      await certificates.start();
      const pair = certificates.current();
      ca = pair.cert;
      writeFileSync(join(dir, 'tls.crt'), pair.cert);
      writeFileSync(join(dir, 'tls.key'), pair.key, { mode: 0o600 });
      writeFileSync(join(dir, 'patch.json'), JSON.stringify(servePatch));
      writeFileSync(join(dir, 'options.json'), JSON.stringify(serveServerOptions()));
      if (file === 'blocks-floor-server') [metricsPort] = (await freePorts(1)) as [number];
      floor = spawn(
        process.execPath,
        [
          new URL(`../../../bench/lib/${file}.ts`, import.meta.url).pathname,
          join(dir, 'tls.crt'),
          join(dir, 'tls.key'),
          '--patch', join(dir, 'patch.json'),
          '--server-options', join(dir, 'options.json'),
          ...(metricsPort ? ['--metrics-port', String(metricsPort)] : []),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      floor.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      port = await new Promise<number>((resolve, reject) => {
        floor.stdout!.once('data', (chunk: string) => resolve((JSON.parse(chunk.split('\n')[0]!) as { port: number }).port));
        floor.once('exit', (code) => reject(new Error(`floor exited with ${code}`)));
      });
    });

    after(() => {
      floor?.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    });

    function review(path: string, overrides: Record<string, unknown> = {}): Promise<{ response: { uid: string; allowed: boolean; patchType?: string; patch?: string } }> {
      const body = paddedDeploymentReview() as Record<string, any>;
      body.request.uid = `uid-${path}`;
      body.request.object = structuredClone(object);
      Object.assign(body.request, overrides);
      return new Promise((resolve, reject) => {
        // servername: the development certificate names localhost.
        const req = request({ host: '127.0.0.1', servername: 'localhost', port, path, method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c));
          res.on('end', () => resolve(JSON.parse(text)));
        });
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
    }

    test("the floor answers serve's patch on /mutate: the patched object passes checkStored for the floor and for serve", async () => {
      const { response } = await review('/mutate');
      assert.equal(response.uid, 'uid-/mutate');
      assert.equal(response.allowed, true);
      assert.equal(response.patchType, 'JSONPatch');
      const patch = JSON.parse(Buffer.from(response.patch!, 'base64').toString('utf8'));
      assert.deepEqual(patch, servePatch);
      const stored = fastJsonPatch.applyPatch(structuredClone(object), patch, true, false).newDocument;
      assert.equal(checkStored('floor', stored), undefined);
      assert.equal(checkStored('mcp-admission', stored), undefined);
    });

    test('the floor allows on /validate, without a patch', async () => {
      const { response } = await review('/validate');
      assert.deepEqual(response, { uid: 'uid-/validate', allowed: true });
    });

    test('the floor lets other kinds through /mutate untouched (the harness probes with a Service)', async () => {
      const { response } = await review('/mutate', { kind: { group: '', version: 'v1', kind: 'Service' } });
      assert.deepEqual(response, { uid: 'uid-/mutate', allowed: true });
    });

    if (file === 'blocks-floor-server') {
      test("the blocks floor writes serve's info line per review, with serve's fields", async () => {
        await review('/mutate', { uid: 'uid-logged', name: 'weather', namespace: 'tools', operation: 'CREATE' });
        // The line is written asynchronously (within a second, src/cli/logger.ts): wait for it.
        let line: Record<string, unknown> | undefined;
        while (!line) {
          line = output
            .split('\n')
            .filter((l) => l.includes('"uid-logged"'))
            .map((l) => JSON.parse(l) as Record<string, unknown>)[0];
          if (!line) await new Promise((r) => floor.stdout!.once('data', r));
        }
        assert.equal(line.msg, 'admission review');
        assert.equal(line.level, 'info');
        assert.deepEqual(
          Object.keys(line).filter((k) => !['level', 'time', 'service', 'msg'].includes(k)),
          ['webhook', 'uid', 'kind', 'namespace', 'name', 'operation', 'dryRun', 'decision', 'durationMs', 'patchOps'],
        );
        assert.equal(line.decision, 'patched');
        assert.equal(line.patchOps, servePatch.length);
      });

      test("the blocks floor counts each review in serve's histogram, with serve's labels, on its metrics port", async () => {
        const count = async () =>
          total(parseMetrics(await plainMetrics(metricsPort)), 'mcp_admission_request_duration_seconds_count', (l) => l.webhook === 'validate' && l.decision === 'allowed' && l.kind === 'Deployment' && l.operation === 'CREATE' && l.dry_run === 'false');
        const before = await count();
        await review('/validate', { uid: 'uid-counted', operation: 'CREATE' });
        assert.equal(await count(), before + 1);
      });

      test('the blocks floor refuses a malformed envelope as serve decodes it', async () => {
        const answer = (await review('/validate', { operation: 'FROB' })) as unknown as { error?: string; response?: unknown };
        assert.equal(answer.response, undefined);
        assert.match(answer.error ?? '', /^malformed AdmissionReview: request\.operation: /);
      });
    }
  });
}

/**
 * CA rotation exactly as certs/README.md tells a user to do it, while
 * kubectl requests keep flowing through the webhook: a two-CA caBundle,
 * then the new certificate swapped into a Secret-volume-like directory the
 * way the kubelet does it (one atomic rename of the `..data` symlink), then
 * the old CA dropped. Not one request may fail, and at every step a new
 * connection trusting the bundle then in force accepts the served certificate.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, symlink } from 'node:fs/promises';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { mustSucceed, startE2E, type E2E, type Kubectl } from '../support/harness.ts';
import {
  createWebhookServer,
  generateWebhookCertificates,
  installWebhookConfigurations,
  type WebhookCertificates,
  type WebhookServer,
} from '../support/harness/webhook.ts';
import { mcpService } from '../support/objects.ts';

/**
 * A directory laid out like a mounted Secret: tls.crt -> ..data/tls.crt,
 * ..data -> ..<version>/. {@link swap} replaces both files in one rename.
 */
class SecretVolume {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
  private version = 0;
  constructor(dir: string) {
    this.dir = dir;
    this.cert = join(dir, 'tls.crt');
    this.key = join(dir, 'tls.key');
  }
  async init(pair: WebhookCertificates): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.swap(pair);
    await symlink('..data/tls.crt', this.cert);
    await symlink('..data/tls.key', this.key);
  }
  async swap(pair: WebhookCertificates): Promise<void> {
    const previous = `..v${this.version}`;
    const next = `..v${++this.version}`;
    await mkdir(join(this.dir, next));
    await Promise.all([copyFile(pair.cert, join(this.dir, next, 'tls.crt')), copyFile(pair.key, join(this.dir, next, 'tls.key'))]);
    await symlink(next, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    await rm(join(this.dir, previous), { recursive: true, force: true });
  }
}

/** SHA-256 fingerprint of the certificate the server presents on 127.0.0.1:port. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // Only the presented certificate is read here; trust is the API server's job.
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}

/**
 * Whether a new TLS connection that trusts `caBundle` (base64 PEM, as in a
 * webhook configuration) accepts what 127.0.0.1:port serves: what the API
 * server checks each time it opens a connection to the webhook.
 */
function trusts(port: number, caBundle: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca: Buffer.from(caBundle, 'base64') }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** The README's step 2 and 4: `kubectl patch` the caBundle of every webhook. */
async function patchCaBundle(kubectl: Kubectl, bundle: string): Promise<void> {
  const replace = (i: number) => ({ op: 'replace', path: `/webhooks/${i}/clientConfig/caBundle`, value: bundle });
  await mustSucceed(kubectl, ['patch', 'mutatingwebhookconfiguration', 'mcp-admission', '--type=json', '-p', JSON.stringify([replace(0)])]);
  await mustSucceed(kubectl, ['patch', 'validatingwebhookconfiguration', 'mcp-admission', '--type=json', '-p', JSON.stringify([replace(0), replace(1)])]);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('CA rotation as certs/README.md describes it', () => {
  let env: E2E;
  let webhook: WebhookServer | undefined;

  before(async () => {
    env = await startE2E({ webhook: false });
  });
  after(async () => {
    await webhook?.stop();
    await env?.stop();
  });

  it('fails no request while the webhook moves to a new CA', async () => {
    const volume = new SecretVolume(join(env.dir, 'secret-volume'));
    webhook = await createWebhookServer({
      dir: env.dir,
      args: ['--kubeconfig', env.controlPlane.kubeconfig],
      tls: { cert: volume.cert, key: volume.key },
    });
    const old = webhook.certificates;
    await volume.init(old);
    await webhook.start();
    await installWebhookConfigurations(env.kubectl, webhook.port, old.caBundle);

    // Requests through both webhooks, one after another, until told to stop.
    let requests = 0;
    const failures: string[] = [];
    let stop = false;
    const service = JSON.stringify(mcpService('rotation', { namespace: 'default', annotations: { protocol: 'sse' } }));
    // Each stage of the rotation is held until requests have gone through
    // it, so the load covers every stage however slow the machine is.
    const throughStage = async (minimumMs: number) => {
      const before = requests;
      await sleep(minimumMs);
      const waited = performance.now();
      while (requests < before + 2) {
        assert.ok(performance.now() - waited < 60_000, 'no request went through this stage of the rotation within 60 s');
        await sleep(50);
      }
    };
    const load = (async () => {
      while (!stop) {
        const result = await env.kubectl(['create', '--dry-run=server', '-o', 'name', '-f', '-'], { input: service });
        requests++;
        if (result.code !== 0) failures.push(result.stderr.trim());
      }
    })();

    try {
      await throughStage(1000);
      // 1. A new CA and a serving certificate from it; the bundle trusts both CAs.
      const next = await generateWebhookCertificates(join(env.dir, 'next'), ['--new-ca', '--trust-also', old.caCert]);
      // 2. The two-CA bundle goes in first, and the API server gets a moment to load it.
      await patchCaBundle(env.kubectl, next.caBundle);
      await throughStage(2000);
      // 3. The Secret changes: the kubelet swaps the volume, the server reloads.
      const wanted = new X509Certificate(await readFile(next.cert)).fingerprint256;
      const swapped = performance.now();
      await volume.swap(next);
      while ((await servedFingerprint(webhook.port)) !== wanted) {
        assert.ok(performance.now() - swapped < 30_000, 'the server did not load the new certificate within 30 s');
        await sleep(50);
      }
      process.stderr.write(`e2e: new certificate served ${Math.round(performance.now() - swapped)} ms after the swap\n`);
      // The API server keeps using connections it opened before the swap, so
      // the load alone cannot tell whether the bundle is right: check what a
      // new connection would see. The old bundle alone would refuse it.
      assert.equal(await trusts(webhook.port, next.caBundle), true, 'the two-CA bundle trusts the new certificate');
      assert.equal(await trusts(webhook.port, old.caBundle), false, 'the old CA alone does not');
      await throughStage(2000);
      // 4. The old CA leaves the bundle.
      const newOnly = Buffer.from(await readFile(next.caCert)).toString('base64');
      await patchCaBundle(env.kubectl, newOnly);
      assert.equal(await trusts(webhook.port, newOnly), true);
      await throughStage(2000);
    } finally {
      stop = true;
      await load;
    }
    process.stderr.write(`e2e: CA rotation under load: ${requests} requests, ${failures.length} failed\n`);
    assert.deepEqual(failures, []);
    assert.ok(requests >= 8, `only ${requests} requests went through during the rotation`);
  });
});

/**
 * The rotator against an in-memory API with the API server's optimistic
 * concurrency (409 on a stale resourceVersion or an existing name) and a
 * clock the test moves: real certificates, simulated time. The end-to-end
 * proof on a real API server is test/e2e/self-managed-certificates.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { pino } from 'pino';
import { CertificateRotator, type CertificateApi, type WebhookConfigurationBundles } from '../../../src/certificates/rotator.ts';
import { readSecret, storedFacts } from '../../../src/certificates/stored.ts';
import { parseCertificates, serviceHosts } from '../../../src/certificates/x509.ts';
import type { RotationPolicy } from '../../../src/certificates/rotation.ts';

const S = 1000;
const conflict = (what: string): Error => Object.assign(new Error(`${what}: conflict`), { code: 409 });

/** Secret and two configurations (one with two entries), versioned like the API server does. */
class MemoryApi implements CertificateApi {
  secret: V1Secret | undefined;
  configs: WebhookConfigurationBundles[] = [
    { kind: 'MutatingWebhookConfiguration', name: 'mcp-admission', resourceVersion: '1', bundles: [undefined] },
    { kind: 'ValidatingWebhookConfiguration', name: 'mcp-admission', resourceVersion: '1', bundles: [undefined, undefined] },
  ];
  /** Every bundle the configurations held, with the time it went in. */
  bundleHistory: Array<{ at: number; bundle: string }> = [];
  secretWrites = 0;
  private version = 1;
  private readonly clock: () => number;
  constructor(clock: () => number) {
    this.clock = clock;
  }
  private next(): string {
    return String(++this.version);
  }
  async readSecret() {
    return this.secret && structuredClone(this.secret);
  }
  async createSecret(secret: V1Secret) {
    if (this.secret) throw conflict('AlreadyExists');
    this.secretWrites++;
    this.secret = { ...structuredClone(secret), metadata: { ...secret.metadata, resourceVersion: this.next() } };
    return this.secret;
  }
  async replaceSecret(secret: V1Secret) {
    if (secret.metadata?.resourceVersion !== this.secret?.metadata?.resourceVersion) throw conflict('Secret');
    this.secretWrites++;
    this.secret = { ...structuredClone(secret), metadata: { ...secret.metadata, resourceVersion: this.next() } };
    return this.secret;
  }
  async readConfigurations() {
    return structuredClone(this.configs);
  }
  async injectBundle(config: WebhookConfigurationBundles, indexes: number[], caBundle: string) {
    const stored = this.configs.find((c) => c.kind === config.kind && c.name === config.name);
    if (!stored || stored.resourceVersion !== config.resourceVersion) throw conflict(config.kind);
    for (const i of indexes) stored.bundles[i] = caBundle;
    stored.resourceVersion = this.next();
    this.bundleHistory.push({ at: this.clock(), bundle: caBundle });
  }
}

const policy: RotationPolicy = {
  caLifetimeMs: 600 * S,
  caRenewBeforeMs: 200 * S,
  servingLifetimeMs: 120 * S,
  servingRenewBeforeMs: 40 * S,
  propagationMs: 10 * S,
  hosts: serviceHosts('mcp-admission-webhook', 'ns'),
};

function rotator(api: CertificateApi, clock: () => number, isLeader = () => true): CertificateRotator {
  return new CertificateRotator({
    api,
    secretName: 'tls',
    namespace: 'ns',
    configurations: ['mcp-admission'],
    policy,
    checkIntervalMs: 60 * S,
    isLeader,
    logger: pino({ level: 'silent' }),
    now: () => new Date(clock()),
  });
}

/** The CAs of a base64 bundle. */
const cas = (b64: string): X509Certificate[] => parseCertificates(Buffer.from(b64, 'base64').toString());

describe('CertificateRotator', () => {
  it('creates, injects into every entry, renews and rotates the CA with an overlap; the served certificate is always trusted', async () => {
    let t = Date.parse('2026-06-01T00:00:00Z');
    const clock = (): number => t;
    const api = new MemoryApi(clock);
    const r = rotator(api, clock);
    let until = await r.reconcile();
    const first = readSecret(api.secret as V1Secret);
    assert.equal(cas(api.configs[0]!.bundles[0]!).length, 1);
    assert.ok(api.configs.every((c) => c.bundles.every((b) => b === Buffer.from(first.caBundle).toString('base64'))));
    assert.deepEqual(storedFacts(first).serving?.names, policy.hosts);

    const servedSerials = new Set<string>();
    const caPrints = new Set<string>();
    // Simulated time, a second a step: every certificate the Secret held
    // within the last propagation window (a replica may still serve it) and
    // not yet expired must chain to a CA in every webhook entry's bundle.
    const lastHeld = new Map<string, { at: number; cert: X509Certificate }>();
    let seenVersion = '';
    const end = t + 1500 * S;
    while (t < end) {
      t += S;
      if (t >= until.getTime()) until = await r.reconcile();
      const secret = api.secret as V1Secret;
      if (secret.metadata?.resourceVersion !== seenVersion) {
        seenVersion = secret.metadata?.resourceVersion ?? '';
        const stored = readSecret(secret);
        for (const ca of parseCertificates(stored.caBundle)) caPrints.add(ca.fingerprint256);
        const [cert] = parseCertificates(stored.cert);
        lastHeld.set(cert!.serialNumber, { at: t, cert: cert! });
        servedSerials.add(cert!.serialNumber);
      }
      const current = [...lastHeld.values()].at(-1)!;
      current.at = t;
      const bundles = [...new Set(api.configs.flatMap((c) => c.bundles))].map((b) => cas(b!));
      for (const held of lastHeld.values()) {
        if (held.at <= t - policy.propagationMs || held.cert.validToDate.getTime() <= t) continue;
        for (const bundle of bundles) {
          assert.ok(bundle.some((ca) => held.cert.checkIssued(ca) && held.cert.verify(ca.publicKey)), `${held.cert.serialNumber} is not trusted at +${(t - end) / S + 1500} s`);
        }
      }
      assert.ok(current.cert.validToDate.getTime() > t, 'the stored serving certificate expired');
    }
    assert.ok(caPrints.size >= 3, `CA rotated ${caPrints.size - 1} times`);
    assert.ok(servedSerials.size >= 8, `serving certificate issued ${servedSerials.size} times`);
    // Each bundle is a PEM sequence Go's pem.Decode reads whole (kube-apiserver
    // refuses "unable to parse bytes as PEM block" otherwise): every block on
    // lines of its own, nothing in between.
    const strictPem = /^(?:-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n)+$/;
    for (const { bundle } of api.bundleHistory) assert.match(Buffer.from(bundle, 'base64').toString(), strictPem);
    // The old CA left again: the bundle holds one CA once the overlap ended.
    assert.ok(api.bundleHistory.some((h) => cas(h.bundle).length === 2));
    assert.ok(api.bundleHistory.some((h, i) => i > 0 && cas(h.bundle).length === 1));
  });

  it('two replicas racing both as leader store one CA: the loser adopts it', async () => {
    const t = Date.parse('2026-06-01T00:00:00Z');
    const api = new MemoryApi(() => t);
    const [a, b] = [rotator(api, () => t), rotator(api, () => t)];
    await Promise.all([a.reconcile(), b.reconcile()]);
    const bundle = readSecret(api.secret as V1Secret).caBundle;
    assert.equal(parseCertificates(bundle).length, 1);
    for (const config of api.configs) for (const b64 of config.bundles) assert.equal(b64, Buffer.from(bundle).toString('base64'));
    // And a third run changes nothing.
    const writes = api.secretWrites;
    await rotator(api, () => t).reconcile();
    assert.equal(api.secretWrites, writes);
  });

  it('a replica that is not leading writes nothing', async () => {
    const t = Date.parse('2026-06-01T00:00:00Z');
    const api = new MemoryApi(() => t);
    await assert.rejects(rotator(api, () => t, () => false).reconcile());
    assert.equal(api.secret, undefined);
  });
});

/**
 * The I/O around {@link planRotation}: while this replica holds the Lease,
 * read the Secret and the webhook configurations, plan one step, write it,
 * and plan again until the plan says wait. Every write is optimistic (a
 * create, or a replace or patch that names the resourceVersion read), so a
 * replica that lost the Lease without knowing it, or a second one racing,
 * fails with a conflict instead of overwriting: it then reads again and
 * adopts what is stored. That is how two replicas never write two CAs.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { planRotation, type RotationPolicy, type RotationStep } from './rotation.ts';
import { bundleAuthorities, bundleDigest, readSecret, storedFacts, writeSecret, type StoredCertificates } from './stored.ts';
import { createAuthority, fingerprint, issueServing, pemBundle, summarize, type PemPair } from './x509.ts';

/** A webhook configuration the bundle goes into. */
export interface WebhookConfigurationBundles {
  kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';
  name: string;
  resourceVersion: string;
  /** Each webhook entry's `clientConfig.caBundle` (base64), in order. */
  bundles: Array<string | undefined>;
}

/** The API calls the rotator makes. Failures carry the HTTP status as `code`. */
export interface CertificateApi {
  readSecret(): Promise<V1Secret | undefined>;
  createSecret(secret: V1Secret): Promise<V1Secret>;
  replaceSecret(secret: V1Secret): Promise<V1Secret>;
  /** The managed configurations that exist. */
  readConfigurations(): Promise<WebhookConfigurationBundles[]>;
  /** Sets `caBundle` on the entries at `indexes`, only if the configuration is still at `resourceVersion`. */
  injectBundle(config: WebhookConfigurationBundles, indexes: number[], caBundle: string): Promise<void>;
}

/** Options for {@link CertificateRotator}. */
export interface CertificateRotatorOptions {
  api: CertificateApi;
  secretName: string;
  namespace: string;
  /** Names of the managed webhook configurations; every one must exist before a bundle counts as injected. */
  configurations: string[];
  policy: RotationPolicy;
  /** Longest wait between checks while leading (webhook configurations re-applied without caBundle are mended then). */
  checkIntervalMs: number;
  isLeader: () => boolean;
  logger: Logger;
  now?: () => Date;
  /** Called after each step written. */
  onStep?: (step: RotationStep) => void;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const codeOf = (err: unknown): number | undefined => (err as { code?: number }).code;

/** Stops the rotator's steps when this replica no longer holds the Lease. */
class NotLeader extends Error {}

/** The leader's certificate work; see the module comment. */
export class CertificateRotator {
  private readonly options: CertificateRotatorOptions;
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(options: CertificateRotatorOptions) {
    this.options = options;
    this.now = options.now ?? (() => new Date());
  }

  /** Checks now and then on schedule; does nothing while not leading. */
  start(): void {
    this.schedule(0);
  }

  /** Checks now (a new leader calls this at once). */
  kick(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.running) {
        this.schedule(200);
        return;
      }
      this.running = this.tick().finally(() => {
        this.running = undefined;
      });
    }, Math.max(0, delayMs));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let next = this.options.checkIntervalMs;
    if (this.options.isLeader()) {
      try {
        const until = await this.reconcile();
        next = Math.min(next, until.getTime() - this.now().getTime());
      } catch (err) {
        if (!(err instanceof NotLeader)) {
          this.options.logger.warn({ err: (err as Error).message }, 'certificate rotation step failed; retrying');
          next = Math.min(next, 2000);
        }
      }
    }
    this.schedule(Math.max(next, 100));
  }

  /**
   * Plans and writes steps until the plan says wait; resolves to when to
   * look again. A conflict means someone else wrote: read again and replan.
   */
  async reconcile(): Promise<Date> {
    for (let round = 0; round < 20; round++) {
      if (!this.options.isLeader()) throw new NotLeader();
      const secret = await this.options.api.readSecret();
      const stored = secret ? readSecret(secret) : undefined;
      const configurations = await this.options.api.readConfigurations();
      const now = this.now();
      const step = planRotation({
        now,
        ...(stored ? { stored: storedFacts(stored) } : {}),
        bundleInjected: stored !== undefined && this.injected(configurations, stored.caBundle),
        policy: this.options.policy,
      });
      if (step.action === 'wait') return step.until;
      if (!this.options.isLeader()) throw new NotLeader();
      try {
        await this.apply(step, now, secret, stored, configurations);
        this.options.logger.info({ step: step.action, reason: step.reason }, 'certificate rotation step');
        this.options.onStep?.(step);
      } catch (err) {
        if (codeOf(err) !== 409) throw err;
        this.options.logger.info({ step: step.action }, 'certificate Secret or webhook configuration changed meanwhile; reading it again');
      }
    }
    throw new Error('certificate rotation did not settle in 20 steps');
  }

  private injected(configurations: WebhookConfigurationBundles[], caBundle: string): boolean {
    const want = b64(caBundle);
    const names = new Set(configurations.map((c) => c.name));
    return (
      this.options.configurations.every((n) => names.has(n)) &&
      configurations.every((c) => c.bundles.every((b) => b === want))
    );
  }

  private async apply(
    step: Exclude<RotationStep, { action: 'wait' }>,
    now: Date,
    secret: V1Secret | undefined,
    stored: StoredCertificates | undefined,
    configurations: WebhookConfigurationBundles[],
  ): Promise<void> {
    const { policy, secretName, namespace, api } = this.options;
    const caValidity = { notBefore: now, notAfter: new Date(now.getTime() + policy.caLifetimeMs) };
    const issue = (ca: PemPair): Promise<PemPair> => {
      const caNotAfter = summarize(ca.cert)?.notAfter ?? caValidity.notAfter;
      const notAfter = new Date(Math.min(now.getTime() + policy.servingLifetimeMs, caNotAfter.getTime()));
      return issueServing(ca, policy.hosts, { notBefore: now, notAfter });
    };
    const write = (next: StoredCertificates): Promise<V1Secret> => api.replaceSecret(writeSecret(next, secretName, namespace, secret));

    switch (step.action) {
      case 'create': {
        const ca = await createAuthority(caValidity);
        const serving = await issue(ca);
        await api.createSecret(writeSecret({ caBundle: pemBundle([ca.cert]), caKey: ca.key, cert: serving.cert, key: serving.key }, secretName, namespace));
        this.logIssued('CA created', ca.cert);
        this.logIssued('serving certificate issued', serving.cert);
        return;
      }
      case 'add-authority': {
        if (!stored) throw new Error('no Secret to add a CA to');
        const ca = await createAuthority(caValidity);
        // CAs still valid stay, for the overlap; expired ones trust nothing.
        const kept = bundleAuthorities(stored.caBundle).filter((c) => c.validToDate.getTime() > now.getTime());
        await write({ ...stored, caBundle: pemBundle([ca.cert, ...kept]), caKey: ca.key });
        this.logIssued('CA created', ca.cert);
        return;
      }
      case 'inject-bundle': {
        if (!stored) throw new Error('no Secret to inject');
        const want = b64(stored.caBundle);
        const missing = this.options.configurations.filter((n) => !configurations.some((c) => c.name === n));
        if (missing.length > 0) throw new Error(`webhook configuration ${missing.join(', ')} not found`);
        for (const config of configurations) {
          const indexes = config.bundles.flatMap((b, i) => (b === want ? [] : [i]));
          if (indexes.length > 0) await api.injectBundle(config, indexes, want);
        }
        await write({ ...stored, injectedBundle: bundleDigest(stored.caBundle), injectedAt: this.now() });
        return;
      }
      case 'record-injection': {
        if (!stored) throw new Error('no Secret to record in');
        await write({ ...stored, injectedBundle: bundleDigest(stored.caBundle), injectedAt: now });
        return;
      }
      case 'issue-serving': {
        if (!stored) throw new Error('no Secret to issue from');
        const facts = storedFacts(stored);
        const ca = bundleAuthorities(stored.caBundle).find((c) => fingerprint(c) === facts.signing);
        if (!ca) throw new Error('no signing CA');
        const serving = await issue({ cert: ca.toString(), key: stored.caKey });
        await write({ ...stored, cert: serving.cert, key: serving.key, ...(step.retireAfter ? { retireAfter: step.retireAfter } : {}) });
        this.logIssued('serving certificate issued', serving.cert);
        return;
      }
      case 'retire-authorities': {
        if (!stored) throw new Error('no Secret to retire from');
        const byPrint = new Map(bundleAuthorities(stored.caBundle).map((c) => [fingerprint(c), c]));
        const caBundle = pemBundle(step.keep.flatMap((f) => byPrint.get(f) ?? []));
        const { retireAfter: _dropped, ...rest } = stored;
        await write({ ...rest, caBundle, ...(step.keep.length > 1 && stored.retireAfter ? { retireAfter: stored.retireAfter } : {}) });
        this.options.logger.info({ kept: step.keep.length }, 'previous CA removed from the bundle');
        return;
      }
    }
  }

  private logIssued(message: string, pem: string): void {
    const summary = summarize(pem);
    this.options.logger.info({ serial: summary?.serial, notAfter: summary?.notAfter.toISOString(), subject: summary?.subject }, message);
  }
}

/**
 * Serving certificates read from the certificate Secret through the API
 * server: a list-watch of that one Secret (field selector on its name, so
 * RBAC can grant it by resourceName), not a mounted volume, so a new pair
 * serves as soon as the API server has it rather than after the kubelet's
 * next volume sync. Like the file source it checks a pair before using it
 * and keeps the last good one; it is not ready until the first pair loads.
 */
import { createSecureContext } from 'node:tls';
import type { V1Secret } from '@kubernetes/client-node';
import { apiPath, type KubeClient } from '../kubernetes/kube-client.ts';
import { ListWatchInformer } from '../kubernetes/list-watch.ts';
import { HeldCertificateSource, type KeyPair } from '../server/certificate-source.ts';

/** Options for {@link SecretCertificateSource}. */
export interface SecretCertificateSourceOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  /** Reports a Secret whose pair cannot be used; the previous pair stays. */
  onError?: (err: Error) => void;
  onReload?: () => void;
  restartDelayMs?: number;
}

/** Reads `tls.crt`/`tls.key` of a Secret into a pair; throws when they are missing or do not match. */
export function pairFromSecret(secret: V1Secret): KeyPair {
  const cert = secret.data?.['tls.crt'];
  const key = secret.data?.['tls.key'];
  if (!cert || !key) throw new Error(`Secret ${secret.metadata?.name ?? ''} has no tls.crt and tls.key yet`);
  const pair = { cert: Buffer.from(cert, 'base64'), key: Buffer.from(key, 'base64') };
  // Throws on a certificate and key that do not belong together.
  createSecureContext(pair);
  return pair;
}

/** See the module comment. */
export class SecretCertificateSource extends HeldCertificateSource {
  private readonly informer: ListWatchInformer<V1Secret>;
  private readonly options: SecretCertificateSourceOptions;
  private first: { resolve: () => void; promise: Promise<void> };
  private stopped = false;

  constructor(options: SecretCertificateSourceOptions) {
    super();
    this.options = options;
    this.informer = new ListWatchInformer<V1Secret>({
      client: options.client,
      path: apiPath('/api/v1', 'namespaces', options.namespace, 'secrets'),
      fieldSelector: `metadata.name=${options.name}`,
      restartDelayMs: options.restartDelayMs ?? 1000,
    });
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.first = { resolve, promise };
    for (const verb of ['add', 'update'] as const) this.informer.on(verb, (secret) => this.load(secret));
    // The informer starts again by itself after a failure.
    this.informer.on('error', (err) => {
      if (!this.stopped) this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /** Resolves once the Secret holds a usable pair (the leader may still be creating it). */
  async start(): Promise<void> {
    // A failed first list is reported through 'error' and retried.
    await this.informer.start();
    await this.first.promise;
  }

  stop(): void {
    this.stopped = true;
    void this.informer.stop();
  }

  private load(secret: V1Secret): void {
    if (secret.metadata?.name !== this.options.name) return;
    let pair: KeyPair;
    try {
      pair = pairFromSecret(secret);
    } catch (err) {
      // Not written yet by the leader, or damaged: keep serving what we have.
      if (this.healthy()) this.options.onError?.(err as Error);
      return;
    }
    if (this.offer(pair, this.options.onReload) === 'first') this.first.resolve();
  }
}

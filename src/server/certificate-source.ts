/**
 * Serving certificates as a source rather than a file read: the server asks
 * for the current key pair and is told when it changes. The file source
 * polls and watches (Secret volumes swap a symlink, which fs.watch on the
 * directory sees), compares bytes, and keeps the last good pair when a read
 * fails half-way through a rotation.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
}

export interface CertificateSource {
  /** Loads the first pair; rejects if none can be loaded. */
  start(): Promise<void>;
  stop(): void;
  /** True once a pair has loaded. */
  healthy(): boolean;
  current(): KeyPair;
  /** Called with each new pair after the first. */
  onChange(listener: (pair: KeyPair) => void): void;
}

export interface FileCertificateSourceOptions {
  certFile: string;
  keyFile: string;
  pollIntervalMs?: number;
  /** Reports a failed reload; the previous pair stays in use. */
  onError?: (err: Error) => void;
  onReload?: () => void;
}

export class FileCertificateSource implements CertificateSource {
  private pair: KeyPair | undefined;
  private readonly listeners: Array<(pair: KeyPair) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private watchers: FSWatcher[] = [];
  private loading: Promise<void> | undefined;
  private readonly options: FileCertificateSourceOptions;

  constructor(options: FileCertificateSourceOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    await this.load();
    this.timer = setInterval(() => void this.reload(), this.options.pollIntervalMs ?? 10_000);
    this.timer.unref();
    for (const dir of new Set([dirname(this.options.certFile), dirname(this.options.keyFile)])) {
      try {
        const watcher = watch(dir, () => void this.reload());
        watcher.on('error', () => watcher.close());
        watcher.unref();
        this.watchers.push(watcher);
      } catch {
        // Polling still covers file systems that cannot be watched.
      }
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }

  healthy(): boolean {
    return this.pair !== undefined;
  }

  current(): KeyPair {
    if (!this.pair) throw new Error('no serving certificate loaded yet');
    return this.pair;
  }

  onChange(listener: (pair: KeyPair) => void): void {
    this.listeners.push(listener);
  }

  /** Reloads now; exposed so tests and signals need not wait for the poll. */
  reload(): Promise<void> {
    this.loading ??= this.load()
      .catch((err: Error) => this.options.onError?.(err))
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  private async load(): Promise<void> {
    const [cert, key] = await Promise.all([readFile(this.options.certFile), readFile(this.options.keyFile)]);
    if (this.pair && cert.equals(this.pair.cert) && key.equals(this.pair.key)) return;
    // A rotation writes the two files one after the other: a pair that does
    // not match throws here, and the old pair serves until the next event.
    createSecureContext({ cert, key });
    const first = this.pair === undefined;
    this.pair = { cert, key };
    if (!first) {
      this.options.onReload?.();
      for (const listener of this.listeners) listener(this.pair);
    }
  }
}

/** A self-signed pair made at start, for development and `npm start` on a laptop. */
export class DevelopmentCertificateSource implements CertificateSource {
  private pair: KeyPair | undefined;
  private readonly hosts: string[];

  constructor(hosts: string[] = ['localhost', '127.0.0.1']) {
    this.hosts = hosts;
  }

  async start(): Promise<void> {
    const altNames = this.hosts.map((host) => (/^[0-9.]+$|:/.test(host) ? { type: 7 as const, ip: host } : { type: 2 as const, value: host }));
    // Loaded on first use: production serves certificate files and never needs it.
    const { generate } = await import('selfsigned');
    const pems = await generate([{ name: 'commonName', value: 'mcp-admission development' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames },
      ],
    });
    this.pair = { cert: Buffer.from(pems.cert), key: Buffer.from(pems.private) };
  }

  stop(): void {}

  healthy(): boolean {
    return this.pair !== undefined;
  }

  current(): KeyPair {
    if (!this.pair) throw new Error('development certificate not generated yet');
    return this.pair;
  }

  onChange(): void {}
}

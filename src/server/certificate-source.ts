/**
 * Serving certificates as a source rather than a file read: the server asks
 * for the current key pair and is told when it changes. The file source
 * watches (Secret volumes swap a symlink, which fs.watch on the directory
 * sees) and polls (often where it cannot watch, rarely where it can),
 * compares bytes, and keeps the last good pair when a read
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

/**
 * What the file and the Secret source share: the pair being served. A new
 * pair is checked before it is used (a certificate and key that do not
 * belong together throw, and the previous pair stays), replaces the current
 * one only when its bytes differ, and every pair after the first goes to
 * the listeners. Subclasses say where pairs come from.
 */
export abstract class HeldCertificateSource implements CertificateSource {
  #pair: KeyPair | undefined;
  readonly #listeners: Array<(pair: KeyPair) => void> = [];

  abstract start(): Promise<void>;
  abstract stop(): void;

  healthy(): boolean {
    return this.#pair !== undefined;
  }

  current(): KeyPair {
    if (!this.#pair) throw new Error('no serving certificate loaded yet');
    return this.#pair;
  }

  onChange(listener: (pair: KeyPair) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Makes `pair` current if it differs from what is served. Returns
   * `unchanged`, `first` (nobody is told) or `replaced` (after `beforeNotify`,
   * the listeners are told). Throws, keeping the current pair, when the
   * certificate and key do not match.
   */
  protected offer(pair: KeyPair, beforeNotify?: () => void): 'unchanged' | 'first' | 'replaced' {
    const current = this.#pair;
    if (current && pair.cert.equals(current.cert) && pair.key.equals(current.key)) return 'unchanged';
    createSecureContext(pair);
    this.#pair = pair;
    if (!current) return 'first';
    beforeNotify?.();
    for (const listener of this.#listeners) listener(pair);
    return 'replaced';
  }
}

/**
 * How often the files are read while a directory watch is up: the watch
 * sees a write and a Secret volume's symlink swap (the kubelet renames
 * `..data` in the watched directory) as they happen, so the poll is only a
 * safety net for an event the kernel drops, and a poll is most of what an
 * idle server wakes for.
 */
export const WATCHED_POLL_INTERVAL_MS = 5 * 60_000;

export interface FileCertificateSourceOptions {
  certFile: string;
  keyFile: string;
  /** How often the files are read when no directory could be watched (default 10 s). */
  pollIntervalMs?: number;
  /** How often the files are read while every directory is watched (default {@link WATCHED_POLL_INTERVAL_MS}). */
  watchedPollIntervalMs?: number;
  /** Reports a failed reload; the previous pair stays in use. */
  onError?: (err: Error) => void;
  onReload?: () => void;
}

export class FileCertificateSource extends HeldCertificateSource {
  private timer: NodeJS.Timeout | undefined;
  private watchers: FSWatcher[] = [];
  private loading: Promise<void> | undefined;
  /** Whether a reload was asked for while one was under way. */
  private again = false;
  private stopped = false;
  private readonly options: FileCertificateSourceOptions;

  constructor(options: FileCertificateSourceOptions) {
    super();
    this.options = options;
  }

  async start(): Promise<void> {
    await this.load();
    this.stopped = false;
    let watching = true;
    for (const dir of new Set([dirname(this.options.certFile), dirname(this.options.keyFile)])) {
      try {
        const watcher = watch(dir, () => void this.reload());
        watcher.on('error', () => {
          // The directory can no longer be watched (removed, remounted):
          // polling alone covers it from now on, at the unwatched interval.
          watcher.close();
          this.poll(this.options.pollIntervalMs ?? 10_000);
        });
        watcher.unref();
        this.watchers.push(watcher);
      } catch {
        // Polling covers file systems that cannot be watched.
        watching = false;
      }
    }
    this.poll(watching ? (this.options.watchedPollIntervalMs ?? WATCHED_POLL_INTERVAL_MS) : (this.options.pollIntervalMs ?? 10_000));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }

  private poll(intervalMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => void this.reload(), intervalMs);
    this.timer.unref();
  }

  /**
   * Reloads now; exposed so tests and signals need not wait for the poll.
   * Asked while a read is under way, it reads once more after it: the files
   * may have changed after that read began (a rotation's second rename).
   */
  reload(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        try {
          await this.load();
        } catch (err) {
          this.options.onError?.(err as Error);
        }
      } while (this.again);
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const [cert, key] = await Promise.all([readFile(this.options.certFile), readFile(this.options.keyFile)]);
    // A rotation writes the two files one after the other: a pair that does
    // not match throws here, and the old pair serves until the next event.
    this.offer({ cert, key }, this.options.onReload);
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

/**
 * The file certificate source sees a rotation through its directory watch
 * alone: its poll is set to an hour here, so a change reported in these
 * tests was seen by the watch. Both ways a rotation reaches the files: the
 * kubelet's Secret volume (tls.crt -> ..data/tls.crt, one atomic rename of
 * the `..data` symlink) and an operator's files renamed into place.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileCertificateSource, type KeyPair } from '../../../src/server/certificate-source.ts';

const work = mkdtempSync(join(tmpdir(), 'mcp-admission-cert-source-'));
after(() => rmSync(work, { recursive: true, force: true }));

const HOUR_MS = 3_600_000;

function makeCertificate(name: string): { cert: string; key: string } {
  const cert = join(work, `${name}.crt`);
  const key = join(work, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${name}`, '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}

const commonName = (pair: KeyPair) => new X509Certificate(pair.cert).subject.replace(/^CN=/, '');

/** The next pair the source reports; a liveness bound, not a speed claim: without the watch it would come after an hour. */
function nextChange(source: FileCertificateSource): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no change reported within 20 s')), 20_000);
    source.onChange((pair) => {
      clearTimeout(timer);
      resolve(pair);
    });
  });
}

/** Writes `pair` into `dir` as a rotation does: beside the files, then renamed over them, the key first. */
function renameIntoPlace(dir: string, pair: { cert: string; key: string }): void {
  copyFileSync(pair.cert, join(dir, 'tls.crt.new'));
  copyFileSync(pair.key, join(dir, 'tls.key.new'));
  renameSync(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
  renameSync(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
}

describe('FileCertificateSource, watched', () => {
  const first = makeCertificate('first');
  const second = makeCertificate('second');

  it("sees a Secret volume's symlink swap", async () => {
    const dir = join(work, 'secret');
    let version = 0;
    const swap = (pair: { cert: string; key: string }) => {
      const previous = `..v${version}`;
      const next = `..v${++version}`;
      mkdirSync(join(dir, next));
      copyFileSync(pair.cert, join(dir, next, 'tls.crt'));
      copyFileSync(pair.key, join(dir, next, 'tls.key'));
      symlinkSync(next, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, previous), { recursive: true, force: true });
    };
    mkdirSync(dir);
    swap(first);
    symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
    symlinkSync('..data/tls.key', join(dir, 'tls.key'));
    const source = new FileCertificateSource({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), pollIntervalMs: HOUR_MS, watchedPollIntervalMs: HOUR_MS });
    await source.start();
    try {
      assert.equal(commonName(source.current()), 'first');
      const changed = nextChange(source);
      swap(second);
      assert.equal(commonName(await changed), 'second');
      assert.equal(commonName(source.current()), 'second');
    } finally {
      source.stop();
    }
  });

  it('sees files renamed into place', async () => {
    const dir = join(work, 'files');
    mkdirSync(dir);
    const install = (pair: { cert: string; key: string }) => renameIntoPlace(dir, pair);
    install(first);
    const source = new FileCertificateSource({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), pollIntervalMs: HOUR_MS, watchedPollIntervalMs: HOUR_MS });
    await source.start();
    try {
      const changed = nextChange(source);
      install(second);
      assert.equal(commonName(await changed), 'second');
    } finally {
      source.stop();
    }
  });
});

describe('FileCertificateSource, reloads', () => {
  // A change that lands while a read is under way (the second rename of a
  // rotation, seen while the first is being read) must be read again, not
  // folded into the read that began before it: with the watch as the only
  // prompt, a folded change would wait for the next poll.
  it('reads again after a read under way when asked during it', async () => {
    const dir = join(work, 'during');
    mkdirSync(dir);
    const install = (pair: { cert: string; key: string }) => renameIntoPlace(dir, pair);
    const [a, b, c] = [makeCertificate('a'), makeCertificate('b'), makeCertificate('c')];
    install(a);
    let asked: Promise<void> | undefined;
    const source = new FileCertificateSource({
      certFile: join(dir, 'tls.crt'),
      keyFile: join(dir, 'tls.key'),
      pollIntervalMs: HOUR_MS,
      watchedPollIntervalMs: HOUR_MS,
      // Runs inside the read that found b: c lands, and a reload is asked for.
      onReload: () => {
        if (asked) return;
        install(c);
        asked = source.reload();
      },
    });
    await source.start();
    try {
      install(b);
      await source.reload();
      assert.ok(asked, 'b was read');
      await asked;
      assert.equal(commonName(source.current()), 'c');
    } finally {
      source.stop();
    }
  });
});

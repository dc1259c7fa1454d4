/**
 * The certificate every benchmark gives both servers as files, the way a
 * cluster does (a Secret volume): `serve` then takes its production path
 * (FileCertificateSource) and the floor pays the same TLS cost.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DevelopmentCertificateSource } from '../../src/server/certificate-source.ts';

/** Writes a development certificate and key (localhost, 127.0.0.1) into `dir` as tls.crt and tls.key. */
export async function writeCertificateFiles(dir: string): Promise<{ certFile: string; keyFile: string }> {
  const development = new DevelopmentCertificateSource();
  await development.start();
  const pair = development.current();
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(certFile, pair.cert);
  writeFileSync(keyFile, pair.key, { mode: 0o600 });
  return { certFile, keyFile };
}

/**
 * Making and reading the certificates the webhook manages itself: a CA and
 * serving certificates it signs. Keys come from Node's crypto (ECDSA P-256);
 * the X.509 encoding and signing is `selfsigned` (already a dependency for
 * the development certificate; since 5.x it signs with a given CA key and
 * accepts a key pair made elsewhere).
 */
import { X509Certificate, createHash, generateKeyPairSync, type KeyObject, createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';

/** A certificate and its private key, both PEM. */
export interface PemPair {
  cert: string;
  key: string;
}

/** Options for {@link createAuthority} and {@link issueServing}. */
export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/**
 * Backdating of notBefore: a replica or API server whose clock runs a little
 * behind must not see a certificate that is not valid yet (client-go's
 * self-signed certificates do the same with one hour).
 */
export const CLOCK_SKEW_MS = 5 * 60_000;

function newKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

/**
 * A new CA. Its common name carries the creation time: during a rotation two
 * CAs sit in one bundle, and distinct subjects keep every verifier's issuer
 * lookup unambiguous (the certificates carry no key identifiers).
 */
export async function createAuthority(validity: Validity, name = 'mcp-admission-webhook-ca'): Promise<PemPair> {
  const keyPair = newKeyPair();
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: `${name}@${Math.floor(validity.notBefore.getTime() / 1000)}` }], {
    keyType: 'ec',
    algorithm: 'sha256',
    keyPair,
    notBeforeDate: new Date(validity.notBefore.getTime() - CLOCK_SKEW_MS),
    notAfterDate: validity.notAfter,
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: keyPair.privateKey };
}

/** A serving certificate for `hosts` (DNS names or IP addresses), signed by `authority`. */
export async function issueServing(authority: PemPair, hosts: string[], validity: Validity): Promise<PemPair> {
  if (hosts.length === 0) throw new Error('a serving certificate needs at least one name');
  const keyPair = newKeyPair();
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: hosts[0] as string }], {
    keyType: 'ec',
    algorithm: 'sha256',
    keyPair,
    ca: authority,
    notBeforeDate: new Date(validity.notBefore.getTime() - CLOCK_SKEW_MS),
    notAfterDate: validity.notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: hosts.map((h) => (isIP(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h })) },
    ],
  });
  return { cert: pems.cert, key: keyPair.privateKey };
}

/** The names a webhook Service answers to, shortest first (what the API server may ask for). */
export function serviceHosts(service: string, namespace: string, extra: string[] = []): string[] {
  const names = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, ...extra];
  return [...new Set(names)];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM text that parses; the rest is skipped. */
export function parseCertificates(pem: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const block of pem.match(PEM_CERTIFICATE) ?? []) {
    try {
      out.push(new X509Certificate(block));
    } catch {
      // A damaged block is left out; what remains still serves.
    }
  }
  return out;
}

/**
 * A CA bundle from certificates: each block on lines of its own, ending in a
 * newline. Go's pem.Decode, which kube-apiserver reads caBundle with, stops
 * at a block glued to the previous END line ("unable to parse bytes as PEM
 * block"), and X.509 libraries' PEM output need not end in one.
 */
export function pemBundle(certificates: Array<string | X509Certificate>): string {
  return certificates
    .map((c) => (typeof c === 'string' ? c : c.toString()).trim())
    .filter((c) => c !== '')
    .map((c) => `${c}\n`)
    .join('');
}

/** A private key from PEM, or undefined when it does not parse. */
export function parsePrivateKey(pem: string | undefined): KeyObject | undefined {
  if (!pem) return undefined;
  try {
    return createPrivateKey(pem);
  } catch {
    return undefined;
  }
}

/** SHA-256 of a certificate's DER, hex: how a CA is named across a rotation. */
export function fingerprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** The DNS names and IP addresses of a certificate's subjectAltName. */
export function subjectAltNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** What a load logs and the expiry metric reports. */
export interface CertificateSummary {
  serial: string;
  notBefore: Date;
  notAfter: Date;
  subject: string;
  issuer: string;
  names: string[];
}

/** Reads the first certificate of a PEM text; undefined when there is none. */
export function summarize(pem: string | Buffer): CertificateSummary | undefined {
  const [cert] = parseCertificates(pem.toString());
  if (!cert) return undefined;
  return {
    serial: cert.serialNumber,
    notBefore: cert.validFromDate,
    notAfter: cert.validToDate,
    subject: cert.subject,
    issuer: cert.issuer,
    names: subjectAltNames(cert),
  };
}

/**
 * The certificate Secret's layout: a `kubernetes.io/tls` Secret (so it also
 * mounts as a volume and reads like cert-manager's) with
 * - `tls.crt`, `tls.key`: the serving pair every replica serves;
 * - `ca.crt`: the CA bundle, signing CA first, then CAs kept for an overlap:
 *   exactly what goes into the webhook configurations' `caBundle`;
 * - `ca.key`: the signing CA's key (earlier CAs' keys are not kept: they
 *   sign nothing again);
 * and annotations recording the rotation's timing: when this bundle went into
 * the webhook configurations, and when the previous CAs may leave it.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { createHash, createPublicKey, type X509Certificate } from 'node:crypto';
import { ANNOTATION_PREFIX } from '../contract.ts';
import type { StoredFacts } from './rotation.ts';
import { fingerprint, parseCertificates, parsePrivateKey, subjectAltNames } from './x509.ts';

/** Annotation names on the certificate Secret. */
export const SecretAnnotations = {
  /** SHA-256 of the `ca.crt` last written into the webhook configurations. */
  injectedBundle: `${ANNOTATION_PREFIX}ca-bundle-injected`,
  /** When that happened (RFC 3339). */
  injectedAt: `${ANNOTATION_PREFIX}ca-bundle-injected-at`,
  /** When CAs other than the signing one may leave the bundle (RFC 3339). */
  retireAfter: `${ANNOTATION_PREFIX}previous-ca-retire-after`,
} as const;

/** The certificate Secret's content, PEM text by key. */
export interface StoredCertificates {
  /** Of the Secret read; undefined for one not written yet. */
  resourceVersion?: string;
  caBundle: string;
  caKey: string;
  cert: string;
  key: string;
  injectedBundle?: string;
  injectedAt?: Date;
  retireAfter?: Date;
}

const text = (data: Record<string, string> | undefined, key: string): string =>
  data?.[key] ? Buffer.from(data[key], 'base64').toString('utf8') : '';

const date = (value: string | undefined): Date | undefined => {
  if (!value) return undefined;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
};

/** SHA-256 of a bundle, hex. */
export function bundleDigest(caBundle: string): string {
  return createHash('sha256').update(caBundle).digest('hex');
}

/** Reads the Secret; missing keys read as empty text (then the plan replaces them). */
export function readSecret(secret: V1Secret): StoredCertificates {
  const annotations = secret.metadata?.annotations ?? {};
  return {
    ...(secret.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}),
    caBundle: text(secret.data, 'ca.crt'),
    caKey: text(secret.data, 'ca.key'),
    cert: text(secret.data, 'tls.crt'),
    key: text(secret.data, 'tls.key'),
    ...(annotations[SecretAnnotations.injectedBundle] ? { injectedBundle: annotations[SecretAnnotations.injectedBundle] } : {}),
    ...(date(annotations[SecretAnnotations.injectedAt]) ? { injectedAt: date(annotations[SecretAnnotations.injectedAt]) } : {}),
    ...(date(annotations[SecretAnnotations.retireAfter]) ? { retireAfter: date(annotations[SecretAnnotations.retireAfter]) } : {}),
  };
}

/** The Secret for `stored`, named `name` in `namespace`; labels and other annotations of `base` are kept. */
export function writeSecret(stored: StoredCertificates, name: string, namespace: string, base?: V1Secret): V1Secret {
  const annotations: Record<string, string> = { ...(base?.metadata?.annotations ?? {}) };
  for (const key of Object.values(SecretAnnotations)) delete annotations[key];
  if (stored.injectedBundle) annotations[SecretAnnotations.injectedBundle] = stored.injectedBundle;
  if (stored.injectedAt) annotations[SecretAnnotations.injectedAt] = stored.injectedAt.toISOString();
  if (stored.retireAfter) annotations[SecretAnnotations.retireAfter] = stored.retireAfter.toISOString();
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {
      ...(base?.metadata ?? {}),
      name,
      namespace,
      labels: { 'app.kubernetes.io/name': 'mcp-admission', 'app.kubernetes.io/component': 'webhook', ...(base?.metadata?.labels ?? {}) },
      annotations,
      ...(stored.resourceVersion ? { resourceVersion: stored.resourceVersion } : {}),
    },
    data: { 'tls.crt': b64(stored.cert), 'tls.key': b64(stored.key), 'ca.crt': b64(stored.caBundle), 'ca.key': b64(stored.caKey) },
  };
}

/** True when `key` (PEM) is the private key of `cert`. */
function keyOf(cert: X509Certificate, keyPem: string): boolean {
  const key = parsePrivateKey(keyPem);
  if (!key) return false;
  const spki = (k: ReturnType<typeof createPublicKey>): string => k.export({ type: 'spki', format: 'der' }).toString('base64');
  try {
    return spki(createPublicKey(key)) === spki(cert.publicKey);
  } catch {
    return false;
  }
}

/** The CA certificates of a bundle, as stored. */
export function bundleAuthorities(caBundle: string): X509Certificate[] {
  return parseCertificates(caBundle).filter((c) => c.ca);
}

/** The facts {@link planRotation} decides on. */
export function storedFacts(stored: StoredCertificates): StoredFacts {
  const authorities = bundleAuthorities(stored.caBundle);
  const signing = authorities.find((ca) => keyOf(ca, stored.caKey));
  const [serving] = parseCertificates(stored.cert);
  const issuer = serving ? authorities.find((ca) => serving.checkIssued(ca) && serving.verify(ca.publicKey)) : undefined;
  const digest = bundleDigest(stored.caBundle);
  return {
    authorities: authorities.map((ca) => ({ fingerprint: fingerprint(ca), notBefore: ca.validFromDate, notAfter: ca.validToDate })),
    ...(signing ? { signing: fingerprint(signing) } : stored.caKey ? { signing: 'unmatched' } : {}),
    ...(serving
      ? {
          serving: {
            notAfter: serving.validToDate,
            ...(issuer ? { issuer: fingerprint(issuer) } : {}),
            names: subjectAltNames(serving),
            keyMatches: keyOf(serving, stored.key),
          },
        }
      : {}),
    ...(stored.injectedAt && stored.injectedBundle === digest ? { injectedAt: stored.injectedAt } : {}),
    ...(stored.retireAfter ? { retireAfter: stored.retireAfter } : {}),
  };
}

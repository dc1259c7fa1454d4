/**
 * What TLS the webhook speaks. TLS 1.2 and 1.3 only; on TLS 1.2, only
 * ECDHE key exchange (forward secrecy) with AEAD ciphers (GCM,
 * ChaCha20-Poly1305): no CBC suites (padding oracles such as Lucky13, and
 * SHA-1 MACs), no static-RSA key exchange, no finite-field DHE. This is the
 * Mozilla "intermediate" TLS 1.2 list, which the API server's Go client
 * offers by default (crypto/tls defaultCipherSuites: ECDHE AEAD suites
 * first), so nothing a real API server sends is refused.
 *
 * TLS 1.3 suites are Node's own defaults, kept as they are: Node applies a
 * cipher string without TLS 1.3 suites by turning TLS 1.3 off
 * (lib/internal/tls/secure-context.js), so they must be listed too.
 */
import { DEFAULT_CIPHERS, type SecureContextOptions } from 'node:tls';

const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];

const TLS13_SUITES = DEFAULT_CIPHERS.split(':').filter((suite) => suite.startsWith('TLS_'));

/** The cipher string: TLS 1.3 suites unchanged, then the TLS 1.2 ones above. */
export const SERVER_CIPHERS = [...TLS13_SUITES, ...TLS12_CIPHERS].join(':');

/** Options for the serving context, the same at start and at every certificate reload. */
export function serverTlsOptions(pair: { cert: Buffer; key: Buffer }): SecureContextOptions {
  return { ...pair, minVersion: 'TLSv1.2', ciphers: SERVER_CIPHERS, honorCipherOrder: true };
}

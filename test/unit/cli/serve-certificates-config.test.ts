/**
 * `serve` configuration: the certificate flags and their twins.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/cli/config.ts';
import { parseServeConfig } from '../../../src/cli/serve-config.ts';

describe('serve certificate flags', () => {
  it('defaults: 10-year CA renewed a year ahead, 90-day serving certificate renewed 30 days ahead', () => {
    const c = parseServeConfig([], {});
    assert.equal(c.certificates, undefined);
    assert.equal(c.caLifetime, 87_600 * 3_600_000);
    assert.equal(c.caRenewBefore, 8_760 * 3_600_000);
    assert.equal(c.certLifetime, 90 * 86_400_000);
    assert.equal(c.certRenewBefore, 30 * 86_400_000);
    assert.deepEqual(c.webhookConfigurations, ['mcp-admission']);
    assert.equal(c.serviceName, 'mcp-admission-webhook');
  });

  it('durations and lists from flags and their environment twins; the flag wins', () => {
    const c = parseServeConfig(['--cert-lifetime', '20s', '--extra-san', '127.0.0.1, localhost'], {
      MCP_ADMISSION_CERT_LIFETIME: '1h',
      MCP_ADMISSION_CERT_RENEW_BEFORE: '10s',
      MCP_ADMISSION_WEBHOOK_CONFIGURATIONS: 'a,b',
      MCP_ADMISSION_CERTIFICATES: 'self-managed',
    });
    assert.equal(c.certLifetime, 20_000);
    assert.equal(c.certRenewBefore, 10_000);
    assert.deepEqual(c.extraSan, ['127.0.0.1', 'localhost']);
    assert.deepEqual(c.webhookConfigurations, ['a', 'b']);
    assert.equal(c.certificates, 'self-managed');
  });

  const refused: Array<[string, string[], RegExp]> = [
    ['a duration without a unit', ['--ca-lifetime', '100'], /--ca-lifetime: "100" is not a duration/],
    ['renewal not shorter than the lifetime', ['--cert-lifetime', '1h', '--cert-renew-before', '2h'], /--cert-renew-before: must be shorter than --cert-lifetime/],
    ['a serving certificate outliving its CA', ['--ca-lifetime', '1h', '--ca-renew-before', '10m', '--cert-lifetime', '2h', '--cert-renew-before', '1m'], /--cert-lifetime: must not be longer/],
    ['CA renewal inside the propagation time', ['--ca-renew-before', '30s'], /--ca-renew-before: must be longer than --ca-bundle-propagation/],
    ['files without the files', ['--certificates', 'files'], /--certificates: files needs --tls-cert/],
    ['files with self-managed', ['--certificates', 'self-managed', '--tls-cert', 'a', '--tls-key', 'b'], /--certificates: --tls-cert\/--tls-key go with --certificates files/],
    ['an unknown mode', ['--certificates', 'acme'], /--certificates/],
  ];
  for (const [name, args, message] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseServeConfig(args, {}), (err: Error) => err instanceof ConfigError && message.test(err.message));
    });
  }
});

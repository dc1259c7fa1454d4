/**
 * Every subcommand is configured one way: flags, each with its environment
 * twins, checked by zod; a flag wins over its twins (src/cli/config.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/cli/config.ts';
import { parseProbeConfig, PROBE_USAGE } from '../../../src/cli/probe-config.ts';
import { parseServeConfig, SERVE_USAGE } from '../../../src/cli/serve-config.ts';

describe('serve configuration', () => {
  it('reads the twin when the flag is absent, and the flag wins over it', () => {
    assert.equal(parseServeConfig([], { MCP_ADMISSION_METRICS_PORT: '9191' }).metricsPort, 9191);
    assert.equal(parseServeConfig(['--metrics-port', '9292'], { MCP_ADMISSION_METRICS_PORT: '9191' }).metricsPort, 9292);
    assert.equal(parseServeConfig([], { POD_NAMESPACE: 'platform' }).namespace, 'platform');
    assert.equal(parseServeConfig([], {}).namespace, 'mcp-admission');
    assert.equal(parseServeConfig([], { MCP_ADMISSION_LOG_OBJECTS: 'true' }).logObjects, true);
  });

  it('names the flag of each problem', () => {
    assert.throws(() => parseServeConfig(['--port', 'x'], {}), (err: Error) => err instanceof ConfigError && /^--port: /.test(err.message));
    assert.throws(() => parseServeConfig(['--tls-cert', 'a.crt'], {}), /--tls-cert: --tls-cert and --tls-key go together/);
    assert.throws(() => parseServeConfig(['--frobnicate'], {}), ConfigError);
  });

  it('documents each flag with its twins', () => {
    assert.match(SERVE_USAGE, /--metrics-port\s+.*\(env MCP_ADMISSION_METRICS_PORT\)/);
    assert.match(SERVE_USAGE, /--namespace\s+.*\(env POD_NAMESPACE\)/);
  });
});

describe('probe configuration', () => {
  it('reads LOG_LEVEL as before, and MCP_ADMISSION_LOG_LEVEL first, as serve does', () => {
    assert.equal(parseProbeConfig(['--once'], { LOG_LEVEL: 'debug' }).logLevel, 'debug');
    assert.equal(parseProbeConfig(['--once'], { LOG_LEVEL: 'debug', MCP_ADMISSION_LOG_LEVEL: 'warn' }).logLevel, 'warn');
    assert.equal(parseProbeConfig(['--once', '--log-level', 'error'], { LOG_LEVEL: 'debug' }).logLevel, 'error');
    assert.throws(() => parseProbeConfig(['--once'], { LOG_LEVEL: 'loud' }), /Error: --log-level: /);
  });

  it('takes its namespace and instance from the downward API twins', () => {
    const config = parseProbeConfig(['--watch'], { POD_NAMESPACE: 'platform', POD_NAME: 'prober-abc' });
    assert.deepEqual([config.namespace, config.instance, config.excludeNamespace], ['platform', 'prober-abc', undefined]);
    assert.deepEqual(parseProbeConfig(['--once', '--exclude-namespace', 'a', '--exclude-namespace', 'b'], {}).excludeNamespace, ['a', 'b']);
    assert.equal(parseProbeConfig(['--once'], {}).namespace, 'mcp-admission');
  });

  it('numbers: positive integers, from flags or twins', () => {
    const config = parseProbeConfig(['--url', 'http://x/mcp', '--timeout-ms', '2500'], { MCP_ADMISSION_PROBE_CONCURRENCY: '3' });
    assert.deepEqual([config.timeoutMs, config.concurrency, config.maxBytes], [2500, 3, undefined]);
    assert.throws(() => parseProbeConfig(['--url', 'http://x', '--timeout-ms', 'soon'], {}), /Error: --timeout-ms: must be a positive integer/);
    assert.throws(() => parseProbeConfig(['--once', '--concurrency', '0'], {}), /Error: --concurrency: /);
  });

  it('exactly one mode, unless asking for help', () => {
    assert.throws(() => parseProbeConfig([], {}), /give exactly one of --url, --once, --watch/);
    assert.throws(() => parseProbeConfig(['--once', '--watch'], {}), /give exactly one/);
    assert.equal(parseProbeConfig(['--help'], {}).help, true);
  });

  it('--watch serves metrics on --metrics-port (or its env twin), judges every --audit-interval seconds', () => {
    const config = parseProbeConfig(['--watch'], { MCP_ADMISSION_PROBE_METRICS_PORT: '9091' });
    assert.deepEqual([config.metricsPort, config.auditInterval, config.host], [9091, 600, '0.0.0.0']);
    assert.equal(parseProbeConfig(['--watch'], {}).metricsPort, undefined);
    assert.equal(parseProbeConfig(['--watch', '--audit-interval', '30'], {}).auditInterval, 30);
    assert.throws(() => parseProbeConfig(['--watch', '--metrics-port', '70000'], {}), /Error: --metrics-port: must be a port number/);
    assert.throws(() => parseProbeConfig(['--watch', '--audit-interval', '0'], {}), /Error: --audit-interval: must be a positive integer/);
    assert.throws(() => parseProbeConfig(['--once', '--metrics-port', '9091'], {}), /--metrics-port serves a running prober/);
  });

  it('documents each flag with its twins', () => {
    assert.match(PROBE_USAGE, /--metrics-port\s+.*\(env MCP_ADMISSION_PROBE_METRICS_PORT\)/);
    assert.match(PROBE_USAGE, /--log-level\s+.*\(env MCP_ADMISSION_LOG_LEVEL, LOG_LEVEL\)/);
    assert.match(PROBE_USAGE, /--instance\s+.*\(env POD_NAME\)/);
  });
});

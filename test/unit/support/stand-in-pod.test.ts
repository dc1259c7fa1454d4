/**
 * The stand-in pod's environment is the kubelet's (test/support/harness/pod.ts):
 * Service links and `$(VAR)` expansion. And why the manifests turn Service
 * links off: a Service named `mcp-admission` in the webhook's namespace would
 * hand `serve` MCP_ADMISSION_PORT=tcp://..., the env twin of --port.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readImageConfig } from '../../support/harness/image.ts';
import { expand, serviceLinkEnv } from '../../support/harness/pod.ts';

const root = join(import.meta.dirname, '../../..');

describe('the stand-in pod environment', () => {
  const service = (name: string, ports: object[], clusterIP = '10.0.0.7') => ({ metadata: { name }, spec: { clusterIP, ports } });

  it('has the kubelet Service variables', () => {
    const env = serviceLinkEnv([service('mcp-admission-webhook', [{ name: 'https', port: 443, protocol: 'TCP' }]), service('headless', [{ port: 80 }], 'None')]);
    assert.deepEqual(env, {
      MCP_ADMISSION_WEBHOOK_SERVICE_HOST: '10.0.0.7',
      MCP_ADMISSION_WEBHOOK_SERVICE_PORT: '443',
      MCP_ADMISSION_WEBHOOK_SERVICE_PORT_HTTPS: '443',
      MCP_ADMISSION_WEBHOOK_PORT: 'tcp://10.0.0.7:443',
      MCP_ADMISSION_WEBHOOK_PORT_443_TCP: 'tcp://10.0.0.7:443',
      MCP_ADMISSION_WEBHOOK_PORT_443_TCP_PROTO: 'tcp',
      MCP_ADMISSION_WEBHOOK_PORT_443_TCP_PORT: '443',
      MCP_ADMISSION_WEBHOOK_PORT_443_TCP_ADDR: '10.0.0.7',
    });
  });

  it('expands $(VAR) as Kubernetes does', () => {
    assert.equal(expand('--x=$(A) $(MISSING) $$(A)', { A: 'a' }), '--x=a $(MISSING) $(A)');
  });

  it('a Service named mcp-admission would configure serve: hence enableServiceLinks: false', () => {
    const env = serviceLinkEnv([service('mcp-admission', [{ port: 443 }])]);
    assert.equal(env.MCP_ADMISSION_PORT, 'tcp://10.0.0.7:443');
    const result = spawnSync(join(root, 'node_modules/.bin/node'), [join(root, 'src/cli/main.ts'), 'serve'], {
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /--port/);
  });
});

describe('the image config the stand-in pods inherit', () => {
  it("reads ENV as Docker does: quoted values keep their spaces and lose their quotes (the Dockerfile's NODE_OPTIONS)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-admission-dockerfile-'));
    try {
      const file = join(dir, 'Dockerfile');
      writeFileSync(file, [
        'FROM node:24 AS build',
        'ENV BUILD_ONLY=1',
        'FROM node:24-bookworm-slim',
        'ENV NODE_ENV=production',
        'ENV NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=256"',
        `ENV A=1 B='two words' C="say \\"hi\\""`,
        'CMD ["node", "dist/cli/main.js", "serve"]',
      ].join('\n'));
      assert.deepEqual(readImageConfig(file).env, {
        NODE_ENV: 'production',
        NODE_OPTIONS: '--max-semi-space-size=2 --max-old-space-size=256',
        A: '1',
        B: 'two words',
        C: 'say "hi"',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the repository's Dockerfile gives Node NODE_OPTIONS it accepts", () => {
    const { NODE_OPTIONS } = readImageConfig().env;
    const run = spawnSync(process.execPath, ['-e', '0'], { env: { PATH: process.env.PATH, ...(NODE_OPTIONS !== undefined && { NODE_OPTIONS }) }, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
  });
});

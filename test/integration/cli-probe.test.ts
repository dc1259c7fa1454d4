/** `mcp-admission probe --url` as a process: JSON on stdout, exit codes. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startSdkServer } from '../support/peers/sdk-servers.ts';

const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

function probe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, 'probe', ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err && typeof err.code === 'number' ? err.code : err ? -1 : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('probe --url', () => {
  it('prints the result as JSON and exits 0 for a detected transport', async () => {
    const peer = await startSdkServer('sse');
    try {
      const { code, stdout } = await probe(['--url', `${peer.baseUrl}/sse`, '--timeout-ms', '5000']);
      assert.equal(code, 0);
      const result = JSON.parse(stdout);
      assert.deepEqual(Object.keys(result), ['protocol', 'protocolVersion', 'endpoint', 'authRequired', 'reason', 'latencyMs']);
      assert.equal(result.protocol, 'sse');
    } finally {
      await peer.close();
    }
  });

  it('exits 1 when the protocol is unknown', async () => {
    const { code, stdout } = await probe(['--url', 'http://127.0.0.1:9/mcp', '--connect-timeout-ms', '500']);
    assert.equal(code, 1);
    assert.equal(JSON.parse(stdout).protocol, 'unknown');
  });

  const usage: Array<[string, string[]]> = [
    ['no mode', []],
    ['two modes', ['--once', '--watch']],
    ['bad number', ['--url', 'http://x', '--timeout-ms', 'soon']],
    ['unknown flag', ['--frobnicate']],
  ];
  for (const [name, args] of usage) {
    it(`exits 2 on bad usage: ${name}`, async () => {
      const { code, stderr } = await probe(args);
      assert.equal(code, 2);
      assert.match(stderr, /usage: mcp-admission probe/);
    });
  }
});

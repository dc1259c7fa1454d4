/**
 * What the image ships: the package built, packed and installed with
 * production dependencies only, in a fresh directory, runs `serve` from
 * dist/ and answers an AdmissionReview over HTTPS.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mcp-admission-install-'));

function post(port: number, path: string, body: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('production install', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('npm pack, npm install --omit=dev, then serve answers', { timeout: 180_000 }, async () => {
    const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    npm(['run', 'build'], root);
    const tarball = npm(['pack', '--pack-destination', dir, '--json'], root);
    const filename = JSON.parse(tarball)[0].filename as string;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'install-check', private: true }));
    npm(['install', '--omit=dev', '--no-audit', '--no-fund', join(dir, filename)], dir);

    const installed = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
    const names = Object.keys(installed.packages).map((p) => p.replace(/^.*node_modules\//, ''));
    for (const devOnly of ['typescript', 'node', '@modelcontextprotocol/sdk', 'fast-check']) {
      assert.ok(!names.includes(devOnly), `${devOnly} is not installed in production`);
    }

    const server = spawn(process.execPath, [join(dir, 'node_modules/mcp-admission/dist/cli/main.js'), 'serve', '--port', '0', '--metrics-port', '0', '--host', '127.0.0.1'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (chunk) => {
          out += chunk;
          const match = /"port":(\d+).*"msg":"mcp-admission serving"/.exec(out);
          if (match) resolve(Number(match[1]));
        });
        server.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
      });
      const review = readFileSync(join(root, 'test/fixtures/deployment-sse.json'), 'utf8');
      const answer = await post(port, '/mutate', review);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.response.allowed, true);
      assert.equal(answer.body.response.patchType, 'JSONPatch');
    } finally {
      server.kill('SIGTERM');
    }
  });
});

/**
 * `promtool check metrics` on a live scrape of `serve`'s /metrics after it
 * has answered reviews: names, types, help and units as Prometheus expects
 * (promtool built from the github.com/prometheus/prometheus module).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:https';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixture } from '../support/fixtures.ts';
import { toolPath } from '../support/tools.ts';

const root = join(import.meta.dirname, '../..');

function post(port: number, path: string, body: object): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('metrics scrape', () => {
  it('promtool check metrics finds nothing to say about a live /metrics', { timeout: 60_000 }, async () => {
    const server = spawn(process.execPath, ['src/cli/main.ts', 'serve', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--policy-source', 'builtin'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const { port, metricsPort } = await new Promise<{ port: number; metricsPort: number }>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (chunk) => {
          out += chunk;
          const match = /"port":(\d+),"metricsPort":(\d+)/.exec(out);
          if (match) resolve({ port: Number(match[1]), metricsPort: Number(match[2]) });
        });
        server.on('exit', () => reject(new Error(`serve exited early: ${out}`)));
      });
      const review = fixture('deployment-sse');
      review.request.object.spec.strategy = { type: 'Recreate' };
      await post(port, '/mutate', fixture('deployment-sse'));
      await post(port, '/validate', review);
      await post(port, '/validate', { ...review, request: { ...review.request, dryRun: true } });
      const text = await new Promise<string>((resolve, reject) =>
        httpGet({ host: '127.0.0.1', port: metricsPort, path: '/metrics' }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        }).on('error', reject),
      );
      assert.match(text, /^mcp_admission_findings_total\{rule="deployment-recreate",severity="deny",mode="mutate"\} 1$/m);
      assert.match(text, /^process_cpu_seconds_total /m);
      const checked = spawnSync(toolPath('promtool'), ['check', 'metrics'], { input: text, encoding: 'utf8' });
      const findings = `${checked.stdout}${checked.stderr}`.trim().split('\n').filter(Boolean);
      // prom-client's standard Node.js gauges end in _total; Node.js dashboards
      // query them by these names, so they stay. Nothing of ours may be listed.
      const upstream = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'].map(
        (name) => `${name} non-counter metrics should not have "_total" suffix`,
      );
      assert.deepEqual(findings.filter((line) => !upstream.includes(line)), [], `promtool check metrics:\n${findings.join('\n')}`);
      assert.ok(!findings.some((line) => line.startsWith('mcp_admission_')));
    } finally {
      server.kill('SIGTERM');
    }
  });
});

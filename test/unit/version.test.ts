/**
 * One version: package.json's names the image tag, the chart's version and
 * appVersion, `mcp-admission --version` and mcp_admission_build_info. Any
 * file that spells it out differently fails here; scripts/sync-version.sh
 * writes them all.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { createMetrics } from '../../src/server/metrics.ts';

const root = join(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');
const version = (JSON.parse(read('package.json')) as { version: string }).version;
const IMAGE = 'ghcr.io/mcp-admission/mcp-admission';
const FIX = 'run scripts/sync-version.sh';

describe(`one version (package.json: ${version})`, () => {
  it('mcp-admission --version', () => {
    const out = execFileSync(join(root, 'node_modules/.bin/node'), [join(root, 'src/cli/main.ts'), '--version'], { encoding: 'utf8' });
    assert.equal(out, `${version}\n`);
  });

  it('mcp_admission_build_info{version}', async () => {
    const metrics = createMetrics();
    const text = await metrics.registry.metrics();
    assert.match(text, new RegExp(`^mcp_admission_build_info\\{version="${version.replaceAll('.', '\\.')}"\\} 1$`, 'm'));
  });

  it("the chart's version and appVersion", () => {
    const chart = parse(read('deploy/helm/mcp-admission/Chart.yaml')) as { version: string; appVersion: string };
    assert.equal(chart.version, version, FIX);
    assert.equal(chart.appVersion, version, FIX);
  });

  it('every image tag and app.kubernetes.io/version written in deploy/, the README and the Dockerfile', () => {
    const files = execFileSync('git', ['ls-files', 'deploy', 'README.md', 'Dockerfile'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
    let seen = 0;
    for (const file of files) {
      const text = read(file);
      for (const match of text.matchAll(new RegExp(`${IMAGE.replaceAll('.', '\\.')}:([0-9A-Za-z.+-]+)`, 'g'))) {
        seen += 1;
        assert.equal(match[1], version, `${file}: ${match[0]}; ${FIX}`);
      }
      for (const match of text.matchAll(/app\.kubernetes\.io\/version: "([^"{]*)"/g)) {
        seen += 1;
        assert.equal(match[1], version, `${file}: ${match[0]}; ${FIX}`);
      }
    }
    assert.ok(seen >= 4, `only ${seen} spelled-out versions found: the test no longer looks where they are`);
  });
});

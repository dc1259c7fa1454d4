/**
 * The PrometheusRule in deploy/monitoring, through promtool (built from the
 * github.com/prometheus/prometheus module by test/tools/build.sh): the rule
 * file checks, and every alert fires on a failing series and stays quiet on
 * a healthy one (test/monitoring/alerts.test.yaml).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { toolPath } from '../../support/tools.ts';

const root = join(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'mcp-admission-alerts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function promtool(...args: string[]) {
  return spawnSync(toolPath('promtool'), args, { cwd: dir, encoding: 'utf8' });
}

describe('deploy/monitoring alerts', () => {
  const rule = parse(readFileSync(join(root, 'deploy/monitoring/prometheusrule.yaml'), 'utf8'));
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, stringify(rule.spec));
  const testFile = join(dir, 'alerts.test.yaml');
  writeFileSync(testFile, readFileSync(join(root, 'test/monitoring/alerts.test.yaml'), 'utf8').replace('  - RULES_FILE', `  - ${rulesFile}`));

  it('the PrometheusRule spec is a valid rule file', () => {
    const result = promtool('check', 'rules', rulesFile);
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it('every alert fires on a failing series and stays quiet on a healthy one', () => {
    const result = promtool('test', 'rules', testFile);
    process.stderr.write(`promtool test rules:\n${result.stdout}${result.stderr}`);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    // Each alert of the rule file is tested, both ways.
    const tests = (parse(readFileSync(testFile, 'utf8')) as { tests: Array<{ alert_rule_test: AlertTest[] }> }).tests.flatMap((t) => t.alert_rule_test);
    for (const { alert } of rule.spec.groups[0].rules) {
      assert.ok(tests.some((t) => t.alertname === alert && (t.exp_alerts ?? []).length > 0), `${alert} tested firing`);
      assert.ok(tests.some((t) => t.alertname === alert && (t.exp_alerts ?? []).length === 0), `${alert} tested quiet`);
    }
    assert.deepEqual([...new Set(tests.map((t) => t.alertname))].sort(), rule.spec.groups[0].rules.map((r: { alert: string }) => r.alert).sort(), 'no test of an alert that does not exist');
  });

  it("the Helm chart's copy is the same file (scripts/sync-monitoring.sh)", () => {
    assert.equal(
      readFileSync(join(root, 'deploy/helm/mcp-admission/files/prometheusrule.yaml'), 'utf8'),
      readFileSync(join(root, 'deploy/monitoring/prometheusrule.yaml'), 'utf8'),
      'deploy/helm/mcp-admission/files/prometheusrule.yaml differs from deploy/monitoring/prometheusrule.yaml: run scripts/sync-monitoring.sh',
    );
  });
});

interface AlertTest {
  alertname: string;
  exp_alerts?: unknown[];
}

describe('deploy/monitoring dashboard', () => {
  it('charts every metric the alerts use, with queries promtool can parse', () => {
    const dashboard = JSON.parse(readFileSync(join(root, 'deploy/monitoring/grafana-dashboard.json'), 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: Array<{ expr: string }> }) => p.targets.map((t) => t.expr));
    const rule = parse(readFileSync(join(root, 'deploy/monitoring/prometheusrule.yaml'), 'utf8'));
    const metricsInAlerts = new Set<string>(rule.spec.groups[0].rules.flatMap((r: { expr: string }) => r.expr.match(/\b(mcp_admission_[a-z_]+|kube_[a-z_]+|up)\b/g) ?? []));
    for (const metric of metricsInAlerts) {
      const base = metric.replace(/_bucket$/, '');
      assert.ok(exprs.some((e) => e.includes(base)), `the dashboard charts ${metric}`);
    }
    // The prober's own signals (its metrics port, deploy/monitoring/podmonitor.yaml).
    for (const metric of ['mcp_admission_prober_passes_total', 'mcp_admission_prober_last_success_timestamp_seconds', 'mcp_admission_noncompliant_objects', 'process_resident_memory_bytes{container="prober"}']) {
      assert.ok(exprs.some((e) => e.includes(metric)), `the dashboard charts ${metric}`);
    }
    // Each query as a recording rule: promtool parses it.
    const file = join(dir, 'dashboard-queries.yaml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:query${i}`, expr })) }] }));
    const result = promtool('check', 'rules', file);
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });
});

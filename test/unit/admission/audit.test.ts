import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditObjects, auditSummary } from '../../../src/admission/audit.ts';
import type { TransportPolicy } from '../../../src/policy/transport-policy.ts';
import { staticSettings } from '../../../src/settings/static-source.ts';
import { mcpDeployment, mcpService } from '../../support/objects.ts';

const deps = (policies: TransportPolicy[] = [], labels = new Map<string, Record<string, string>>()) => ({
  settings: staticSettings(policies, labels),
  ownNamespace: 'mcp-admission',
});

describe('auditObjects', () => {
  const safe = mcpDeployment('safe', { namespace: 'tools', annotations: { protocol: 'sse' } }, {
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
    template: { spec: { terminationGracePeriodSeconds: 120 } },
  });
  const recreate = mcpDeployment('recreate', { namespace: 'tools', annotations: { protocol: 'sse' } }, {
    strategy: { type: 'Recreate' },
    template: { spec: { terminationGracePeriodSeconds: 120 } },
  });
  const defaults = mcpDeployment('defaults', { namespace: 'tools', annotations: { protocol: 'sse' } }, {
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
  });

  it('tells compliant, would-mutate (with the patch) and would-refuse (with the fix) apart', () => {
    const [a, b, c] = auditObjects([safe, defaults, recreate], deps());
    assert.equal(a!.verdict, 'compliant');
    assert.equal(b!.verdict, 'would-mutate');
    assert.ok(b!.patch.some((op) => op.path === '/spec/template/spec/terminationGracePeriodSeconds'));
    assert.equal(c!.verdict, 'would-refuse');
    assert.equal(c!.fixes[0]!.field, 'spec.strategy.type');
    assert.match(c!.fixes[0]!.message, /Fix:\n {2}spec:\n {4}strategy:/);
    assert.equal(auditSummary([a!, b!, c!]), '3 objects: 1 compliant, 1 would be mutated, 1 would be refused, 0 would be warned, 0 not judged');
  });

  it('in mode validate what mutate would fix is refused; in warn it is would-warn with the whole fix', () => {
    const validate = auditObjects([defaults], deps([{ name: 'v', spec: { mode: 'validate' } }]))[0]!;
    assert.equal(validate.verdict, 'would-refuse');
    assert.equal(validate.mode, 'validate');
    const warn = auditObjects([defaults], deps([{ name: 'w', spec: { mode: 'warn' } }]))[0]!;
    assert.equal(warn.verdict, 'would-warn');
    assert.ok(warn.fixes.some((f) => /Fix:/.test(f.message)), 'the fix is kept whole');
  });

  it('mode off and exempt namespaces are not judged, and say why; label-selected policies see the labels given', () => {
    const policies: TransportPolicy[] = [
      { name: 'off', spec: { mode: 'off', namespaceSelector: { matchLabels: { team: 'legacy' } } } },
      { name: 'exempting', spec: { exemptNamespaces: ['tools'] } },
    ];
    const service = mcpService('svc', { namespace: 'old', annotations: { protocol: 'sse' } });
    const [svc, dep] = auditObjects([service, recreate], deps(policies, new Map([['old', { team: 'legacy' }]])));
    assert.deepEqual([svc!.verdict, svc!.reason], ['not-judged', 'mode off']);
    assert.deepEqual([dep!.verdict, dep!.reason], ['not-judged', 'exempt (MCPTransportPolicy exempting)']);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditObjects, auditSummary, unlabelledRoutes } from '../../../src/admission/audit.ts';
import type { TransportPolicy } from '../../../src/policy/transport-policy.ts';
import { staticSettings } from '../../../src/settings/static-source.ts';
import { mcpDeployment, mcpHTTPRoute, mcpIngress, mcpService } from '../../support/objects.ts';

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

  it('an SSE Service stored before mcp-admission added Traefik nativeLB is would-mutate, with both keys in the patch', () => {
    const stored = mcpService('weather', { namespace: 'tools', annotations: { protocol: 'sse' } }, {
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    });
    const [entry] = auditObjects([stored], deps());
    assert.equal(entry!.verdict, 'would-mutate');
    assert.deepEqual(entry!.changes, ['traefik.ingress.kubernetes.io/service.nativelb (unset) -> true', 'traefik.io/service.nativelb (unset) -> true']);
  });

  it('objects as a client library lists them (fields set to undefined) are judged as the JSON the API server sent', () => {
    // @kubernetes/client-node's ObjectSerializer keeps absent fields as undefined, e.g. a ClusterIP Service's status.loadBalancer.ingress.
    const listed = { ...mcpService('weather', { namespace: 'tools', annotations: { protocol: 'sse' } }), status: { loadBalancer: { ingress: undefined } } };
    const [entry] = auditObjects([listed], deps());
    assert.equal(entry!.verdict, 'would-mutate');
    assert.ok(entry!.patch.every((op) => !op.path.startsWith('/status')), JSON.stringify(entry!.patch));
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

  it('lists unlabelled routes to SSE MCP Services with the label to add, skipping labelled, non-SSE, exempt and off', () => {
    const sse = (ns: string) => mcpService('legacy', { namespace: ns, annotations: { protocol: 'sse' } });
    const http = mcpService('modern', { namespace: 'tools', annotations: { protocol: 'streamable-http' } });
    const routes = [
      mcpIngress('legacy', 'nginx', { namespace: 'tools', unlabelled: true }),
      mcpHTTPRoute('legacy', 'gw', { namespace: 'tools', unlabelled: true }),
      mcpIngress('labelled', 'nginx', { namespace: 'tools', services: ['legacy'] }),
      mcpIngress('modern', 'nginx', { namespace: 'tools', unlabelled: true }),
      mcpIngress('legacy', 'nginx', { namespace: 'free', unlabelled: true }),
      mcpIngress('legacy', 'nginx', { namespace: 'old', unlabelled: true }),
    ];
    const policies: TransportPolicy[] = [
      { name: 'exempting', spec: { exemptNamespaces: ['free'] } },
      { name: 'off', spec: { mode: 'off', namespaceSelector: { matchLabels: { team: 'legacy' } } } },
    ];
    const found = unlabelledRoutes(routes, [sse('tools'), http, sse('free'), sse('old')], deps(policies, new Map([['old', { team: 'legacy' }]])));
    assert.deepEqual(found.map((r) => [r.kind, r.namespace, r.name]), [['Ingress', 'tools', 'legacy'], ['HTTPRoute', 'tools', 'legacy']]);
    assert.match(found[0]!.message, /Fix: kubectl label ingress\/legacy -n tools app\.kubernetes\.io\/component=mcp-server/);
  });
});

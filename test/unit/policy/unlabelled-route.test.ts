import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { factsFromObjects } from '../../../src/admission/object-facts.ts';
import { BUILT_IN_SETTINGS } from '../../../src/policy/transport-settings.ts';
import { unlabelledRouteFinding } from '../../../src/policy/unlabelled-route.ts';
import { mcpHTTPRoute, mcpIngress, mcpService } from '../../support/objects.ts';

const ns = 'tools';
const settings = { ...BUILT_IN_SETTINGS, sources: [] };
const facts = factsFromObjects([
  mcpService('weather', { namespace: ns, annotations: { protocol: 'sse' } }),
  mcpService('modern', { namespace: ns, annotations: { protocol: 'streamable-http' } }),
  mcpService('undetected', { namespace: ns }),
  mcpService('other', { namespace: ns, annotations: { protocol: 'sse' }, unlabelled: true }),
]);

describe('unlabelled routes to SSE servers', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ['an unlabelled Ingress to an SSE MCP Service', mcpIngress('front', 'nginx', { namespace: ns, services: ['weather'], unlabelled: true }), true],
    ['an unlabelled HTTPRoute to an SSE MCP Service', mcpHTTPRoute('front', 'gw', { namespace: ns, services: ['modern', 'weather'], unlabelled: true }), true],
    ['an undetected MCP Service is SSE by policy', mcpIngress('front', 'nginx', { namespace: ns, services: ['undetected'], unlabelled: true }), true],
    ['a labelled route is the webhook\'s, not a report', mcpIngress('front', 'nginx', { namespace: ns, services: ['weather'] }), false],
    ['a route to a Streamable HTTP server', mcpHTTPRoute('front', 'gw', { namespace: ns, services: ['modern'], unlabelled: true }), false],
    ['a route to a Service that is not an MCP Service', mcpIngress('front', 'nginx', { namespace: ns, services: ['other'], unlabelled: true }), false],
    ['another kind', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } }, false],
  ];
  for (const [name, route, reported] of cases) {
    it(name, () => assert.equal(unlabelledRouteFinding(route, facts, settings) !== undefined, reported));
  }
  it('names the Service and gives the kubectl label command', () => {
    const finding = unlabelledRouteFinding(mcpIngress('front', 'nginx', { namespace: ns, services: ['weather'], unlabelled: true }), facts, settings)!;
    assert.equal(finding.field, 'metadata.labels');
    assert.match(finding.message, /SSE MCP Service "weather" without the label/);
    assert.match(finding.message, /Fix: kubectl label ingress\/front -n tools app\.kubernetes\.io\/component=mcp-server$/);
  });
  it('names at most three Services, so the fix is never cut from an Event', () => {
    const many = Array.from({ length: 5 }, (_, i) => mcpService(`sse-${i}`, { namespace: ns, annotations: { protocol: 'sse' } }));
    const route = mcpIngress('front', 'nginx', { namespace: ns, services: many.map((s) => s.metadata.name), unlabelled: true });
    const finding = unlabelledRouteFinding(route, factsFromObjects(many), settings)!;
    assert.match(finding.message, /SSE MCP Service "sse-0", "sse-1", "sse-2" and 2 more without the label/);
  });
});

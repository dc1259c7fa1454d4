import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { factsFromObjects } from '../../../src/admission/object-facts.ts';
import { Annotations } from '../../../src/contract.ts';
import { TRAEFIK_NATIVE_LB } from '../../../src/policy/front-door.ts';
import { durationSeconds, formatDuration, mutateHTTPRoute, validateHTTPRoute } from '../../../src/policy/http-route.ts';
import { HTTPRouteShape, type HTTPRoute } from '../../../src/policy/objects.ts';
import { BUILT_IN_SETTINGS, type TransportSettings } from '../../../src/policy/transport-settings.ts';
import { gateway, gatewayClass, mcpHTTPRoute, mcpService, type Manifest } from '../../support/objects.ts';

const ns = 'tools';
const settings = (overrides: Partial<TransportSettings> = {}): TransportSettings => ({ ...BUILT_IN_SETTINGS, sources: [], ...overrides });
const native = mcpService('native', { namespace: ns, annotations: { protocol: 'sse' } });
native.metadata.annotations[TRAEFIK_NATIVE_LB.gateway] = 'true';
const cluster: Manifest[] = [
  mcpService('weather', { namespace: ns, annotations: { protocol: 'sse' } }),
  mcpService('modern', { namespace: ns, annotations: { protocol: 'streamable-http' } }),
  native,
  gatewayClass('eg', 'gateway.envoyproxy.io/gatewayclass-controller'),
  gatewayClass('istio', 'istio.io/gateway-controller'),
  gatewayClass('traefik', 'traefik.io/gateway-controller'),
  gatewayClass('other', 'example.com/gateway'),
  gateway('eg', ns, 'eg'),
  gateway('istio', ns, 'istio'),
  gateway('traefik', ns, 'traefik'),
  gateway('other', ns, 'other'),
];
const facts = factsFromObjects(cluster);

const route = (gw: string, services: string[] = ['weather'], rule: Manifest = {}): HTTPRoute =>
  HTTPRouteShape.parse(mcpHTTPRoute('front', gw, { namespace: ns, services }, rule));

function judge(object: HTTPRoute, with_: TransportSettings = settings()) {
  const mutation = with_.mode === 'mutate' ? mutateHTTPRoute(object, with_, facts) : { object, changes: [] };
  const verdict = validateHTTPRoute(mutation.object, with_, facts);
  return {
    object: mutation.object,
    changes: mutation.changes,
    timeouts: (mutation.object.spec?.rules ?? []).map((r) => r.timeouts?.request),
    denied: verdict.denials.map((d) => d.field),
    warned: verdict.warnings.map((w) => w.field),
    denials: verdict.denials,
    warnings: verdict.warnings,
  };
}

describe('Gateway API durations (GEP-2257)', () => {
  const cases: Array<[string, number | undefined]> = [['1h', 3600], ['90m', 5400], ['3600s', 3600], ['1h30m', 5400], ['500ms', 0.5], ['0s', 0], ['1d', undefined], ['', undefined], ['123456s', undefined]];
  for (const [text, seconds] of cases) it(`${JSON.stringify(text)} is ${seconds}`, () => assert.equal(durationSeconds(text), seconds));
  it('whole seconds print in the largest unit that divides them', () => {
    assert.deepEqual([3600, 5400, 86400, 61].map(formatDuration), ['1h', '90m', '24h', '61s']);
  });
});

describe('HTTPRoute rules', () => {
  const cases: Array<{ name: string; object: HTTPRoute; settings?: TransportSettings; timeouts?: Array<string | undefined>; unchanged?: boolean; denied?: string[]; warned?: string[] }> = [
    { name: 'Envoy Gateway: an SSE rule gets timeouts.request as long as the stream; hashing is a warning with the policy', object: route('eg'), timeouts: ['1h'], warned: ['spec.parentRefs'] },
    { name: 'policy streamTimeoutSeconds sets the timeout', object: route('eg'), settings: settings({ streamTimeoutSeconds: 7200 }), timeouts: ['2h'], warned: ['spec.parentRefs'] },
    { name: 'only SSE rules are touched', object: route('eg', ['modern', 'weather']), timeouts: [undefined, '1h'], warned: ['spec.parentRefs'] },
    { name: 'a streamable-http route is left alone', object: route('eg', ['modern']), unchanged: true, timeouts: [undefined] },
    { name: 'a timeout as long as the stream is kept', object: route('eg', ['weather'], { timeouts: { request: '2h' } }), unchanged: true, timeouts: ['2h'], warned: ['spec.parentRefs'] },
    { name: '0s (no timeout) is kept', object: route('eg', ['weather'], { timeouts: { request: '0s' } }), unchanged: true, timeouts: ['0s'], warned: ['spec.parentRefs'] },
    {
      name: 'a shorter request timeout is kept and refused',
      object: route('eg', ['weather'], { timeouts: { request: '30s' } }),
      unchanged: true,
      timeouts: ['30s'],
      denied: ['spec.rules[0].timeouts.request'],
      warned: ['spec.parentRefs'],
    },
    {
      name: 'a shorter backendRequest timeout is refused, and request is still set',
      object: route('eg', ['weather'], { timeouts: { backendRequest: '60s' } }),
      timeouts: ['1h'],
      denied: ['spec.rules[0].timeouts.backendRequest'],
      warned: ['spec.parentRefs'],
    },
    { name: 'request is never set below a longer backendRequest (the CRD refuses that)', object: route('eg', ['weather'], { timeouts: { backendRequest: '2h' } }), timeouts: ['2h'], warned: ['spec.parentRefs'] },
    { name: 'mode validate refuses the missing timeout', object: route('eg'), settings: settings({ mode: 'validate' }), unchanged: true, timeouts: [undefined], denied: ['spec.rules[0].timeouts.request'], warned: ['spec.parentRefs'] },
    { name: 'policy without front-door mutation refuses instead', object: route('eg'), settings: settings({ allowFrontDoorMutation: false }), unchanged: true, denied: ['spec.rules[0].timeouts.request'], warned: ['spec.parentRefs'] },
    { name: 'Istio: no timeout added (unlimited by default); hashing is a warning with the DestinationRule', object: route('istio'), unchanged: true, timeouts: [undefined], warned: ['spec.parentRefs'] },
    { name: 'Traefik: nothing on the route; a Service stored with nativeLB passes, the trade-off a warning', object: route('traefik', ['native']), unchanged: true, timeouts: [undefined], warned: ['spec.parentRefs'] },
    { name: 'Traefik, mode mutate: a Service stored without nativeLB is admitted, with a warning at the backendRef', object: route('traefik'), unchanged: true, warned: ['spec.rules[0].backendRefs[0]'] },
    { name: 'Traefik, mode validate: a Service without nativeLB is refused at the backendRef', object: route('traefik'), settings: settings({ mode: 'validate' }), unchanged: true, denied: ['spec.rules[0].backendRefs[0]'] },
    { name: 'an unknown implementation: timeout set, and a warning naming it', object: route('other'), timeouts: ['1h'], warned: ['spec.parentRefs'] },
    { name: 'a Gateway mcp-admission does not know: timeout set, and a warning', object: route('nowhere'), timeouts: ['1h'], warned: ['spec.parentRefs'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = judge(c.object, c.settings);
      assert.equal(result.changes.length === 0, c.unchanged ?? false, `changes: ${result.changes.join(', ')}`);
      if (c.timeouts) assert.deepEqual(result.timeouts, c.timeouts);
      assert.deepEqual(result.denied, c.denied ?? []);
      assert.deepEqual(result.warned, c.warned ?? []);
    });
  }

  it('a second pass changes nothing; the applied annotation names the rules', () => {
    const first = judge(route('eg', ['modern', 'weather']));
    assert.equal(first.object.metadata.annotations?.[Annotations.applied], 'front door (Gateway API): timeouts.request 1h on SSE rules 1, so the route never ends a stream sooner');
    assert.deepEqual(mutateHTTPRoute(first.object, settings(), facts).changes, []);
  });

  it('Envoy Gateway: the warning carries the BackendTrafficPolicy to apply', () => {
    const { warnings } = judge(route('eg'));
    assert.match(warnings[0]!.message, /kind: BackendTrafficPolicy\n.*\n  name: front-mcp-sse\n  namespace: tools\nspec:\n  targetRefs:\n  - group: gateway.networking.k8s.io\n    kind: HTTPRoute\n    name: front\n  loadBalancer:\n    type: ConsistentHash\n    consistentHash:\n      type: SourceIP\n/);
  });
  it('Istio: the warning carries a DestinationRule per SSE Service', () => {
    const { warnings } = judge(route('istio'));
    assert.match(warnings[0]!.message, /kind: DestinationRule\nmetadata:\n  name: weather-mcp-sse\n  namespace: tools\nspec:\n  host: weather\.tools\.svc\.cluster\.local\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        useSourceIp: true\n/);
  });
  it('Traefik: the warning and the refusal name the Gateway API key of nativeLB', () => {
    assert.equal(judge(route('traefik')).warnings[0]!.fix, 'kubectl annotate service/weather -n tools traefik.io/service.nativelb=true, or re-apply the Service (mcp-admission adds it)');
    assert.match(judge(route('traefik'), settings({ mode: 'validate' })).denials[0]!.message, /kubectl annotate service\/weather -n tools --overwrite traefik\.io\/service\.nativelb=true/);
    assert.match(judge(route('traefik', ['native'])).warnings[0]!.message, /one replica of Service "native"/);
  });
  it('a refused timeout carries the patch that fixes it', () => {
    const { denials } = judge(route('eg', ['weather'], { timeouts: { request: '30s' } }));
    assert.match(denials[0]!.message, /kubectl patch httproute\/front -n tools --type=json -p '\[\{"op":"add","path":"\/spec\/rules\/0\/timeouts","value":\{"request":"1h"\}\}\]'/);
  });
});

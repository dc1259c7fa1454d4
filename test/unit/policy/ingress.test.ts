import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { factsFromObjects } from '../../../src/admission/object-facts.ts';
import { mutateRequest, validateRequest, type AdmissionDeps } from '../../../src/admission/admission.ts';
import type { AdmissionRequest } from '../../../src/admission/admission-review.ts';
import { Annotations } from '../../../src/contract.ts';
import { TRAEFIK_NATIVE_LB, type ClusterFacts } from '../../../src/policy/front-door.ts';
import { mutateIngress, NginxAnnotations, validateIngress } from '../../../src/policy/ingress.ts';
import { IngressShape, type Ingress } from '../../../src/policy/objects.ts';
import { BUILT_IN_SETTINGS, type TransportSettings } from '../../../src/policy/transport-settings.ts';
import { ingressClass, mcpDeployment, mcpIngress, mcpService, type Manifest } from '../../support/objects.ts';

const ns = 'tools';
const settings = (overrides: Partial<TransportSettings> = {}): TransportSettings => ({ ...BUILT_IN_SETTINGS, sources: [], ...overrides });

/** The cluster the routes are judged against. */
const cluster: Manifest[] = [
  mcpService('weather', { namespace: ns, annotations: { protocol: 'sse' } }),
  mcpService('modern', { namespace: ns, annotations: { protocol: 'streamable-http' } }),
  // Nothing declared on the Service: its Deployment was found to speak SSE (or not).
  mcpService('found-sse', { namespace: ns }),
  mcpDeployment('found-sse', { namespace: ns, annotations: { 'detected-protocol': 'sse' } }),
  mcpService('found-http', { namespace: ns }),
  mcpDeployment('found-http', { namespace: ns, annotations: { 'detected-protocol': 'streamable-http' } }),
  mcpService('native', {
    namespace: ns,
    annotations: { protocol: 'sse' },
  }),
  ingressClass('nginx', 'k8s.io/ingress-nginx', true),
  ingressClass('traefik', 'traefik.io/ingress-controller'),
  ingressClass('alb', 'ingress.k8s.aws/alb'),
  ingressClass('gce', 'k8s.io/ingress-gce'),
  ingressClass('haproxy', 'haproxy.org/ingress-controller'),
  ingressClass('other', 'example.com/proxy'),
];
// As the Service webhook stores it: with Traefik told to use the ClusterIP.
(cluster[6]!.metadata.annotations as Record<string, string>)[TRAEFIK_NATIVE_LB.ingress] = 'true';
const facts = factsFromObjects(cluster);

const ingress = (className: string | undefined, options: { services?: string[]; annotations?: Record<string, string> } = {}): Ingress =>
  IngressShape.parse(mcpIngress('front', className, { namespace: ns, services: options.services ?? ['weather'], annotations: options.annotations }));

const NGINX_SET = [NginxAnnotations.upstreamHashBy, NginxAnnotations.proxyReadTimeout, NginxAnnotations.proxySendTimeout, NginxAnnotations.proxyBuffering];
const field = (key: string): string => `metadata.annotations[${key}]`;

/** Mutation (when the mode allows it), then validation of the result, as the API server chains them. */
function judge(object: Ingress, with_: TransportSettings = settings(), withFacts: ClusterFacts = facts) {
  const mutation = with_.mode === 'mutate' ? mutateIngress(object, with_, withFacts) : { object, changes: [] };
  const verdict = validateIngress(mutation.object, with_, withFacts);
  return {
    object: mutation.object,
    annotations: mutation.object.metadata.annotations ?? {},
    changes: mutation.changes,
    denied: verdict.denials.map((d) => d.field),
    warned: verdict.warnings.map((w) => w.field),
    denials: verdict.denials,
    warnings: verdict.warnings,
  };
}

describe('Ingress rules: ingress-nginx', () => {
  const cases: Array<{
    name: string;
    object: Ingress;
    settings?: TransportSettings;
    facts?: ClusterFacts;
    set?: Record<string, string>;
    unchanged?: boolean;
    denied?: string[];
    warned?: string[];
  }> = [
    {
      name: 'an SSE backend gets client-address hashing, stream-long timeouts and no buffering',
      object: ingress('nginx'),
      set: {
        [NginxAnnotations.upstreamHashBy]: '$remote_addr',
        [NginxAnnotations.proxyReadTimeout]: '3600',
        [NginxAnnotations.proxySendTimeout]: '3600',
        [NginxAnnotations.proxyBuffering]: 'off',
      },
    },
    { name: 'policy streamTimeoutSeconds sets the timeouts', object: ingress('nginx'), settings: settings({ streamTimeoutSeconds: 600 }), set: { [NginxAnnotations.proxyReadTimeout]: '600' } },
    { name: 'a streamable-http backend is left alone', object: ingress('nginx', { services: ['modern'] }), unchanged: true },
    { name: 'a Deployment found to speak SSE makes its Service SSE', object: ingress('nginx', { services: ['found-sse'] }), set: { [NginxAnnotations.upstreamHashBy]: '$remote_addr' } },
    { name: 'a Deployment found to speak Streamable HTTP makes its Service so', object: ingress('nginx', { services: ['found-http'] }), unchanged: true },
    { name: 'one SSE backend among others is enough', object: ingress('nginx', { services: ['modern', 'weather'] }), set: { [NginxAnnotations.proxyBuffering]: 'off' } },
    {
      name: 'a Service mcp-admission does not know is judged by policy, and says so',
      object: ingress('nginx', { services: ['elsewhere'] }),
      set: { [NginxAnnotations.upstreamHashBy]: '$remote_addr' },
      warned: ['spec.rules[0].http.paths[0].backend.service.name'],
    },
    { name: '... and left alone when policy assumes streamable-http', object: ingress('nginx', { services: ['elsewhere'] }), settings: settings({ undetectedProtocol: 'streamable-http' }), unchanged: true },
    { name: 'the default IngressClass serves an Ingress without a class', object: ingress(undefined), set: { [NginxAnnotations.upstreamHashBy]: '$remote_addr' } },
    {
      name: 'the legacy kubernetes.io/ingress.class annotation names the controller',
      object: ingress(undefined, { annotations: { 'kubernetes.io/ingress.class': 'nginx' } }),
      facts: factsFromObjects(cluster.filter((o) => o.kind !== 'IngressClass')),
      set: { [NginxAnnotations.proxyBuffering]: 'off' },
    },
    { name: 'values that keep sessions are kept', object: ingress('nginx', { annotations: { [NginxAnnotations.proxyReadTimeout]: '7200', [NginxAnnotations.upstreamHashBy]: '$binary_remote_addr' } }), set: { [NginxAnnotations.proxyReadTimeout]: '7200', [NginxAnnotations.upstreamHashBy]: '$binary_remote_addr', [NginxAnnotations.proxySendTimeout]: '3600' } },
    { name: 'a read timeout shorter than the stream is kept and refused', object: ingress('nginx', { annotations: { [NginxAnnotations.proxyReadTimeout]: '60' } }), set: { [NginxAnnotations.proxyReadTimeout]: '60' }, denied: [field(NginxAnnotations.proxyReadTimeout)] },
    { name: 'a send timeout that does not parse is refused', object: ingress('nginx', { annotations: { [NginxAnnotations.proxySendTimeout]: '1h' } }), denied: [field(NginxAnnotations.proxySendTimeout)] },
    { name: 'hashing by anything but the client address is refused', object: ingress('nginx', { annotations: { [NginxAnnotations.upstreamHashBy]: '$request_uri' } }), denied: [field(NginxAnnotations.upstreamHashBy)] },
    { name: 'buffering on is refused', object: ingress('nginx', { annotations: { [NginxAnnotations.proxyBuffering]: 'on' } }), denied: [field(NginxAnnotations.proxyBuffering)] },
    {
      name: 'cookie affinity is refused, and nothing is added around it',
      object: ingress('nginx', { annotations: { [NginxAnnotations.affinity]: 'cookie' } }),
      unchanged: true,
      denied: [field(NginxAnnotations.affinity), ...NGINX_SET.map(field)],
    },
    { name: 'mode validate refuses every missing setting', object: ingress('nginx'), settings: settings({ mode: 'validate' }), unchanged: true, denied: NGINX_SET.map(field) },
    { name: 'policy without front-door mutation refuses instead of changing', object: ingress('nginx'), settings: settings({ allowFrontDoorMutation: false }), unchanged: true, denied: NGINX_SET.map(field) },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = judge(c.object, c.settings, c.facts);
      assert.equal(result.changes.length === 0, c.unchanged ?? false, `changes: ${result.changes.join(', ')}`);
      for (const [key, value] of Object.entries(c.set ?? {})) assert.equal(result.annotations[key], value, key);
      assert.deepEqual(result.denied, c.denied ?? []);
      assert.deepEqual(result.warned, c.warned ?? []);
    });
  }

  it('a second pass changes nothing, and the applied annotation says what is in force', () => {
    const first = judge(ingress('nginx'));
    assert.match(first.annotations[Annotations.applied] ?? '', /ingress-nginx.*upstream-hash-by \$remote_addr.*3600s.*proxy-buffering off/);
    assert.deepEqual(mutateIngress(first.object, settings(), facts).changes, []);
  });

  it('a refusal carries the YAML and the kubectl command that fix it', () => {
    const { denials } = judge(ingress('nginx', { annotations: { [NginxAnnotations.proxyReadTimeout]: '60' } }));
    assert.match(denials[0]!.message, /60 s by default/);
    assert.match(denials[0]!.message, /nginx\.ingress\.kubernetes\.io\/proxy-read-timeout: "3600"/);
    assert.match(denials[0]!.message, /kubectl annotate ingress\/front -n tools --overwrite 'nginx\.ingress\.kubernetes\.io\/proxy-read-timeout=3600'/);
  });
});

describe('Ingress rules: controllers mcp-admission cannot configure on the Ingress', () => {
  it('Traefik: a Service stored with nativeLB passes, nothing on the Ingress changes; the trade-off is a warning on the class', () => {
    const result = judge(ingress('traefik', { services: ['native'] }));
    assert.deepEqual([result.changes, result.denied, result.warned], [[], [], ['spec.ingressClassName']]);
    assert.match(result.warnings[0]!.message, /every session through one Traefik instance lands on one replica of Service "native"/);
    assert.match(result.warnings[0]!.message, /kube-proxy.*sees the Traefik pod as the client/);
  });
  it('Traefik, mode mutate: a Service stored without nativeLB is admitted with a warning at the backend: why, and the one command', () => {
    const result = judge(ingress('traefik'));
    assert.deepEqual([result.changes, result.denied, result.warned], [[], [], ['spec.rules[0].http.paths[0].backend.service.name']]);
    const { message, fix } = result.warnings[0]!;
    assert.match(message, /Service "weather" was stored without traefik\.ingress\.kubernetes\.io\/service\.nativelb/);
    assert.match(message, /SSE sessions through Traefik are not sticky yet/);
    assert.equal(fix, 'kubectl annotate service/weather -n tools traefik.ingress.kubernetes.io/service.nativelb=true, or re-apply the Service (mcp-admission adds it)');
    assert.ok(message.endsWith(`Fix: ${fix}`), message);
  });
  it('Traefik: a Service referenced twice gets one finding', () => {
    const result = judge(ingress('traefik', { services: ['weather', 'weather'] }));
    assert.deepEqual(result.warned, ['spec.rules[0].http.paths[0].backend.service.name']);
  });
  const refused: Array<[string, TransportSettings, Manifest | undefined]> = [
    ['mode validate', settings({ mode: 'validate' }), undefined],
    ['policy without front-door mutation', settings({ allowFrontDoorMutation: false }), undefined],
    ['a Service that says "false" (the user\'s value, kept by mutate)', settings(), mcpService('weather', { namespace: ns, annotations: { protocol: 'sse', [TRAEFIK_NATIVE_LB.ingress]: 'false' } as Record<string, string> })],
    ['a Service that opted out of affinity (mutate adds nothing to it)', settings(), mcpService('weather', { namespace: ns, annotations: { protocol: 'sse', 'session-affinity': 'false' } })],
  ];
  for (const [name, with_, stored] of refused) {
    it(`Traefik, ${name}: refused at the backend, with the same annotate command`, () => {
      const withFacts = stored ? factsFromObjects([...cluster.filter((o) => o.metadata.name !== 'weather'), stored]) : facts;
      const result = judge(ingress('traefik'), with_, withFacts);
      assert.deepEqual([result.denied, result.warned], [['spec.rules[0].http.paths[0].backend.service.name'], []]);
      assert.match(result.denials[0]!.message, /kubectl annotate service\/weather -n tools --overwrite traefik\.ingress\.kubernetes\.io\/service\.nativelb=true/);
      assert.match(result.denials[0]!.message, /one Traefik instance share one replica/);
    });
  }
  const warned: Array<[string, string, RegExp]> = [
    ['alb', 'ingress.k8s.aws/alb', /cookie stickiness.*idle_timeout\.timeout_seconds=3600/],
    ['gce', 'k8s.io/ingress-gce', /BackendConfig.*CLIENT_IP.*timeoutSec: 3600/],
    ['haproxy', 'haproxy.org/ingress-controller', /source.*3600s/],
    ['other', 'example.com/proxy', /does not know how to configure it.*client address.*unbuffered.*3600s/],
    ['missing', 'IngressClass "missing" (not found)', /does not know how to configure it/],
  ];
  for (const [className, controller, fix] of warned) {
    it(`${className}: a warning naming ${controller}, with the fix; nothing refused or changed`, () => {
      const result = judge(ingress(className));
      assert.deepEqual([result.changes, result.denied, result.warned], [[], [], ['spec.ingressClassName']]);
      assert.ok(result.warnings[0]!.message.startsWith(controller), result.warnings[0]!.message);
      assert.match(result.warnings[0]!.message.replace(/\n/g, ' '), fix);
    });
  }
  it('no class and no default: a warning that says so', () => {
    const result = judge(ingress(undefined), settings(), factsFromObjects(cluster.filter((o) => o.kind !== 'IngressClass')));
    assert.deepEqual(result.warned, ['spec']);
    assert.match(result.warnings[0]!.message, /no IngressClass/);
  });
});

describe('Ingress through the admission adapter', () => {
  const deps = (mode: TransportSettings['mode']): AdmissionDeps => ({ settings: { settingsFor: () => settings({ mode }) }, ownNamespace: 'mcp-admission', facts });
  const request = (object: unknown): AdmissionRequest => ({
    uid: 'u1',
    kind: { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' },
    operation: 'CREATE',
    namespace: ns,
    name: 'front',
    object,
  });
  it('mutate patches a labelled Ingress', () => {
    const outcome = mutateRequest(request(mcpIngress('front', 'nginx', { namespace: ns, services: ['weather'] })), deps('mutate'));
    assert.equal(outcome.decision, 'patched');
    assert.ok(outcome.result.patch?.some((op) => op.path === '/metadata/annotations/nginx.ingress.kubernetes.io~1upstream-hash-by'));
  });
  it('an unlabelled Ingress is not judged', () => {
    const object = mcpIngress('front', 'nginx', { namespace: ns, services: ['weather'], unlabelled: true });
    assert.equal(mutateRequest(request(object), deps('mutate')).decision, 'skipped');
    assert.equal(validateRequest(request(object), deps('validate')).decision, 'skipped');
  });
  it('mode warn turns refusals into warnings', () => {
    const outcome = validateRequest(request(mcpIngress('front', 'nginx', { namespace: ns, services: ['weather'] })), deps('warn'));
    assert.equal(outcome.result.allowed, true);
    assert.equal(outcome.result.warnings?.length, 4);
  });
  it('mode mutate admits a Traefik Ingress to a Service stored without nativeLB; the warning keeps its command whole', () => {
    const object = mcpIngress('front', 'traefik', { namespace: ns, services: ['weather'] });
    assert.equal(mutateRequest(request(object), deps('mutate')).decision, 'allowed');
    const outcome = validateRequest(request(object), deps('mutate'));
    assert.equal(outcome.result.allowed, true);
    const warning = outcome.result.warnings?.find((w) => w.includes('not sticky yet')) ?? '';
    assert.match(warning, /Fix: kubectl annotate service\/weather -n tools traefik\.ingress\.kubernetes\.io\/service\.nativelb=true, or re-apply the Service \(mcp-admission adds it\)$/);
  });
  it('with the longest names Kubernetes allows, that warning still ends with the whole command, within 512 characters', () => {
    const long = { ns: `n${'s'.repeat(62)}`, svc: `w${'x'.repeat(62)}` };
    const stored = mcpService(long.svc, { namespace: long.ns, annotations: { protocol: 'sse' } });
    const withFacts: AdmissionDeps = { ...deps('mutate'), facts: factsFromObjects([stored, ...cluster.filter((o) => o.kind === 'IngressClass')]) };
    const object = mcpIngress('front', 'traefik', { namespace: long.ns, services: [long.svc] });
    const outcome = validateRequest({ ...request(object), namespace: long.ns }, withFacts);
    const warning = outcome.result.warnings?.find((w) => w.includes('Fix: kubectl annotate')) ?? '';
    assert.ok(warning.endsWith(`Fix: kubectl annotate service/${long.svc} -n ${long.ns} traefik.ingress.kubernetes.io/service.nativelb=true, or re-apply the Service (mcp-admission adds it)`), warning);
    assert.ok(warning.length <= 512, `${warning.length} characters`);
    assert.ok(warning.startsWith('mcp-admission: spec.rules[0].http.paths[0].backend.service.name: Service '), warning);
  });
  it('mode validate refuses that Traefik Ingress, with the same command', () => {
    const outcome = validateRequest(request(mcpIngress('front', 'traefik', { namespace: ns, services: ['weather'] })), deps('validate'));
    assert.equal(outcome.decision, 'denied');
    assert.match(outcome.result.status?.message ?? '', /kubectl annotate service\/weather -n tools --overwrite traefik\.ingress\.kubernetes\.io\/service\.nativelb=true/);
  });
  it('mode validate refuses with every problem', () => {
    const outcome = validateRequest(request(mcpIngress('front', 'nginx', { namespace: ns, services: ['weather'] })), deps('validate'));
    assert.equal(outcome.decision, 'denied');
    assert.match(outcome.result.status?.message ?? '', /refused ingress "front" in namespace "tools" \(4 problems\)/);
  });
});

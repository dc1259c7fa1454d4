import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import inject from 'light-my-request';
import { pino } from 'pino';
import { createApp, MAX_BODY_BYTES } from '../../../src/server/app.ts';
import { createMetrics } from '../../../src/server/metrics.ts';
import { staticSettings } from '../../../src/settings/static-source.ts';
import { fixture } from '../../support/fixtures.ts';

function app(options: { ready?: boolean; throwing?: boolean } = {}) {
  const metrics = createMetrics({ defaultMetrics: false });
  const settings = staticSettings();
  return {
    metrics,
    app: createApp({
      admission: {
        settings: options.throwing ? { settingsFor: () => { throw new Error('boom'); } } : settings,
        ownNamespace: 'mcp-admission',
      },
      logger: pino({ level: 'silent' }),
      metrics,
      ready: () => options.ready ?? true,
    }),
  };
}

const post = (path: string, payload: string | Buffer | object, contentType = 'application/json') =>
  inject(app().app, {
    method: 'POST',
    url: path,
    headers: { 'content-type': contentType },
    payload: typeof payload === 'object' && !Buffer.isBuffer(payload) ? JSON.stringify(payload) : payload,
  });

const decodePatch = (body: any) => JSON.parse(Buffer.from(body.response.patch, 'base64').toString('utf8'));

describe('POST /mutate and /validate', () => {
  it('answers an SSE Deployment with the exact patch', async () => {
    const review = fixture('deployment-sse');
    const res = await post('/mutate', review);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual({ ...body, response: { ...body.response, patch: '<checked below>' } }, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: '<checked below>' },
    });
    assert.deepEqual(decodePatch(body), [
      { op: 'replace', path: '/spec/template/spec/terminationGracePeriodSeconds', value: 120 },
      { op: 'replace', path: '/spec/strategy/rollingUpdate/maxUnavailable', value: 0 },
      { op: 'add', path: '/metadata/annotations/mcp-admission.dev~1applied', value: 'SSE settings: strategy RollingUpdate(maxSurge 25%, maxUnavailable 0); terminationGracePeriodSeconds 120' },
    ]);
  });

  it('logs what a patch changes, in words, without the object', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const metrics = createMetrics({ defaultMetrics: false });
    const logged = createApp({ admission: { settings: staticSettings(), ownNamespace: 'mcp-admission' }, logger, metrics, ready: () => true });
    const review = fixture('deployment-sse');
    review.request.object.spec.strategy.rollingUpdate.maxSurge = `${'9'.repeat(1000)}%`;
    await inject(logged, { method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(review) });
    const line = lines.find((l) => l.msg === 'admission review');
    assert.equal(line?.decision, 'patched');
    const changes = line?.changes as string[];
    assert.equal(changes.length, 2);
    assert.match(changes[0]!, /^strategy RollingUpdate\(maxSurge 9{100}/);
    assert.ok(changes.every((c) => c.length <= 200), 'each change line is bounded');
    assert.equal(changes[1], 'terminationGracePeriodSeconds 30 -> 120');
    assert.equal(line?.object, undefined);
  });

  it('answers v1beta1 in v1beta1', async () => {
    const review = { ...fixture('service-sse'), apiVersion: 'admission.k8s.io/v1beta1' };
    const body = (await post('/mutate', review)).json();
    assert.equal(body.apiVersion, 'admission.k8s.io/v1beta1');
    assert.equal(body.response.uid, review.request.uid);
    assert.deepEqual(decodePatch(body).map((op: any) => op.path), ['/spec/sessionAffinity', '/spec/sessionAffinityConfig', '/metadata/annotations']);
  });

  it('answers a denial with exact JSON: 200 over HTTP, 403 in the review, one cause per field', async () => {
    const review = fixture('deployment-sse');
    review.request.object.spec.strategy = { type: 'Recreate' };
    review.request.object.spec.template.spec.terminationGracePeriodSeconds = 120;
    review.request.object.metadata.annotations['mcp-admission.dev/protocol'] = 'sse';
    const res = await post('/validate', review);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    const cause = body.response.status.details.causes[0];
    assert.deepEqual(body, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: review.request.uid,
        allowed: false,
        status: {
          code: 403,
          reason: 'Forbidden',
          message: `mcp-admission refused deployment "weather" in namespace "tools" (1 problem):\n\n1. spec.strategy.type: ${cause.message}\n`,
          details: { causes: [{ field: 'spec.strategy.type', message: cause.message, reason: 'FieldValueInvalid' }] },
        },
      },
    });
  });

  it('answers an allowed Service with no patch fields at all', async () => {
    const review = fixture('service-sse');
    review.request.object.spec.sessionAffinity = 'ClientIP';
    review.request.object.spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
    // The front-door annotations the Service rules add (src/policy/front-door.ts TRAEFIK_NATIVE_LB), already in place.
    review.request.object.metadata.annotations = { 'traefik.ingress.kubernetes.io/service.nativelb': 'true', 'traefik.io/service.nativelb': 'true' };
    assert.deepEqual((await post('/mutate', review)).json(), {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: review.request.uid, allowed: true },
    });
  });
});

describe('bad input gets a well-formed 4xx answer', () => {
  const uid = fixture('deployment-sse').request.uid;
  const cases: Array<[string, () => Promise<any>, number, number, string, RegExp]> = [
    ['wrong content type', () => post('/mutate', fixture('deployment-sse'), 'text/plain'), 415, 415, '', /content type must be application\/json/],
    ['empty body', () => post('/mutate', ''), 400, 400, '', /body is empty/],
    ['invalid JSON', () => post('/mutate', '{"apiVersion":'), 400, 400, '', /not valid JSON/],
    ['a JSON array', () => post('/mutate', '[]'), 400, 400, '', /not a JSON object/],
    ['wrong apiVersion, uid known', () => post('/mutate', { ...fixture('deployment-sse'), apiVersion: 'admission.k8s.io/v2' }), 200, 400, uid, /apiVersion "admission.k8s.io\/v2" is not supported/],
    ['wrong kind', () => post('/mutate', { ...fixture('deployment-sse'), kind: 'TokenReview' }), 200, 400, uid, /kind "TokenReview" is not AdmissionReview/],
    ['missing request', () => post('/mutate', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 400, 400, '', /has no request/],
    ['missing uid', () => { const r: any = fixture('deployment-sse'); delete r.request.uid; return post('/mutate', r); }, 400, 400, '', /request.uid/],
    ['unknown operation', () => { const r: any = fixture('deployment-sse'); r.request.operation = 'PATCH'; return post('/validate', r); }, 200, 400, uid, /request.operation/],
    ['object that does not match its resource', () => { const r: any = fixture('deployment-sse'); r.request.object.spec = 'nope'; return post('/mutate', r); }, 200, 400, uid, /does not match Deployment/],
    ['body over 7 MiB', () => post('/mutate', Buffer.alloc(MAX_BODY_BYTES + 1, 0x20)), 413, 413, '', /exceeds 7340032 bytes/],
  ];
  for (const [name, send, httpStatus, code, expectedUid, message] of cases) {
    it(name, async () => {
      const res = await send();
      assert.equal(res.statusCode, httpStatus);
      const body = res.json();
      assert.equal(body.kind, 'AdmissionReview');
      assert.equal(body.response.uid, expectedUid);
      assert.equal(body.response.allowed, false);
      assert.equal(body.response.status.code, code);
      assert.match(body.response.status.message, message);
    });
  }

  it('an unexpected throw is one 500 answer carrying the uid, and is counted', async () => {
    const { app: throwing, metrics } = app({ throwing: true });
    const review = fixture('deployment-sse');
    const res = await inject(throwing, { method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(review) });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().response, {
      uid: review.request.uid,
      allowed: false,
      status: { code: 500, message: 'mcp-admission failed to decide: boom' },
    });
    assert.match(await metrics.registry.metrics(), /mcp_admission_request_duration_seconds_count\{webhook="mutate",operation="CREATE",kind="Deployment",decision="errored",dry_run="false"\} 1/);
  });
});

describe('health and readiness', () => {
  it('/healthz answers ok; /readyz follows readiness', async () => {
    assert.equal((await inject(app().app, { url: '/healthz' })).statusCode, 200);
    assert.equal((await inject(app({ ready: true }).app, { url: '/readyz' })).statusCode, 200);
    assert.equal((await inject(app({ ready: false }).app, { url: '/readyz' })).statusCode, 503);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPatch as applyPatchRfc6902 } from 'rfc6902';
import { mutateRequest, validateRequest, type AdmissionDeps } from '../../../src/admission/admission.ts';
import type { AdmissionRequest } from '../../../src/admission/admission-review.ts';
import { Annotations } from '../../../src/contract.ts';
import type { Mode } from '../../../src/policy/transport-settings.ts';
import { resolveSettings } from '../../../src/policy/transport-policy.ts';
import { staticSettings } from '../../../src/settings/static-source.ts';
import { fixture } from '../../support/fixtures.ts';

const deps = (mode: Mode = 'mutate'): AdmissionDeps => ({
  settings: { settingsFor: (ns) => ({ ...resolveSettings([], ns, {}), mode }) },
  ownNamespace: 'mcp-admission',
});
const request = (name: 'deployment-sse' | 'service-sse' | 'policy', edit: (r: AdmissionRequest & { object: any }) => void = () => {}) => {
  const r = fixture(name).request as AdmissionRequest & { object: any };
  edit(r);
  return r;
};

/** Applies a patch with an independent RFC 6902 implementation, not the one that produced it. */
function applyIndependently(object: unknown, patch: unknown[]): any {
  const copy = structuredClone(object);
  const errors = applyPatchRfc6902(copy as object, patch as never).filter((e) => e !== null);
  assert.deepEqual(errors, [], 'every operation applies');
  return copy;
}

describe('scope', () => {
  const skipped: Array<[string, (r: any) => void]> = [
    ['DELETE passes untouched', (r) => (r.operation = 'DELETE')],
    ['CONNECT passes untouched', (r) => (r.operation = 'CONNECT')],
    ['kube-system is never judged', (r) => (r.namespace = 'kube-system')],
    ['kube-public is never judged', (r) => (r.namespace = 'kube-public')],
    ['kube-node-lease is never judged', (r) => (r.namespace = 'kube-node-lease')],
    ["the webhook's own namespace is never judged", (r) => (r.namespace = 'mcp-admission')],
    ['an object without the MCP label is not an MCP server', (r) => delete r.object.metadata.labels['app.kubernetes.io/component']],
    ['an object labelled with another component is not an MCP server', (r) => (r.object.metadata.labels['app.kubernetes.io/component'] = 'database')],
  ];
  for (const [name, edit] of skipped) {
    it(name, () => {
      for (const fx of ['deployment-sse', 'service-sse'] as const) {
        const r = request(fx, edit);
        if (r.operation === 'DELETE') r.object = undefined;
        assert.deepEqual(mutateRequest(r, deps()), { result: { allowed: true }, decision: 'skipped' });
        assert.deepEqual(validateRequest(r, deps()), { result: { allowed: true }, decision: 'skipped' });
      }
    });
  }

  it('an exempt namespace is never judged', () => {
    const exempting: AdmissionDeps = {
      settings: staticSettings([{ name: 'legacy', spec: { exemptNamespaces: ['tools'] } }]),
      ownNamespace: 'mcp-admission',
    };
    assert.equal(mutateRequest(request('deployment-sse'), exempting).decision, 'skipped');
  });

  it('an object that does not match its resource is a 400, not a crash', () => {
    const cases: Array<(r: any) => void> = [
      (r) => (r.object = 'a string'),
      (r) => (r.object = null),
      (r) => (r.object.kind = 'StatefulSet'),
      (r) => (r.object.spec.template.spec.containers = 'none'),
      (r) => (r.object.spec.replicas = 'two'),
      (r) => (r.object.metadata.annotations = { [Annotations.protocol]: 5 }),
      (r) => (r.kind = { group: 'apps', version: 'v1', kind: 'StatefulSet' }),
    ];
    for (const edit of cases) {
      const outcome = mutateRequest(request('deployment-sse', edit), deps());
      assert.equal(outcome.decision, 'invalid');
      assert.equal(outcome.result.allowed, false);
      assert.equal(outcome.result.status?.code, 400);
    }
  });
});

describe('objects with optional parts left out', () => {
  it('a labelled Service without spec is judged, not a TypeError', () => {
    const r = request('service-sse', (x) => delete x.object.spec);
    const mutation = mutateRequest(r, deps('mutate'));
    assert.equal(mutation.decision, 'patched');
    const stored = applyIndependently(r.object, mutation.result.patch ?? []);
    assert.deepEqual(stored.spec, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } });
    const verdict = validateRequest(r, deps('validate'));
    assert.equal(verdict.decision, 'denied');
    assert.deepEqual(verdict.result.status?.details?.causes.map((c) => c.field), ['spec.sessionAffinity']);
  });
});

describe("the prober's own updates", () => {
  /** An UPDATE as the prober's annotation patch arrives: oldObject as stored, object with the two annotations. */
  const proberUpdate = (name: 'deployment-sse' | 'service-sse', edit: (object: any) => void = () => {}) =>
    request(name, (r) => {
      r.operation = 'UPDATE';
      r.oldObject = structuredClone(r.object);
      r.object.metadata.annotations = {
        ...r.object.metadata.annotations,
        [Annotations.detectedProtocol]: 'sse',
        [Annotations.transportStatus]: JSON.stringify({ protocol: 'sse', detectedAt: '2026-01-01T00:00:00Z', reason: 'endpoint event' }),
      };
      r.object.metadata.resourceVersion = '2';
      r.object.metadata.managedFields = [{ manager: 'mcp-admission-prober', operation: 'Update' }];
      // kube-apiserver bumps a Deployment's generation on any annotation change (apps deployment strategy).
      if (name === 'deployment-sse') r.object.metadata.generation = ((r.oldObject as any).metadata.generation ?? 1) + 1;
      edit(r.object);
    });

  for (const mode of ['mutate', 'validate', 'warn'] as const) {
    it(`an annotation-only update of detected-protocol and transport-status is allowed in ${mode} mode`, () => {
      for (const name of ['deployment-sse', 'service-sse'] as const) {
        const r = proberUpdate(name);
        assert.equal(validateRequest(r, deps(mode)).result.allowed, true, `${name} in ${mode}`);
      }
    });
  }

  it('the same update still gets the SSE settings from the mutating webhook in mutate mode', () => {
    assert.equal(mutateRequest(proberUpdate('deployment-sse'), deps('mutate')).decision, 'patched');
  });

  it('an update that changes anything else besides is judged as usual', () => {
    const r = proberUpdate('deployment-sse', (object) => (object.spec.replicas = 3));
    assert.equal(validateRequest(r, deps('validate')).decision, 'denied');
    const other = proberUpdate('deployment-sse', (object) => (object.metadata.annotations[Annotations.protocol] = 'sse'));
    assert.equal(validateRequest(other, deps('validate')).decision, 'denied');
  });

  it('a CREATE carrying those annotations is judged as usual', () => {
    const r = proberUpdate('deployment-sse');
    r.operation = 'CREATE';
    delete r.oldObject;
    assert.equal(validateRequest(r, deps('validate')).decision, 'denied');
  });
});

describe('modes', () => {
  it('mutate: patches, and the patched object then passes validation', () => {
    const r = request('deployment-sse');
    const mutation = mutateRequest(r, deps('mutate'));
    assert.equal(mutation.decision, 'patched');
    const stored = applyIndependently(r.object, mutation.result.patch ?? []);
    assert.deepEqual(stored.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } });
    assert.equal(stored.spec.template.spec.terminationGracePeriodSeconds, 120);
    assert.equal(validateRequest({ ...r, object: stored }, deps('mutate')).result.allowed, true);
  });

  it('validate: never mutates, and denies what mutate would have fixed, with the fix', () => {
    const r = request('deployment-sse');
    assert.deepEqual(mutateRequest(r, deps('validate')).result, { allowed: true });
    const verdict = validateRequest(r, deps('validate'));
    assert.equal(verdict.result.allowed, false);
    assert.deepEqual(
      verdict.result.status?.details?.causes.map((c) => c.field),
      ['spec.strategy.rollingUpdate.maxUnavailable', 'spec.template.spec.terminationGracePeriodSeconds'],
    );
    assert.match(verdict.result.status?.message ?? '', /^mcp-admission refused deployment "weather" in namespace "tools" \(2 problems\):/);
    assert.match(verdict.result.status?.message ?? '', /maxUnavailable: 0/);
  });

  it('warn: every denial becomes a warning; nothing is mutated or refused', () => {
    const r = request('deployment-sse');
    assert.deepEqual(mutateRequest(r, deps('warn')).result, { allowed: true });
    const verdict = validateRequest(r, deps('warn'));
    assert.equal(verdict.result.allowed, true);
    assert.equal(verdict.decision, 'warned');
    assert.ok(verdict.result.warnings?.some((w) => w.startsWith('mcp-admission: would deny: spec.strategy.rollingUpdate.maxUnavailable:')));
    for (const w of verdict.result.warnings ?? []) assert.ok(w.length <= 256, `warning within the API server's 256 characters: ${w}`);
  });

  it('warn: each warning is its denial up to "Fix:", blanks folded, behind the marker', () => {
    // Word for word what the API server shows: the text before the first
    // "Fix:" (and the blanks before it), each run of blanks one space.
    const r = request('deployment-sse');
    const verdict = validateRequest(r, deps('warn'));
    assert.ok(verdict.wouldDeny && verdict.wouldDeny.length >= 2);
    const expected = verdict.wouldDeny
      .filter((d) => d.fix === undefined)
      .map((d) => {
        const text = `mcp-admission: would deny: ${`${d.field}: ${d.message}`.split(/\s*Fix:/)[0]!.replace(/\s+/g, ' ').trim()}`;
        return text.length <= 256 ? text : `${text.slice(0, 255)}…`;
      });
    assert.ok(expected.length >= 2);
    assert.deepEqual(verdict.result.warnings?.slice(0, expected.length), expected);
    assert.ok(verdict.wouldDeny.some((d) => /\sFix:/.test(d.message)), 'a denial with a fix after its problem');
  });

  it('off: nothing at all', () => {
    const r = request('deployment-sse', (x) => (x.object.spec.strategy = { type: 'Recreate' }));
    assert.equal(mutateRequest(r, deps('off')).decision, 'skipped');
    assert.equal(validateRequest(r, deps('off')).decision, 'skipped');
  });
});

describe('patches', () => {
  it('UPDATE where nothing changes: no patch fields at all', () => {
    const r = request('deployment-sse', (x) => {
      x.operation = 'UPDATE';
      x.object.spec.strategy.rollingUpdate.maxUnavailable = 0;
      x.object.spec.template.spec.terminationGracePeriodSeconds = 120;
    });
    assert.deepEqual(mutateRequest(r, deps()).result, { allowed: true });
  });

  it('are minimal and keep fields the rules do not know', () => {
    const r = request('deployment-sse', (x) => {
      x.object.spec.template.spec.someFutureField = { enabled: true };
      x.object.status = { observedGeneration: 4 };
    });
    const patch = mutateRequest(r, deps()).result.patch ?? [];
    assert.deepEqual(
      patch.map((op) => `${op.op} ${op.path}`).sort(),
      [
        'add /metadata/annotations/mcp-admission.dev~1applied',
        'replace /spec/strategy/rollingUpdate/maxUnavailable',
        'replace /spec/template/spec/terminationGracePeriodSeconds',
      ],
    );
    const stored = applyIndependently(r.object, patch);
    assert.deepEqual(stored.spec.template.spec.someFutureField, { enabled: true });
    assert.deepEqual(stored.status, { observedGeneration: 4 });
  });

  it('a second pass over the patched object yields no patch (reinvocationPolicy IfNeeded is safe)', () => {
    for (const fx of ['deployment-sse', 'service-sse'] as const) {
      const r = request(fx);
      const first = mutateRequest(r, deps());
      const stored = applyIndependently(r.object, first.result.patch ?? []);
      assert.deepEqual(mutateRequest({ ...r, object: stored }, deps()).result, { allowed: true }, fx);
    }
  });

  it('another mutator setting maxUnavailable 1 after us is undone on reinvocation, or refused', () => {
    const r = request('deployment-sse');
    const stored = applyIndependently(r.object, mutateRequest(r, deps()).result.patch ?? []);
    stored.spec.strategy.rollingUpdate.maxUnavailable = 1;
    const again = mutateRequest({ ...r, object: stored }, deps());
    assert.equal(applyIndependently(stored, again.result.patch ?? []).spec.strategy.rollingUpdate.maxUnavailable, 0);
    const verdict = validateRequest({ ...r, object: stored }, deps());
    assert.equal(verdict.result.allowed, false);
  });

  it('dryRun requests get the same decision', () => {
    const wet = mutateRequest(request('deployment-sse'), deps());
    const dry = mutateRequest(request('deployment-sse', (x) => (x.dryRun = true)), deps());
    assert.deepEqual(dry, wet);
  });
});

describe('MCPTransportPolicy objects', () => {
  it('a valid policy is allowed', () => {
    assert.deepEqual(validateRequest(request('policy'), deps()).result, { allowed: true });
  });

  it('an invalid one is refused with each field path', () => {
    const r = request('policy', (x) => {
      x.object.spec.bounds.minTerminationGracePeriodSeconds = 1000;
      x.object.spec.defaults.maxSurge = '0%';
    });
    const outcome = validateRequest(r, deps());
    assert.equal(outcome.result.allowed, false);
    assert.deepEqual(
      outcome.result.status?.details?.causes.map((c) => c.field),
      ['spec.bounds.minTerminationGracePeriodSeconds', 'spec.defaults.maxSurge', 'spec.defaults.terminationGracePeriodSeconds'],
    );
    assert.match(outcome.result.status?.message ?? '', /^mcp-admission refused MCPTransportPolicy "team-a" \(3 problems\)/);
  });

  it('is never mutated', () => {
    assert.deepEqual(mutateRequest(request('policy'), deps()).result, { allowed: true });
  });
});

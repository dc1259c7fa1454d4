import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Annotations } from '../../../src/contract.ts';
import type { Service } from '../../../src/policy/objects.ts';
import { TRAEFIK_NATIVE_LB } from '../../../src/policy/front-door.ts';
import { mutateService, validateService } from '../../../src/policy/service.ts';
import { BUILT_IN_SETTINGS, type TransportSettings } from '../../../src/policy/transport-settings.ts';
import { fixture } from '../../support/fixtures.ts';

/** The fixture's Service, which has a spec. */
type ServiceWithSpec = Service & { spec: NonNullable<Service['spec']> };
const service = (edit: (s: ServiceWithSpec) => void = () => {}): Service => {
  const s: ServiceWithSpec = fixture('service-sse').request.object;
  edit(s);
  return s;
};
const settings = (overrides: Partial<TransportSettings> = {}): TransportSettings => ({ ...BUILT_IN_SETTINGS, sources: [], ...overrides });
const annotate = (key: string, value: string) => (s: Service) => {
  s.metadata.annotations = { ...s.metadata.annotations, [key]: value };
};

function judge(object: Service, with_: TransportSettings = settings()) {
  const mutation = mutateService(object, with_);
  const verdict = validateService(mutation.object, with_);
  return {
    spec: mutation.object.spec,
    changed: mutation.changes.length > 0,
    denied: verdict.denials.map((d) => d.field),
    warned: verdict.warnings.map((w) => w.field),
  };
}

describe('Service rules', () => {
  const cases: Array<{ name: string; object: Service; settings?: TransportSettings; affinity?: string; timeout?: number; changed: boolean; denied?: string[]; warned?: string[] }> = [
    { name: 'SSE Service gets ClientIP affinity for 10800 s', object: service(), affinity: 'ClientIP', timeout: 10800, changed: true },
    { name: 'the timeout annotation sets the timeout', object: service(annotate(Annotations.sessionAffinityTimeoutSeconds, '3600')), affinity: 'ClientIP', timeout: 3600, changed: true },
    {
      name: 'a ClientIP timeout the user chose is kept',
      object: service((s) => {
        s.spec.sessionAffinity = 'ClientIP';
        s.spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 7200 } };
        s.metadata.annotations = { ...s.metadata.annotations, [TRAEFIK_NATIVE_LB.ingress]: 'true', [TRAEFIK_NATIVE_LB.gateway]: 'true' };
      }),
      affinity: 'ClientIP',
      timeout: 7200,
      changed: false,
    },
    { name: 'policy timeout applies', object: service(), settings: settings({ sessionAffinityTimeoutSeconds: 600 }), timeout: 600, changed: true },
    { name: 'streamable-http is left alone', object: service(annotate(Annotations.protocol, 'streamable-http')), affinity: 'None', changed: false },
    {
      name: 'opting out where allowed: no affinity, a warning',
      object: service(annotate(Annotations.sessionAffinity, 'false')),
      affinity: 'None',
      changed: false,
      warned: [`metadata.annotations[${Annotations.sessionAffinity}]`],
    },
    {
      name: 'opting out where forbidden: refused',
      object: service(annotate(Annotations.sessionAffinity, 'false')),
      settings: settings({ allowSessionAffinityOptOut: false }),
      affinity: 'None',
      changed: false,
      denied: [`metadata.annotations[${Annotations.sessionAffinity}]`, 'spec.sessionAffinity'],
    },
    {
      name: 'LoadBalancer with externalTrafficPolicy Cluster: affinity and a warning',
      object: service((s) => {
        s.spec.type = 'LoadBalancer';
        s.spec.externalTrafficPolicy = 'Cluster';
      }),
      affinity: 'ClientIP',
      changed: true,
      warned: ['spec.externalTrafficPolicy'],
    },
    {
      name: 'LoadBalancer with externalTrafficPolicy Local: no warning',
      object: service((s) => {
        s.spec.type = 'LoadBalancer';
        s.spec.externalTrafficPolicy = 'Local';
      }),
      affinity: 'ClientIP',
      changed: true,
    },
    {
      name: 'a headless Service without ports cannot hold affinity: warned, untouched',
      object: service((s) => {
        s.spec.clusterIP = 'None';
        delete s.spec.ports;
      }),
      affinity: 'None',
      changed: false,
      warned: ['spec.sessionAffinity'],
    },
    {
      name: 'an ExternalName Service: warned, untouched',
      object: service((s) => {
        s.spec = { type: 'ExternalName', externalName: 'mcp.example.com' } as never;
      }),
      changed: false,
      warned: ['spec.sessionAffinity'],
    },
    {
      name: 'a port annotation that names no port is refused with the ports there are',
      object: service(annotate(Annotations.port, 'http')),
      affinity: 'ClientIP',
      changed: true,
      denied: [`metadata.annotations[${Annotations.port}]`],
    },
    { name: 'a port annotation by number matches', object: service(annotate(Annotations.port, '80')), affinity: 'ClientIP', changed: true },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const result = judge(c.object, c.settings);
      const annotations = mutateService(c.object, c.settings ?? settings()).object.metadata.annotations ?? {};
      // Wherever ClientIP affinity is set, Traefik is told to use it (front-door.ts TRAEFIK_NATIVE_LB).
      if (c.changed && result.spec?.sessionAffinity === 'ClientIP') assert.equal(annotations[TRAEFIK_NATIVE_LB.ingress], 'true');
      assert.equal(result.changed, c.changed);
      if (c.affinity !== undefined) assert.equal(result.spec?.sessionAffinity, c.affinity);
      if (c.timeout !== undefined) assert.equal(result.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds, c.timeout);
      assert.deepEqual(result.denied, c.denied ?? []);
      assert.deepEqual(result.warned, c.warned ?? []);
    });
  }

  it('is idempotent', () => {
    for (const c of cases) {
      const first = mutateService(c.object, c.settings ?? settings());
      assert.deepEqual(mutateService(first.object, c.settings ?? settings()).changes, [], c.name);
    }
  });

  it('refuses a Service that something else left without affinity, with the fix', () => {
    const verdict = validateService(service(), settings());
    assert.equal(verdict.denials[0]?.field, 'spec.sessionAffinity');
    assert.match(verdict.denials[0]!.message, /sessionAffinity: ClientIP\n\s+sessionAffinityConfig:\n\s+clientIP:\n\s+timeoutSeconds: 10800/);
    assert.match(verdict.denials[0]!.message, /kubectl patch service\/weather -n tools --type=merge/);
  });

  describe('Traefik nativeLB (front door)', () => {
    it('an SSE Service gets both Traefik annotations, and the applied annotation states the trade-off', () => {
      const { object, changes } = mutateService(service(), settings());
      assert.equal(object.metadata.annotations?.[TRAEFIK_NATIVE_LB.ingress], 'true');
      assert.equal(object.metadata.annotations?.[TRAEFIK_NATIVE_LB.gateway], 'true');
      assert.ok(changes.includes(`${TRAEFIK_NATIVE_LB.gateway} (unset) -> true`));
      assert.match(object.metadata.annotations?.[Annotations.applied] ?? '', /Traefik nativeLB .*one Traefik instance share one replica/);
      assert.deepEqual(mutateService(object, settings()).changes, [], 'a second pass changes nothing');
    });
    it('policy without front-door mutation adds none', () => {
      const { object } = mutateService(service(), settings({ allowFrontDoorMutation: false }));
      assert.equal(object.metadata.annotations?.[TRAEFIK_NATIVE_LB.ingress], undefined);
    });
    it('a streamable-http Service gets none', () => {
      const { changes } = mutateService(service(annotate(Annotations.protocol, 'streamable-http')), settings());
      assert.deepEqual(changes, []);
    });
    for (const key of [TRAEFIK_NATIVE_LB.ingress, TRAEFIK_NATIVE_LB.gateway]) {
      it(`${key}: "false" is kept by mutate and refused with the fix`, () => {
        const result = judge(service(annotate(key, 'false')));
        assert.deepEqual(result.denied, [`metadata.annotations[${key}]`]);
        const verdict = validateService(service(annotate(key, 'false')), settings());
        assert.match(verdict.denials[0]!.message, new RegExp(`kubectl annotate service/\\S+ -n \\S+ --overwrite ${key.replace(/\./g, '\\.')}=true`));
      });
    }
  });
});

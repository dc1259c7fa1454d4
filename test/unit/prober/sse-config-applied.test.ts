/**
 * `sseConfigApplied` holds the object to what the webhook says it put in
 * place (issue 11, row 7): the grace period policy asks for, not just 30 s.
 * The prober stays free of policy code; the webhook's `applied` annotation
 * is the contract between them, so this test makes it with the webhook's
 * own mutation and reads it with the prober's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { Annotations } from '../../../src/contract.ts';
import { mutateDeployment } from '../../../src/policy/deployment.ts';
import type { Deployment, Service } from '../../../src/policy/objects.ts';
import { mutateService } from '../../../src/policy/service.ts';
import { BUILT_IN_SETTINGS, type TransportSettings } from '../../../src/policy/transport-settings.ts';
import { sseSettingsVisible } from '../../../src/prober/transport-status.ts';
import { deployment, service } from '../../support/fake-cluster.ts';

const policy = (changes: Partial<TransportSettings>): TransportSettings => ({ ...BUILT_IN_SETTINGS, ...changes });

/** An SSE Deployment as the webhook leaves it under `settings`. */
function mutated(settings: TransportSettings): V1Deployment {
  const d = deployment('t', 'd', 'd', { [Annotations.detectedProtocol]: 'sse' });
  d.spec!.template.spec!.containers = [{ name: 'mcp', image: 'x', ports: [{ name: 'mcp', containerPort: 8080 }] }];
  const result = mutateDeployment(d as unknown as Deployment, settings);
  assert.ok(result.changes.length > 0, 'the webhook changed something');
  return result.object as unknown as V1Deployment;
}

const visible = (object: V1Deployment) => sseSettingsVisible({ kind: 'Deployment', object });

describe('sseConfigApplied reads what the webhook applied', () => {
  it('is true on the object the webhook made, whatever grace the policy asks for', () => {
    for (const grace of [30, 120, 300, 1800]) {
      const d = mutated(policy({ terminationGracePeriodSeconds: grace }));
      assert.equal(d.spec!.template.spec!.terminationGracePeriodSeconds, grace);
      assert.equal(visible(d), true, `grace ${grace}`);
    }
  });

  it('is false once the grace period drops below what the policy asked for (300), even though it is at least 30', () => {
    const d = mutated(policy({ terminationGracePeriodSeconds: 300 }));
    d.spec!.template.spec!.terminationGracePeriodSeconds = 60;
    assert.equal(visible(d), false, String(d.metadata!.annotations![Annotations.applied]));
  });

  it('is false once the preStop sleep the policy asked for is gone', () => {
    const d = mutated(policy({ preStopSleepSeconds: 10 }));
    assert.equal(visible(d), true);
    delete d.spec!.template.spec!.containers[0]!.lifecycle;
    assert.equal(visible(d), false);
  });

  it('with no applied annotation (nothing was needed), the settings themselves decide', () => {
    const d = deployment('t', 'd', 'd');
    d.spec!.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } };
    d.spec!.template.spec!.terminationGracePeriodSeconds = 600;
    assert.equal(visible(d), true);
  });

  it('ignores an applied annotation it cannot read, rather than guessing', () => {
    const d = mutated(policy({}));
    d.metadata!.annotations![Annotations.applied] = 'SSE settings: terminationGracePeriodSeconds lots';
    assert.equal(visible(d), true);
  });

  it('Service: the affinity timeout the webhook applied', () => {
    const s = service('t', 's', {}, { [Annotations.detectedProtocol]: 'sse' });
    const result = mutateService(s as unknown as Service, policy({ sessionAffinityTimeoutSeconds: 3600 }));
    const applied = result.object as unknown as V1Service;
    assert.equal(sseSettingsVisible({ kind: 'Service', object: applied }), true);
    applied.spec!.sessionAffinityConfig = { clientIP: { timeoutSeconds: 60 } };
    assert.equal(sseSettingsVisible({ kind: 'Service', object: applied }), false);
  });
});

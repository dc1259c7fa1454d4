import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Annotations } from '../../../src/contract.ts';
import { parseWorkloadAnnotations } from '../../../src/policy/annotations.ts';
import { BUILT_IN_SETTINGS, type TransportSettings } from '../../../src/policy/transport-settings.ts';

const settings = (overrides: Partial<TransportSettings> = {}): TransportSettings => ({ ...BUILT_IN_SETTINGS, sources: [], ...overrides });

describe('annotation values that are refused', () => {
  const invalid: Array<[string, string, string, RegExp]> = [
    ['protocol: unknown word', Annotations.protocol, 'websocket', /not a protocol/],
    ['protocol: wrong case', Annotations.protocol, 'SSE', /not a protocol/],
    ['path: no leading slash', Annotations.path, 'mcp', /must start with "\/"/],
    ['path: spaces', Annotations.path, '/m cp', /no spaces/],
    ['port: zero', Annotations.port, '0', /neither a port number/],
    ['port: above 65535', Annotations.port, '65536', /neither a port number/],
    ['port: upper case name', Annotations.port, 'MCP', /neither a port number/],
    ['port: name longer than 15', Annotations.port, 'a-very-long-port-name', /neither a port number/],
    ['port: negative', Annotations.port, '-1', /neither a port number/],
    ['grace: words', Annotations.terminationGracePeriodSeconds, 'two minutes', /not a whole number/],
    ['grace: fraction', Annotations.terminationGracePeriodSeconds, '1.5', /not a whole number/],
    ['grace: negative', Annotations.terminationGracePeriodSeconds, '-30', /not a whole number/],
    ['grace: empty', Annotations.terminationGracePeriodSeconds, '', /not a whole number/],
    ['grace: below min 30', Annotations.terminationGracePeriodSeconds, '29', /outside the bounds policy allows \(30 to 3600/],
    ['grace: above max 3600', Annotations.terminationGracePeriodSeconds, '3601', /outside the bounds/],
    ['affinity: yes', Annotations.sessionAffinity, 'yes', /not "true" or "false"/],
    ['affinity: TRUE', Annotations.sessionAffinity, 'TRUE', /not "true" or "false"/],
    ['affinity timeout: 0', Annotations.sessionAffinityTimeoutSeconds, '0', /from 1 to 86400/],
    ['affinity timeout: 86401', Annotations.sessionAffinityTimeoutSeconds, '86401', /from 1 to 86400/],
    ['affinity timeout: words', Annotations.sessionAffinityTimeoutSeconds, '3h', /from 1 to 86400/],
  ];
  for (const [name, key, value, message] of invalid) {
    it(name, () => {
      const parsed = parseWorkloadAnnotations({ [key]: value }, settings());
      assert.equal(parsed.denials.length, 1);
      assert.equal(parsed.denials[0]!.field, `metadata.annotations[${key}]`);
      assert.match(parsed.denials[0]!.message, message);
      assert.match(parsed.denials[0]!.message, /Fix:/);
    });
  }
});

describe('annotation values that are accepted', () => {
  const valid: Array<[string, Record<string, string>, object]> = [
    ['no annotations', {}, { protocol: 'auto' }],
    ['protocol sse', { [Annotations.protocol]: 'sse' }, { protocol: 'sse' }],
    ['path and numeric port', { [Annotations.path]: '/sse', [Annotations.port]: '8080' }, { protocol: 'auto', path: '/sse', port: 8080 }],
    ['named port', { [Annotations.port]: 'mcp-http' }, { protocol: 'auto', port: 'mcp-http' }],
    ['grace at both bounds', { [Annotations.terminationGracePeriodSeconds]: '30' }, { protocol: 'auto', terminationGracePeriodSeconds: 30 }],
    ['grace at max', { [Annotations.terminationGracePeriodSeconds]: '3600' }, { protocol: 'auto', terminationGracePeriodSeconds: 3600 }],
    ['affinity true and timeout', { [Annotations.sessionAffinity]: 'true', [Annotations.sessionAffinityTimeoutSeconds]: '86400' }, { protocol: 'auto', sessionAffinity: true, sessionAffinityTimeoutSeconds: 86400 }],
  ];
  for (const [name, annotations, values] of valid) {
    it(name, () => {
      const parsed = parseWorkloadAnnotations(annotations, settings());
      assert.deepEqual(parsed.denials, []);
      assert.deepEqual(parsed.values, values);
    });
  }

  it('reports every bad annotation at once', () => {
    const parsed = parseWorkloadAnnotations(
      { [Annotations.protocol]: 'ws', [Annotations.port]: '0', [Annotations.terminationGracePeriodSeconds]: 'x' },
      settings(),
    );
    assert.equal(parsed.denials.length, 3);
  });
});

describe('bounds come from policy', () => {
  it('the grace annotation is held to the policy bounds', () => {
    const tight = settings({ minTerminationGracePeriodSeconds: 60, maxTerminationGracePeriodSeconds: 600 });
    assert.equal(parseWorkloadAnnotations({ [Annotations.terminationGracePeriodSeconds]: '45' }, tight).denials.length, 1);
    assert.equal(parseWorkloadAnnotations({ [Annotations.terminationGracePeriodSeconds]: '601' }, tight).denials.length, 1);
    assert.equal(parseWorkloadAnnotations({ [Annotations.terminationGracePeriodSeconds]: '600' }, tight).denials.length, 0);
  });

  it('opting out of affinity warns where policy allows it', () => {
    const parsed = parseWorkloadAnnotations({ [Annotations.sessionAffinity]: 'false' }, settings());
    assert.deepEqual(parsed.denials, []);
    assert.equal(parsed.values.sessionAffinity, false);
    assert.equal(parsed.warnings.length, 1);
  });

  it('opting out of affinity is refused where policy forbids it, naming the policy', () => {
    const parsed = parseWorkloadAnnotations(
      { [Annotations.sessionAffinity]: 'false' },
      settings({ allowSessionAffinityOptOut: false, sources: ['prod-defaults'] }),
    );
    assert.equal(parsed.denials.length, 1);
    assert.match(parsed.denials[0]!.message, /MCPTransportPolicy prod-defaults/);
  });
});

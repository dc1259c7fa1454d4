/**
 * A follower's count of each policy's state: its own check for invalid,
 * the holder's written Conflicting condition for the rest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateTransportPolicy } from '../../../src/policy/transport-policy.ts';
import { publishedStates } from '../../../src/status/policy-states.ts';
import type { StoredPolicy } from '../../../src/status/policy-status.ts';

const policy = (name: string, spec: object, status?: unknown): StoredPolicy => ({
  apiVersion: 'mcp-admission.dev/v1alpha1',
  kind: 'MCPTransportPolicy',
  metadata: { name, generation: 1 },
  spec,
  ...(status !== undefined && { status }),
});
const conflicting = (status: string) => ({ observedGeneration: 1, conditions: [{ type: 'Accepted', status: 'True' }, { type: 'Conflicting', status }] });

describe('publishedStates', () => {
  const cases: Array<[string, StoredPolicy, string]> = [
    ['no status yet', policy('p', {}), 'accepted'],
    ['Conflicting False', policy('p', {}, conflicting('False')), 'accepted'],
    ['Conflicting True', policy('p', {}, conflicting('True')), 'conflicting'],
    ['Conflicting Unknown (it was invalid when written)', policy('p', {}, conflicting('Unknown')), 'accepted'],
    ['a status that is not an object', policy('p', {}, 'written by hand'), 'accepted'],
    ['conditions that are not a list', policy('p', {}, { conditions: { type: 'Conflicting', status: 'True' } }), 'accepted'],
    ['a condition that is null', policy('p', {}, { conditions: [null, { type: 'Conflicting', status: 'True' }] }), 'conflicting'],
    ['invalid now, whatever was written', policy('p', { defaults: { maxSurge: 0 } }, conflicting('True')), 'invalid'],
  ];
  for (const [name, object, state] of cases) {
    it(name, () => assert.deepEqual(publishedStates([object], validateTransportPolicy), [state]));
  }
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareNames } from '../../../src/policy/name-order.ts';

/** Every string of up to two characters over DNS-subdomain characters, and some longer names. */
function dnsNames(): string[] {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-.';
  const names = [''];
  for (const a of alphabet) {
    names.push(a);
    for (const b of alphabet) names.push(a + b);
  }
  return [...names, 'team-a', 'team-a.b', 'team-ab', 'team.a', 'team0', 'team', 'default', 'default-1', 'default.1', 'mcp-2', 'mcp-10'];
}

describe('the order of policy names', () => {
  it("is localeCompare's on every pair of DNS-subdomain names", () => {
    const names = dnsNames();
    let differ = 0;
    let first = '';
    for (const a of names) {
      for (const b of names) {
        if (compareNames(a, b) !== Math.sign(a.localeCompare(b))) {
          differ += 1;
          first ||= `${JSON.stringify(a)} against ${JSON.stringify(b)}`;
        }
      }
    }
    assert.equal(differ, 0, `first difference: ${first}`);
  });

  it('follows localeCompare for names outside that alphabet, where code units would differ', () => {
    // Code units put every capital before every small letter; the collator does not.
    assert.equal(compareNames('team-a', 'Team-b'), Math.sign('team-a'.localeCompare('Team-b')));
    assert.equal(compareNames('team-a', 'Team-b'), -1);
    assert.equal(compareNames('b', 'A_b'), Math.sign('b'.localeCompare('A_b')));
    assert.equal(compareNames('z', 'é'), Math.sign('z'.localeCompare('é')));
    assert.equal(compareNames('Same', 'Same'), 0);
  });
});

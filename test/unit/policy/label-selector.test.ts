import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labelSelectorMatches, type LabelSelector } from '../../../src/policy/label-selector.ts';

describe('labelSelectorMatches', () => {
  const labels = { 'kubernetes.io/metadata.name': 'tools' };

  // A plain object's prototype answers `constructor`, `toString`, `__proto__`...:
  // a namespace has none of those labels, whatever Object.prototype holds.
  for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
    it(`"${key}" is a label the namespace does not have, not a property of every object`, () => {
      const expression = (operator: 'Exists' | 'DoesNotExist'): LabelSelector => ({ matchExpressions: [{ key, operator }] });
      assert.equal(labelSelectorMatches(expression('Exists'), labels), false);
      assert.equal(labelSelectorMatches(expression('DoesNotExist'), labels), true);
      assert.equal(labelSelectorMatches({ matchExpressions: [{ key, operator: 'NotIn', values: ['x'] }] }, labels), true);
      assert.equal(labelSelectorMatches({ matchExpressions: [{ key, operator: 'In', values: ['x'] }] }, labels), false);
    });
  }

  it('still matches real labels of those names', () => {
    const own = JSON.parse('{"constructor": "yes", "__proto__": "also"}') as Record<string, string>;
    assert.equal(labelSelectorMatches({ matchLabels: { constructor: 'yes' } }, own), true);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: '__proto__', operator: 'In', values: ['also'] }] }, own), true);
  });
});

/**
 * The per-namespace settings cache (issue 11 row 3): bounded by the
 * namespaces that exist, whatever names reviews carry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILT_IN_SETTINGS, type TransportSettings } from '../../../src/policy/transport-settings.ts';
import { ResolvedSettings } from '../../../src/settings/resolved-settings.ts';
import { staticSettings } from '../../../src/settings/static-source.ts';

function counting(exists?: (namespace: string) => boolean, maxUnknown?: number) {
  const resolved: string[] = [];
  const cache = new ResolvedSettings({
    resolve: (namespace): TransportSettings => {
      resolved.push(namespace);
      return { ...BUILT_IN_SETTINGS, sources: [namespace] };
    },
    ...(exists && { exists }),
    ...(maxUnknown !== undefined && { maxUnknown }),
  });
  return { cache, resolved };
}

describe('ResolvedSettings', () => {
  it('a flood of made-up namespaces holds at most maxUnknown entries', () => {
    const { cache } = counting(undefined, 100);
    for (let i = 0; i < 10_000; i++) cache.get(`made-up-${i}`);
    assert.equal(cache.size, 100);
  });

  it('namespaces that exist are kept however many made-up ones pass, and resolved once', () => {
    const real = new Set(Array.from({ length: 500 }, (_, i) => `team-${i}`));
    const { cache, resolved } = counting((ns) => real.has(ns), 10);
    for (const ns of real) cache.get(ns);
    for (let i = 0; i < 5_000; i++) cache.get(`made-up-${i}`);
    for (const ns of real) assert.deepEqual(cache.get(ns).sources, [ns]);
    assert.equal(cache.size, 510);
    assert.equal(resolved.filter((ns) => real.has(ns)).length, 500, 'each real namespace resolved once');
  });

  it('the LRU keeps the recently used: a namespace in steady use survives a flood', () => {
    const { cache, resolved } = counting(undefined, 50);
    cache.get('tools');
    for (let i = 0; i < 1_000; i++) {
      cache.get(`made-up-${i}`);
      cache.get('tools');
    }
    assert.equal(resolved.filter((ns) => ns === 'tools').length, 1);
  });

  it('maxUnknown 0 resolves unknown namespaces every time and keeps none', () => {
    const { cache, resolved } = counting(() => false, 0);
    cache.get('a');
    cache.get('a');
    assert.equal(resolved.length, 2);
    assert.equal(cache.size, 0);
  });

  it('clear() forgets everything', () => {
    const { cache, resolved } = counting((ns) => ns === 'real');
    cache.get('real');
    cache.get('other');
    cache.clear();
    cache.get('real');
    assert.equal(cache.size, 1);
    assert.equal(resolved.length, 3);
  });

  it('forget(namespace) forgets that namespace alone, kept or in the LRU', () => {
    const real = new Set(['a', 'b']);
    const { cache, resolved } = counting((ns) => real.has(ns));
    const a = cache.get('a');
    const b = cache.get('b');
    cache.get('made-up');
    cache.forget('a');
    cache.forget('made-up');
    assert.equal(cache.get('b'), b, 'another namespace keeps its entry');
    assert.notEqual(cache.get('a'), a);
    cache.get('made-up');
    assert.deepEqual(resolved, ['a', 'b', 'made-up', 'a', 'made-up']);
  });

  it('the static source answers for any namespace name and still resolves the same settings', () => {
    const source = staticSettings();
    for (let i = 0; i < 5_000; i++) assert.equal(source.settingsFor(`made-up-${i}`).mode, 'mutate');
  });
});

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

  it('the LRU evicts the least recently used, whatever runs of one namespace came before', () => {
    // A model LRU beside it: every access moves the key to the end, the first key goes.
    const { cache, resolved } = counting(undefined, 3);
    const model: string[] = [];
    let misses = 0;
    const names = ['a', 'b', 'c', 'd', 'e'];
    let seed = 7;
    for (let i = 0; i < 2_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      // Runs of the same name, as real traffic repeats one namespace.
      const name = names[seed % 5]!;
      const repeat = 1 + (seed >> 8) % 3;
      for (let r = 0; r < repeat; r++) {
        const at = model.indexOf(name);
        if (at >= 0) model.splice(at, 1);
        else {
          misses++;
          if (model.length === 3) model.shift();
        }
        model.push(name);
        cache.get(name);
        if (i % 97 === 0 && r === 0) {
          cache.forget(name);
          model.splice(model.indexOf(name), 1);
        }
      }
    }
    assert.equal(resolved.length, misses);
    assert.equal(cache.size, model.length);
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

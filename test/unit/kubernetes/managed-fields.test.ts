/** src/kubernetes/managed-fields.ts: a watch event's managed fields left out of its text before it is parsed. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { withoutManagedFieldsText } from '../../../src/kubernetes/managed-fields.ts';

/** What parsing the stripped text must give: the parsed text with every managedFields member whose value is an array deleted. */
function expected(text: string): unknown {
  return JSON.parse(text, function (key, value) {
    if (value && typeof value === 'object' && !Array.isArray(value) && Array.isArray((value as Record<string, unknown>).managedFields)) delete (value as Record<string, unknown>).managedFields;
    return value;
  });
}

const entry = { manager: 'kubectl', operation: 'Update', apiVersion: 'apps/v1', time: '2026-11-24T21:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': { '.': {}, 'f:a': {} } }, 'f:spec': { 'k:{"name":"mcp"}': { '.': {}, 'f:image': {} } } } };

it('leaves the managed fields out wherever they are, first, last or only member, and keeps everything else as parsed', () => {
  const cases = [
    { type: 'ADDED', object: { kind: 'Deployment', metadata: { name: 'a', namespace: 'n', resourceVersion: '7', annotations: { x: 'y' }, managedFields: [entry, entry] }, spec: { template: { metadata: { labels: { app: 'a' } } } } } },
    { type: 'MODIFIED', object: { metadata: { managedFields: [entry], name: 'b' }, spec: {} } },
    { type: 'MODIFIED', object: { metadata: { managedFields: [] } } },
    { type: 'ADDED', object: { metadata: { name: 'c', managedFields: [entry] }, spec: { template: { metadata: { managedFields: [entry], labels: { app: 'c' } } } } } },
  ];
  for (const event of cases) {
    const text = JSON.stringify(event);
    const stripped = withoutManagedFieldsText(text);
    assert.ok(!stripped.includes('managedFields'), stripped);
    assert.deepEqual(JSON.parse(stripped), expected(text));
  }
});

it('reads strings as strings: brackets, braces, quotes and backslashes in them, and the key itself inside a value, change nothing', () => {
  const tricky = { manager: 'a]b}c', operation: 'U"p[d{ate', time: 'back\\slash\\', fieldsV1: { 'k:{"name":"]"}': {}, 'v:"[\\"]"': {} } };
  const event = {
    type: 'ADDED',
    object: {
      metadata: {
        name: 'x',
        annotations: { note: '"managedFields":[1,2]', 'managedFields': 'a string, kept', other: 'ends with a backslash\\' },
        managedFields: [tricky, entry],
        labels: { app: 'x' },
      },
    },
  };
  const text = JSON.stringify(event);
  const stripped = withoutManagedFieldsText(text);
  assert.deepEqual(JSON.parse(stripped), expected(text));
  assert.equal((JSON.parse(stripped) as typeof event).object.metadata.annotations.note, '"managedFields":[1,2]');
  assert.equal((JSON.parse(stripped) as typeof event).object.metadata.annotations.managedFields, 'a string, kept');
});

it('hands back the text as it is when it holds no managed fields, or when their array does not end (JSON.parse then says what is wrong, as before)', () => {
  const plain = JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } });
  assert.equal(withoutManagedFieldsText(plain), plain);
  const cut = '{"type":"ADDED","object":{"metadata":{"name":"a","managedFields":[{"manager":"k"},{"ma';
  assert.equal(withoutManagedFieldsText(cut), cut);
  const unclosedString = '{"object":{"metadata":{"managedFields":[{"manager":"k]}}}';
  assert.equal(withoutManagedFieldsText(unclosedString), unclosedString);
});

it('gives a stored Deployment, managed fields and all, as the same object without them', () => {
  // kube-apiserver's answer to a create of the bench Deployment (bench/lib/workloads.ts), as an ADDED event, written out by JSON.stringify.
  const text = readFileSync(new URL('../../fixtures/watch-event-deployment.json', import.meta.url), 'utf8').trim();
  const stripped = withoutManagedFieldsText(text);
  assert.ok(stripped.length < text.length * 0.7, `${stripped.length} of ${text.length}`);
  assert.deepEqual(JSON.parse(stripped), expected(text));
});

/**
 * `value` without its managedFields arrays, built without JSON.parse: V8's
 * JSON.parse in Node 24 can decode an escaped key wrongly once an earlier
 * parse left a map transition the key's raw text starts with (nodejs/node
 * issue 63785), and these documents are full of escaped keys.
 */
function withoutArrays(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutArrays);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (!(key === 'managedFields' && Array.isArray(v))) out[key] = withoutArrays(v);
  return out;
}

it('cuts only a member named managedFields: a key that merely ends with it, an escaped quote before it, keeps its array', () => {
  // A key such as `a"managedFields` is written `"a\"managedFields":[`: the
  // text holds `"managedFields":[`, but its quote is escaped and the member
  // is another one.
  const event = { type: 'ADDED', object: { metadata: { name: 'x', managedFields: [entry] }, spec: { 'a"managedFields': [1, 2], 'b\\"managedFields': ['[', ']'], '\\': ['"managedFields":['], last: 'z' } } };
  assert.equal(withoutManagedFieldsText(JSON.stringify(event)), JSON.stringify(withoutArrays(event)));
});

it('whatever the JSON, the stripped text is the text of the value without its managedFields arrays', () => {
  // Random documents from keys and strings that hold the key's text, quotes,
  // backslashes and brackets, at random depths; compared as text, which
  // JSON.stringify writes as the API server's encoder does, without
  // whitespace.
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const keys = ['managedFields', 'a"managedFields', 'managedFields"', '\\', '"', 'x', 'managedFields\\', '"managedFields":[', 'k:{"name":"]"}'];
  const strings = ['', '"', '\\', ']', '}', '"managedFields":[', '\\"managedFields\\":[', 'a\\', '[{'];
  const value = (depth: number): unknown => {
    const r = random();
    if (depth > 3 || r < 0.3) return pick([pick(strings), 1, true, null]);
    if (r < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [pick(keys), value(depth + 1)]));
  };
  let cut = 0;
  for (let i = 0; i < 2000; i++) {
    const event = { type: 'ADDED', object: value(0) };
    const text = JSON.stringify(event);
    const stripped = withoutManagedFieldsText(text);
    if (stripped !== text) cut++;
    assert.equal(stripped, JSON.stringify(withoutArrays(event)), text);
  }
  assert.ok(cut > 50, `only ${cut} of 2000 documents had a member to cut`);
});

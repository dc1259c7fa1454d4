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

/** src/kubernetes/picked-members.ts: a watch event parsed for the members its informer reads. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { DEPLOYMENT_FACTS_MEMBERS, deploymentFacts } from '../../../src/kubernetes/cluster-facts.ts';
import { withoutManagedFieldsText } from '../../../src/kubernetes/managed-fields.ts';
import { pickedMembersText, type Members } from '../../../src/kubernetes/picked-members.ts';

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `value` with only `members`, built without JSON.parse (V8's JSON.parse in
 * Node 24 can decode an escaped key wrongly after an earlier parse,
 * nodejs/node issue 63785, and these documents are full of escaped keys).
 */
function picked(value: unknown, members: Members): unknown {
  if (!isMap(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (!Object.hasOwn(members, key)) continue;
    const wanted = members[key]!;
    out[key] = wanted === true ? v : picked(v, wanted);
  }
  return out;
}

type Event = { type: string; object: { metadata?: unknown; spec?: unknown } };

it('gives a stored Deployment event as the facts the cache keeps of it, from a fraction of its text', () => {
  // kube-apiserver's answer to a create of the bench Deployment, as an ADDED event.
  const text = readFileSync(new URL('../../fixtures/watch-event-deployment.json', import.meta.url), 'utf8').trim();
  const cut = pickedMembersText(text, DEPLOYMENT_FACTS_MEMBERS);
  assert.ok(cut !== undefined);
  assert.ok(cut.length < text.length * 0.25, `${cut.length} of ${text.length}`);
  const whole = JSON.parse(text) as Event;
  const event = JSON.parse(cut) as Event;
  assert.equal(event.type, whole.type);
  assert.deepEqual(deploymentFacts(event.object), deploymentFacts(whole.object));
  // As the informer received it before: managed fields cut, then parsed whole.
  assert.deepEqual(deploymentFacts((JSON.parse(withoutManagedFieldsText(text)) as Event).object), deploymentFacts(event.object));
  assert.deepEqual(event, picked(whole, DEPLOYMENT_FACTS_MEMBERS));
});

it('keeps every occurrence of a duplicated key in order, and a value that is not an object whole, so the parse reads as the whole text does', () => {
  const text =
    '{"type":"ADDED","object":{"metadata":{"name":"a","uid":"u"},"spec":"not a map","metadata":{"name":"b","resourceVersion":"7","annotations":null,"labels":{"x":"y"}},' +
    '"status":{"replicas":1},"code":410,"message":"gone"},"type":"MODIFIED"}';
  const event = JSON.parse(pickedMembersText(text, DEPLOYMENT_FACTS_MEMBERS)!) as Event;
  const whole = JSON.parse(text) as Event;
  assert.deepEqual(event, { type: 'MODIFIED', object: { metadata: { name: 'b', resourceVersion: '7', annotations: null }, spec: 'not a map', code: 410, message: 'gone' } });
  assert.deepEqual(deploymentFacts(event.object), deploymentFacts(whole.object));
  // A template whose metadata is an array, a labels value kept as it is for the shape check to refuse.
  const odd = '{"type":"ADDED","object":{"spec":{"template":{"metadata":[1,{"labels":2}]},"replicas":3},"metadata":{"name":"c","annotations":{"mcp-admission.dev/protocol":"sse","k":"v"}}}}';
  assert.deepEqual(JSON.parse(pickedMembersText(odd, DEPLOYMENT_FACTS_MEMBERS)!), picked(JSON.parse(odd), DEPLOYMENT_FACTS_MEMBERS));
  const labels = '{"object":{"spec":{"template":{"metadata":{"labels":"x","name":"t"},"spec":{"containers":[]}}}}}';
  assert.deepEqual(JSON.parse(pickedMembersText(labels, DEPLOYMENT_FACTS_MEMBERS)!), { object: { spec: { template: { metadata: { labels: 'x' } } } } });
});

it('answers undefined for text not written as the API server writes it, so it is parsed whole', () => {
  for (const text of [
    '{ "type": "ADDED", "object": {} }',
    '{"type":"ADDED","object":{"met\\u0061data":{"name":"a"}}}',
    '{"type":"ADDED","object":{"metadata":{"name":"a"}}}\r',
    '{"type":"ADDED","object":{"metadata":{"name":"a"}}',
    '{"type":"ADDED","object":{"metadata":{"name":"a}}}',
    '{"type":"ADDED","object":{"spec":}}',
    '[{"type":"ADDED"}]',
    '',
  ]) {
    assert.equal(pickedMembersText(text, DEPLOYMENT_FACTS_MEMBERS), undefined, text);
  }
  // An escaped key off the path (inside a value kept or skipped whole) is no reason to parse the whole text.
  const annotated = '{"type":"ADDED","object":{"metadata":{"name":"a","annotations":{"a\\"b":"c"}},"status":{"x\\\\":1},"spec":{}}}';
  assert.equal(pickedMembersText(annotated, DEPLOYMENT_FACTS_MEMBERS), '{"type":"ADDED","object":{"metadata":{"name":"a","annotations":{"a\\"b":"c"}},"spec":{}}}');
});

it('whatever the JSON, the picked text is the text of the value with only the members asked for, or undefined when a key on the way is escaped', () => {
  // Random documents from the members' names and keys and strings that hold
  // quotes, backslashes, brackets and the names themselves, at random
  // depths; compared as text, which JSON.stringify writes as the API
  // server's encoder does, without whitespace.
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const keys = ['type', 'object', 'metadata', 'name', 'annotations', 'spec', 'template', 'labels', 'code', 'status', 'x', '"', '\\', 'name"', '"metadata":{'];
  const strings = ['', '"', '\\', ']', '}', '{', ',"name":"x"', '\\"metadata\\":{', 'a\\', '[{'];
  const value = (depth: number): unknown => {
    const r = random();
    if (depth > 4 || r < 0.25) return pick([pick(strings), 1, -2.5e3, true, false, null]);
    if (r < 0.4) return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, () => [pick(keys), value(depth + 1)]));
  };
  let cut = 0;
  let whole = 0;
  for (let i = 0; i < 3000; i++) {
    const document = { type: pick(['ADDED', 'MODIFIED']), object: value(0) };
    const text = JSON.stringify(document);
    const result = pickedMembersText(text, DEPLOYMENT_FACTS_MEMBERS);
    if (result === undefined) {
      whole++;
      assert.ok(text.includes('\\'), text);
    } else {
      cut++;
      assert.equal(result, JSON.stringify(picked(document, DEPLOYMENT_FACTS_MEMBERS)), text);
    }
  }
  assert.ok(cut > 1000 && whole > 50, `${cut} cut, ${whole} parsed whole`);
});

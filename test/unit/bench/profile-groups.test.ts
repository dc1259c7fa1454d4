/** bench/profile-groups.ts: which package a CPU profile frame's self time goes to. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packageOf } from '../../../bench/profile-groups.ts';

const frame = (url: string, functionName = 'f') => ({ url, functionName, lineNumber: 0 });

test('frames in node_modules go to their package, scoped ones with their scope', () => {
  assert.equal(packageOf(frame('file:///app/node_modules/express/lib/router/index.js')), 'express');
  assert.equal(packageOf(frame('file:///app/node_modules/@kubernetes/client-node/dist/informer.js')), '@kubernetes/client-node');
  assert.equal(packageOf(frame('file:///app/node_modules/pino/node_modules/sonic-boom/index.js')), 'sonic-boom');
});

test("our compiled build and our sources are ours; node: modules are node's; V8's own frames are named", () => {
  assert.equal(packageOf(frame('file:///repo/bench/results/build/admission/admission.js')), 'ours');
  assert.equal(packageOf(frame('file:///repo/src/server/app.ts')), 'ours');
  assert.equal(packageOf(frame('node:internal/streams/readable')), 'node internals');
  assert.equal(packageOf(frame('', '(garbage collector)')), '(garbage collector)');
  assert.equal(packageOf(frame('', '(idle)')), '(idle)');
  assert.equal(packageOf(frame('', 'parse')), 'native');
});

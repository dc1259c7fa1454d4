/** bench/lib/perf-groups.ts: where a perf sample's CPU time goes. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { groupOfSample, pathOfSample, sampleHeader } from '../../../bench/lib/perf-groups.ts';

const js = (name: string, url: string) => `7f00 JS:*${name} ${url}:12:3 (/tmp/perf-1.map)`;

it('gives native and kernel frames to the nearest JavaScript caller, marking kernel time', () => {
  const write = ['ffff [k] finish_task_switch ([kernel.kallsyms])', '5555 uv__write (node)', js('handleWriteReq', 'node:internal/stream_base_commons')];
  assert.equal(groupOfSample('MainThread', write), 'node: socket I/O (net, streams/writable, stream_base_commons, TLS) (kernel)');
  assert.equal(groupOfSample('MainThread', ['5555 v8::internal::JsonParser (node)', js('decodeAdmissionReview', 'file:///repo/bench/results/build/admission/admission-review.js')]), 'ours admission/admission-review.js');
  assert.equal(groupOfSample('MainThread', [js('inst._zod.parse', 'file:///repo/node_modules/zod/v4/core/schemas.js')]), 'zod');
  assert.equal(groupOfSample('MainThread', ["7f00 JS:+' :3:17 (/tmp/perf-1.map)", js('parse', 'file:///repo/node_modules/zod/v4/core/schemas.js')]), "generated code (zod's compiled shapes)");
  assert.equal(groupOfSample('MainThread', [js('emit', 'node:events')]), 'node events');
});

it('counts the collector and V8 worker threads apart from the code they serve', () => {
  assert.equal(groupOfSample('MainThread', ['5555 v8::internal::Scavenger::ScavengeObject (node)', '5555 v8::internal::Heap::CollectGarbage (node)', js('f', 'file:///repo/src/server/app.ts')]), 'collector, main thread');
  assert.equal(groupOfSample('V8Worker', ['5555 v8::internal::compiler::GraphReducer::ReduceTop (node)']), 'V8 worker threads, compiler');
  assert.equal(groupOfSample('V8Worker', ['5555 v8::internal::ConcurrentMarking::RunMajor (node)']), 'V8 worker threads, collector and other');
  assert.equal(groupOfSample('MainThread', ['5555 epoll_wait (libc.so.6)']), 'native, no JavaScript caller');
});

it("reads a sample's thread, spaces and all, and its time from perf script's header line", () => {
  assert.deepEqual(sampleHeader('V8 DefaultWorke 48412.583162: '), { thread: 'V8 DefaultWorke', seconds: 48412.583162 });
  assert.deepEqual(sampleHeader('         MainThread 123.000001:'), { thread: 'MainThread', seconds: 123.000001 });
  assert.equal(sampleHeader('\t7f00 JS:*f file:///a.js:1:1 (/tmp/perf-1.map)'), undefined);
});

it('tells what a sample was for from its whole stack: the API client, the webhook requests, timers, the event loop', () => {
  const parse = ['5555 v8::internal::JsonParser (node)', js('line', 'file:///repo/bench/results/build/kubernetes/kube-client.js'), js('socketOnData', 'node:_http_client')];
  assert.equal(pathOfSample('MainThread', parse), 'API client: watches, leases, status');
  assert.equal(pathOfSample('MainThread', [js('writeHead', 'node:_http_server'), js('handle', 'file:///repo/node_modules/express/lib/router.js')]), 'webhook requests (TLS, HTTP, /mutate and /validate)');
  assert.equal(pathOfSample('MainThread', ['ffff epoll_ctl ([kernel.kallsyms])', js('listOnTimeout', 'node:internal/timers')]), 'timers (kernel)');
  assert.equal(pathOfSample('MainThread', ['5555 epoll_wait (libc.so.6)', '5555 uv_run (node)']), 'event loop, no JavaScript on the stack');
  assert.equal(pathOfSample('V8Worker', ['5555 v8::internal::compiler::GraphReducer::ReduceTop (node)']), 'V8 worker threads, compiler');
});

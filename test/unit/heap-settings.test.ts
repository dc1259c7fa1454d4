/**
 * One set of V8 heap settings: the Dockerfile's NODE_OPTIONS (what the image
 * runs every command with), the webhook Deployment of deploy/ and the chart's
 * default say the same, and the old-space cap leaves the young generation
 * and Node's own memory room under the webhook's memory limit, so V8 collects
 * before the kernel kills the pod; and the image's glibc malloc arenas. The
 * figures behind them are in BENCHMARKS.md ("V8 heap settings", "serve's
 * steady RSS over the blocks floor, by part", `npm run bench:memory`).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

type Json = Record<string, any>;

/** What Node itself holds outside the V8 heap under load (binary, TLS, buffers), MiB; BENCHMARKS.md. */
const OUTSIDE_THE_HEAP_MIB = 80;

const dockerfile = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(read('Dockerfile'))?.[1];
const deployment = parse(read('deploy/webhook/deployment.yaml')) as Json;
const container = (deployment.spec.template.spec.containers as Json[]).find((c) => c.name === 'webhook')!;
const values = parse(read('deploy/helm/mcp-admission/values.yaml')) as Json;

/** `--flag=N` of a NODE_OPTIONS string, in MiB. */
function flag(options: string, name: string): number | undefined {
  const match = new RegExp(`(?:^|\\s)--${name}=(\\d+)(?:\\s|$)`).exec(options);
  return match ? Number(match[1]) : undefined;
}

/** A Kubernetes quantity in Mi or Gi, in MiB. */
function mib(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  assert.ok(match, `${quantity}: write memory in Mi or Gi`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}

describe('V8 heap settings', () => {
  it('the Dockerfile sets NODE_OPTIONS with both caps', () => {
    assert.ok(dockerfile, 'ENV NODE_OPTIONS="..." in the Dockerfile');
    assert.ok(flag(dockerfile, 'max-semi-space-size'), dockerfile);
    assert.ok(flag(dockerfile, 'max-old-space-size'), dockerfile);
  });

  it('the webhook Deployment of deploy/ and the chart pin the same settings', () => {
    const env = (container.env as Json[]).find((e) => e.name === 'NODE_OPTIONS');
    assert.equal(env?.value, dockerfile, 'deploy/webhook/deployment.yaml NODE_OPTIONS');
    assert.equal(values.nodeOptions, dockerfile, 'deploy/helm/mcp-admission/values.yaml nodeOptions');
    assert.match(read('deploy/helm/mcp-admission/templates/webhook-deployment.yaml'), /- name: NODE_OPTIONS\n\s+value: \{\{ \.Values\.nodeOptions \| quote \}\}/);
  });

  it('the same memory request and limit in deploy/ and the chart', () => {
    assert.deepEqual(container.resources.requests.memory, values.resources.requests.memory);
    assert.deepEqual(container.resources.limits.memory, values.resources.limits.memory);
  });

  it("the image caps glibc's malloc arenas at two, and neither the Deployment nor the chart sets them otherwise", () => {
    // Memory freed by Node's and V8's threads stays in the arena that held it: fewer arenas, less kept (BENCHMARKS.md).
    assert.match(read('Dockerfile'), /^ENV MALLOC_ARENA_MAX=2$/m);
    const chartEnv = read('deploy/helm/mcp-admission/templates/webhook-deployment.yaml');
    assert.equal((container.env as Json[]).find((e) => e.name.startsWith('MALLOC_')), undefined, 'deploy/webhook/deployment.yaml');
    assert.doesNotMatch(chartEnv, /MALLOC_/, 'the chart');
  });

  it('the heap caps leave Node its own memory under the limit', () => {
    const oldSpace = flag(dockerfile!, 'max-old-space-size')!;
    const semiSpace = flag(dockerfile!, 'max-semi-space-size')!;
    // The young generation is three semi-spaces at most (V8 heap.cc: two
    // semi-spaces plus the new large-object space sized like one).
    const heap = oldSpace + 3 * semiSpace;
    const limit = mib(container.resources.limits.memory);
    assert.ok(heap + OUTSIDE_THE_HEAP_MIB <= limit, `heap caps ${heap} MiB + ${OUTSIDE_THE_HEAP_MIB} MiB outside the heap > limit ${limit} MiB`);
    assert.ok(mib(container.resources.requests.memory) <= limit);
  });
});

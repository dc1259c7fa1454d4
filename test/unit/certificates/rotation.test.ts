/**
 * planRotation: the next step for every state a Secret can be in.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planRotation, type AuthorityFacts, type RotationInput, type RotationPolicy, type StoredFacts } from '../../../src/certificates/rotation.ts';

const H = 3_600_000;
const now = new Date('2026-06-01T00:00:00Z');
const at = (ms: number): Date => new Date(now.getTime() + ms);
const policy: RotationPolicy = {
  caLifetimeMs: 1000 * H,
  caRenewBeforeMs: 100 * H,
  servingLifetimeMs: 50 * H,
  servingRenewBeforeMs: 10 * H,
  propagationMs: 60_000,
  hosts: ['svc', 'svc.ns', 'svc.ns.svc', 'svc.ns.svc.cluster.local'],
};
const ca = (fingerprint: string, notAfter: Date): AuthorityFacts => ({ fingerprint, notBefore: at(-H), notAfter });
const caA = ca('A', at(800 * H));
const caB = ca('B', at(1000 * H));

/** A steady state: CA A signing, injected an hour ago, serving cert from A with 40 h left. */
const steady = (): StoredFacts => ({
  authorities: [caA],
  signing: 'A',
  serving: { notAfter: at(40 * H), issuer: 'A', names: policy.hosts, keyMatches: true },
  injectedAt: at(-H),
});
const plan = (stored: StoredFacts | undefined, extra: Partial<RotationInput> = {}) =>
  planRotation({ now, ...(stored ? { stored } : {}), bundleInjected: true, policy, ...extra });

describe('planRotation', () => {
  const cases: Array<{ name: string; stored?: StoredFacts; input?: Partial<RotationInput>; want: Record<string, unknown> }> = [
    { name: 'no Secret: create CA and serving certificate', want: { action: 'create' } },
    { name: 'steady state: wait until the serving certificate is due', stored: steady(), want: { action: 'wait', until: at(30 * H) } },
    {
      name: 'CA key missing: a new CA',
      stored: { ...steady(), signing: undefined },
      want: { action: 'add-authority' },
    },
    {
      name: 'CA key of no CA in the bundle: a new CA',
      stored: { ...steady(), signing: 'unmatched' },
      want: { action: 'add-authority' },
    },
    {
      name: 'CA within its renewal window: a new CA',
      stored: { ...steady(), authorities: [ca('A', at(99 * H))] },
      want: { action: 'add-authority' },
    },
    {
      name: 'bundle not in every webhook entry: inject it',
      stored: steady(),
      input: { bundleInjected: false },
      want: { action: 'inject-bundle' },
    },
    {
      name: 'bundle in place but time not recorded: record it',
      stored: { ...steady(), injectedAt: undefined },
      want: { action: 'record-injection' },
    },
    {
      name: 'serving certificate due: renew from the same CA, nothing to retire',
      stored: { ...steady(), serving: { notAfter: at(9 * H), issuer: 'A', names: policy.hosts, keyMatches: true } },
      want: { action: 'issue-serving', retireAfter: undefined },
    },
    {
      name: 'serving certificate lacks a Service name: reissue',
      stored: { ...steady(), serving: { notAfter: at(40 * H), issuer: 'A', names: ['svc'], keyMatches: true } },
      want: { action: 'issue-serving' },
    },
    {
      name: 'new CA injected but not yet propagated: the old serving certificate stays',
      stored: {
        authorities: [caB, caA],
        signing: 'B',
        serving: { notAfter: at(40 * H), issuer: 'A', names: policy.hosts, keyMatches: true },
        injectedAt: at(-30_000),
      },
      want: { action: 'wait', until: at(30_000) },
    },
    {
      name: 'new CA propagated: switch, and keep the old CA until the old certificate expires',
      stored: {
        authorities: [caB, caA],
        signing: 'B',
        serving: { notAfter: at(40 * H), issuer: 'A', names: policy.hosts, keyMatches: true },
        injectedAt: at(-61_000),
      },
      want: { action: 'issue-serving', retireAfter: at(40 * H) },
    },
    {
      name: 'switched: the old CA stays while the old serving certificate may be served',
      stored: {
        authorities: [caB, caA],
        signing: 'B',
        serving: { notAfter: at(50 * H), issuer: 'B', names: policy.hosts, keyMatches: true },
        injectedAt: at(-H),
        retireAfter: at(20 * H),
      },
      want: { action: 'wait', until: at(20 * H) },
    },
    {
      name: 'switched and the old serving certificate expired: retire the old CA',
      stored: {
        authorities: [caB, caA],
        signing: 'B',
        serving: { notAfter: at(50 * H), issuer: 'B', names: policy.hosts, keyMatches: true },
        injectedAt: at(-H),
        retireAfter: at(-1),
      },
      want: { action: 'retire-authorities', keep: ['B'] },
    },
    {
      name: 'an expired old CA leaves at once',
      stored: {
        authorities: [caB, ca('A', at(-1))],
        signing: 'B',
        serving: { notAfter: at(50 * H), issuer: 'B', names: policy.hosts, keyMatches: true },
        injectedAt: at(-H),
        retireAfter: at(20 * H),
      },
      want: { action: 'retire-authorities', keep: ['B'] },
    },
    {
      name: 'unusable serving certificate under a new CA: issue at once, keep old CAs a full lifetime',
      stored: {
        authorities: [caB, caA],
        signing: 'B',
        serving: { notAfter: at(40 * H), issuer: 'A', names: policy.hosts, keyMatches: false },
        injectedAt: at(-1000),
      },
      want: { action: 'issue-serving', retireAfter: at(50 * H) },
    },
    {
      name: 'no serving certificate and no other CA: issue, nothing to retire',
      stored: { ...steady(), serving: undefined },
      want: { action: 'issue-serving', retireAfter: undefined },
    },
    {
      name: 'the signing CA not first in the bundle: reorder',
      stored: {
        authorities: [caA, caB],
        signing: 'B',
        serving: { notAfter: at(50 * H), issuer: 'B', names: policy.hosts, keyMatches: true },
        injectedAt: at(-H),
        retireAfter: at(20 * H),
      },
      want: { action: 'retire-authorities', keep: ['B', 'A'] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const step = plan(c.stored, c.input) as Record<string, unknown>;
      for (const [key, value] of Object.entries(c.want)) assert.deepEqual(step[key], value, `${key} of ${JSON.stringify(step)}`);
    });
  }

  it('CA renewal comes before bundle injection', () => {
    assert.equal(plan({ ...steady(), authorities: [ca('A', at(H))] }, { bundleInjected: false }).action, 'add-authority');
  });
});

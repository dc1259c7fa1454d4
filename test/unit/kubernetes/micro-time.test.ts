/**
 * MicroTime as the API server writes it (RFC 3339, UTC, six fractional
 * digits): what a Lease's renewTime must look like, and what client-node's
 * V1MicroTime wrote before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMicroTime, microTime } from '../../../src/kubernetes/micro-time.ts';

describe('MicroTime', () => {
  it('formats RFC 3339 with microseconds in UTC', () => {
    assert.equal(formatMicroTime(new Date(Date.UTC(2026, 10, 24, 15, 30, 49, 123))), '2026-11-24T15:30:49.123000Z');
    assert.equal(formatMicroTime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 0))), '2026-01-02T03:04:05.000000Z');
  });

  it('serializes so in a Lease body, and still reads as its Date', () => {
    const at = new Date(Date.UTC(2026, 10, 24, 15, 30, 49, 7));
    const renewTime = microTime(at);
    assert.equal(JSON.stringify({ spec: { renewTime } }), '{"spec":{"renewTime":"2026-11-24T15:30:49.007000Z"}}');
    assert.equal(renewTime.getTime(), at.getTime());
    assert.equal(new Date(JSON.parse(JSON.stringify(renewTime)) as string).getTime(), at.getTime());
  });
});

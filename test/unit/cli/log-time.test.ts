import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { isoTime } from '../../../src/cli/log-time.ts';

/** pino's own `isoTime`, the format every line carried before, at a given time. */
function pinoIsoTime(now: number): string {
  const real = Date.now;
  Date.now = () => now;
  try {
    return pino.stdTimeFunctions.isoTime();
  } finally {
    Date.now = real;
  }
}

describe('isoTime', () => {
  it('writes what pino.stdTimeFunctions.isoTime writes, character for character', () => {
    const times = [
      0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, -999, -1000, -1001, 1_795_000_000_000, 1_795_000_000_009, 1_795_000_000_099,
      1_795_000_000_999, 1_795_000_001_000, 253_402_300_799_999, 253_402_300_800_000, -62_198_755_200_001, 8.64e15, -8.64e15, 1.5, -1.5,
    ];
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 5000; i++) times.push(Math.floor(random() * 4e12) - 1e12);
    // Runs of the same second and ones that cross it, as a busy server logs them.
    for (let t = 1_795_000_000_990; t < 1_795_000_001_020; t++) times.push(t);
    for (const now of times) assert.equal(isoTime(now), pinoIsoTime(now), `at ${now}`);
  });

  it('reads the clock through Date.now, as pino does (fake timers move it)', () => {
    const real = Date.now;
    try {
      Date.now = () => 1_795_000_000_123;
      assert.equal(isoTime(), ',"time":"2026-11-18T11:06:40.123Z"');
      Date.now = () => 1_795_000_001_004;
      assert.equal(isoTime(), ',"time":"2026-11-18T11:06:41.004Z"');
    } finally {
      Date.now = real;
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../src/cli/logger.ts';

describe('createLogger', () => {
  it('writes an ISO-8601 time and the level as a word', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', base: { service: 'mcp-admission' } }, { write: (line: string) => void lines.push(line) });
    logger.warn({ uid: 'u-1' }, 'hello');
    const entry = JSON.parse(lines[0]!);
    assert.equal(entry.level, 'warn');
    assert.match(entry.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(entry.service, 'mcp-admission');
    assert.equal(entry.msg, 'hello');
  });
});

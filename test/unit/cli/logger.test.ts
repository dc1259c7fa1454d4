import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
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

describe('createLogger, asynchronous (serve)', () => {
  // Buffered lines must all be written when the process ends, however it ends.
  for (const ending of ['returns', 'calls process.exit']) {
    it(`loses no line when the process ${ending}`, () => {
      const script =
        `import { createLogger } from ${JSON.stringify(new URL('../../../src/cli/logger.ts', import.meta.url).href)};\n` +
        `const logger = createLogger({ level: 'info' }, undefined, { asynchronous: true });\n` +
        `for (let i = 0; i < 20000; i++) logger.info({ i }, 'line');\n` +
        (ending === 'returns' ? '' : 'process.exit(0);\n');
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { i: number });
      assert.equal(lines.length, 20000);
      assert.deepEqual(lines.map((l) => l.i).slice(-3), [19997, 19998, 19999]);
    });
  }

  // A server that answers one review a minute still logs it soon after, not
  // when enough lines have gathered to fill the buffer, or at exit.
  it('writes a lone line while the process keeps running, and then the next one', async () => {
    const script =
      `import { createLogger } from ${JSON.stringify(new URL('../../../src/cli/logger.ts', import.meta.url).href)};\n` +
      `const logger = createLogger({ level: 'info' }, undefined, { asynchronous: true });\n` +
      `logger.info({ n: 1 }, 'first');\n` +
      `process.stdin.on('data', () => logger.info({ n: 2 }, 'second'));\n`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      let out = '';
      const lines = () => out.split('\n').filter(Boolean);
      let waiting: (() => void) | undefined;
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        waiting?.();
      });
      const lineCount = (n: number) =>
        new Promise<void>((resolve, reject) => {
          waiting = () => lines().length >= n && resolve();
          child.once('exit', () => reject(new Error(`exited with ${lines().length} of ${n} lines written`)));
          waiting();
        });
      // A liveness bound, not a speed claim: without a flush the line never comes.
      const within = <T>(p: Promise<T>, what: string) =>
        Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not written within 20 s`)), 20_000).unref())]);
      await within(lineCount(1), 'first line');
      child.stdin.write('x');
      await within(lineCount(2), 'second line');
      assert.deepEqual(lines().map((l) => (JSON.parse(l) as { n: number }).n), [1, 2]);
    } finally {
      child.kill();
    }
  });
});

/**
 * SIGTERM under load, on the real `serve` process: readiness fails first,
 * every request that reached the server gets its answer, and the process
 * exits by itself. A request may find the listener closed (the API server
 * then calls another replica, since this pod left the endpoints during the
 * shutdown delay), but none that reached it may be cut.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:https';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fixture } from '../support/fixtures.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

type Outcome = 'answered' | 'refused' | 'dropped';

function post(port: number, agent: Agent, body: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/mutate', method: 'POST', agent, rejectUnauthorized: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(res.statusCode === 200 && JSON.parse(Buffer.concat(chunks).toString()).response.allowed ? 'answered' : 'dropped');
          } catch {
            resolve('dropped');
          }
        });
        res.on('error', () => resolve('dropped'));
      },
    );
    // A request reached the server once its TLS session was up (a reused
    // socket always was). A connection still in the kernel's accept queue or
    // mid-handshake when the listener closes is reset before the server saw a
    // byte of it: to the client that is a refusal, as on a closed port. Any
    // failure after the TLS session was up is a request cut after it was sent.
    let secured = false;
    req.on('socket', (socket) => {
      if (req.reusedSocket) secured = true;
      else socket.once('secureConnect', () => (secured = true));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' || !secured ? 'refused' : 'dropped'));
    req.end(body);
  });
}

function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    request({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', () => resolve(0))
      .end();
  });
}

describe('SIGTERM under load', () => {
  it('drops no request that reached the server, fails readiness first, exits by itself', { timeout: 60_000 }, async () => {
    const server = spawn(process.execPath, ['src/cli/main.ts', 'serve', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--shutdown-delay-seconds', '1'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (chunk) => {
        out += chunk;
        const match = /"port":(\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      server.on('exit', () => reject(new Error(`serve exited early: ${out}`)));
    });

    const body = JSON.stringify(fixture('deployment-sse'));
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const outcomes: Record<Outcome, number> = { answered: 0, refused: 0, dropped: 0 };
    let running = true;
    const loops = Array.from({ length: 16 }, async () => {
      while (running) outcomes[await post(port, agent, body)]++;
    });

    await new Promise((r) => setTimeout(r, 1000));
    const answeredBeforeSignal = outcomes.answered;
    server.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const readiness = await readyz(port);
    const code = await exited;
    await new Promise((r) => setTimeout(r, 200));
    running = false;
    await Promise.all(loops);
    agent.destroy();

    process.stderr.write(`sigterm: ${JSON.stringify(outcomes)} (${answeredBeforeSignal} answered before the signal)\n`);
    assert.equal(readiness, 503, 'readiness fails during the shutdown delay');
    assert.equal(code, 0);
    assert.equal(outcomes.dropped, 0);
    assert.ok(outcomes.answered > answeredBeforeSignal, 'requests were answered during the shutdown delay');
  });
});

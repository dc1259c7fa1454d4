/**
 * How the client reads a watch stream, against a stand-in API server
 * (node:http on loopback) that controls where the stream's chunks break:
 * a real kube-apiserver breaks them wherever its writes and TCP do, so the
 * cases that matter (a character or a line split across chunks) happen
 * there only by chance.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { dispatcherTransport } from '../../../src/kubernetes/dispatcher-transport.ts';
import type { KubeAccess } from '../../../src/kubernetes/kube-access.ts';
import { KubeClient, type WatchEvent } from '../../../src/kubernetes/kube-client.ts';
import { startStandInApiServer, type StandInApiServer } from '../../support/stand-in-api-server.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('KubeClient watch stream', () => {
  let standIn: StandInApiServer;
  let client: KubeClient;
  let respond: (res: ServerResponse) => Promise<void> = async (res) => void res.end();
  before(async () => {
    standIn = await startStandInApiServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      void respond(res);
    });
    client = standIn.client;
  });
  after(() => standIn.close());

  /** The events the client hands on for a stream written as these byte chunks, each flushed on its own. */
  const eventsOf = async (chunks: Buffer[]): Promise<WatchEvent[]> => {
    respond = async (res) => {
      for (const chunk of chunks) {
        res.write(chunk);
        await pause(20);
      }
      res.end();
    };
    const events: WatchEvent[] = [];
    await client.watch('/api/v1/services', {}, (event) => events.push(event));
    return events;
  };

  it('keeps a multi-byte character whole when a chunk ends inside it', async () => {
    const description = 'サーバー ✓ é';
    const line = Buffer.from(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', annotations: { description } } } })}\n`);
    // Split inside the three bytes of the first katakana character.
    const at = line.indexOf(Buffer.from('サ')) + 1;
    const events = await eventsOf([line.subarray(0, at), line.subarray(at)]);
    assert.equal(events.length, 1);
    assert.equal((events[0]!.object as { metadata: { annotations: { description: string } } }).metadata.annotations.description, description);
  });

  it('hands on the events without their managed fields when asked, and with them otherwise', async () => {
    const object = { metadata: { name: 'a', managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:metadata': { 'k:{"x":"]"}': {} } } }], labels: { app: 'a' } } };
    const chunks = [Buffer.from(`${JSON.stringify({ type: 'ADDED', object })}\n`)];
    respond = async (res) => void res.end(chunks[0]);
    const stripped: WatchEvent[] = [];
    await client.watch('/api/v1/services', {}, (event) => stripped.push(event), { withoutManagedFields: true });
    assert.deepEqual(stripped, [{ type: 'ADDED', object: { metadata: { name: 'a', labels: { app: 'a' } } } }]);
    assert.deepEqual(await eventsOf(chunks), [{ type: 'ADDED', object }]);
  });

  it('hands on the events parsed for the members asked for, and an event written otherwise parsed whole', async () => {
    const object = { metadata: { name: 'a', uid: 'u', managedFields: [{ manager: 'kubectl' }], labels: { app: 'a' } }, spec: { replicas: 1 } };
    const members = { type: true, object: { metadata: { name: true, labels: true } } } as const;
    const spaced = '{ "type": "MODIFIED", "object": {"metadata": {"name": "b", "managedFields": [], "uid": "v"}} }';
    respond = async (res) => void res.end(`${JSON.stringify({ type: 'ADDED', object })}\n${spaced}\n`);
    const events: WatchEvent[] = [];
    await client.watch('/api/v1/services', {}, (event) => events.push(event), { withoutManagedFields: true, members });
    assert.deepEqual(events, [
      { type: 'ADDED', object: { metadata: { name: 'a', labels: { app: 'a' } } } },
      { type: 'MODIFIED', object: { metadata: { name: 'b', managedFields: [], uid: 'v' } } },
    ]);
  });

  it('hands on every line of a chunk, and a line spread over many chunks once', async () => {
    const line = (name: string, size = 0) => `${JSON.stringify({ type: 'MODIFIED', object: { metadata: { name }, data: 'x'.repeat(size) } })}\n`;
    const long = Buffer.from(line('long', 200_000));
    const chunks = [Buffer.from(line('one') + line('two')), ...Array.from({ length: 20 }, (_, i) => long.subarray(i * 10_000, (i + 1) * 10_000)), long.subarray(200_000), Buffer.from(line('three'))];
    const events = await eventsOf(chunks);
    assert.deepEqual(
      events.map((e) => (e.object as { metadata: { name: string } }).metadata.name),
      ['one', 'two', 'long', 'three'],
    );
    assert.equal((events[2]!.object as { data: string }).data.length, 200_000);
  });

  it('fails a watch whose connection breaks mid-stream, after handing on the lines before the break', async () => {
    respond = async (res) => {
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } })}\n{"type":"ADD`);
      await pause(20);
      res.socket?.destroy();
    };
    const events: WatchEvent[] = [];
    await assert.rejects(client.watch('/api/v1/services', {}, (event) => events.push(event)));
    assert.deepEqual(events.map((e) => (e.object as { metadata: { name: string } }).metadata.name), ['a']);
  });

  it('ends a watch with what its handler throws, and reads no further', async () => {
    respond = async (res) => {
      res.write(`${JSON.stringify({ type: 'ERROR', object: { code: 500 } })}\n`);
      await pause(50);
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'late' } } })}\n`);
      res.end();
    };
    const events: WatchEvent[] = [];
    await assert.rejects(
      client.watch('/api/v1/services', {}, (event) => {
        events.push(event);
        if (event.type === 'ERROR') throw new Error('refused');
      }),
      /refused/,
    );
    await pause(100);
    assert.deepEqual(events.map((e) => e.type), ['ERROR']);
  });

  it('reads a watch the same way through the undici dispatcher (the transport of exec users and proxies)', async () => {
    const description = 'サーバー ✓ é';
    const line = Buffer.from(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', annotations: { description } } } })}\n`);
    const at = line.indexOf(Buffer.from('サ')) + 1;
    const chunks = [line.subarray(0, at), Buffer.concat([line.subarray(at), Buffer.from(`${JSON.stringify({ type: 'DELETED', object: { metadata: { name: 'b' } } })}\n`)])];
    respond = async (res) => {
      for (const chunk of chunks) {
        res.write(chunk);
        await pause(20);
      }
      res.end();
    };
    const agent = new Agent();
    const { port } = standIn.server.address() as { port: number };
    const access: KubeAccess = {
      server: `http://127.0.0.1:${port}`,
      source: 'test',
      connection: async () => ({ transport: dispatcherTransport(agent), headers: {} }),
      close: () => agent.close(),
      poolCount: () => 1,
    };
    const events: WatchEvent[] = [];
    await new KubeClient(access).watch('/api/v1/services', {}, (event) => events.push(event));
    await agent.close();
    assert.deepEqual(events.map((e) => e.type), ['ADDED', 'DELETED']);
    assert.equal((events[0]!.object as { metadata: { annotations: { description: string } } }).metadata.annotations.description, description);
  });
});

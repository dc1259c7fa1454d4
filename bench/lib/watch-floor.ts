/**
 * The floor for a watch (`bench/watch.ts`): a bare node:https watch of one
 * collection, in a process of its own, doing what any watch must and
 * nothing else: read the stream, split it into lines, `JSON.parse` each and
 * count it. No informer, no cache, no transform. What serve spends per event
 * beyond this is ours.
 *
 * `node bench/lib/watch-floor.ts URL CA CERT KEY`: URL is the collection
 * with its query (the watch parameters are added here), the rest are the
 * files of the API server's CA and the client certificate. On SIGUSR2 it
 * prints `events N` (events seen so far) on stdout; it exits on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

const [url, caFile, certFile, keyFile] = process.argv.slice(2);
if (!url || !caFile || !certFile || !keyFile) throw new Error('usage: node bench/lib/watch-floor.ts URL CA CERT KEY');

let events = 0;
process.on('SIGUSR2', () => process.stdout.write(`events ${events}\n`));
process.on('SIGTERM', () => process.exit(0));

const tls = { ca: readFileSync(caFile), cert: readFileSync(certFile), key: readFileSync(keyFile) };

/** Watches from `resourceVersion` until the server ends the stream, then again from the last version seen. */
function watch(resourceVersion: string): void {
  const target = new URL(url!);
  target.searchParams.set('watch', 'true');
  target.searchParams.set('allowWatchBookmarks', 'true');
  target.searchParams.set('timeoutSeconds', '3600');
  if (resourceVersion) target.searchParams.set('resourceVersion', resourceVersion);
  let last = resourceVersion;
  const req = request(target, { ...tls, headers: { accept: 'application/json' } }, (res) => {
    if (res.statusCode !== 200) throw new Error(`watch: HTTP ${res.statusCode}`);
    res.setEncoding('utf8');
    let rest = '';
    res.on('data', (text: string) => {
      let start = 0;
      for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
        const line = rest + text.slice(start, newline);
        rest = '';
        start = newline + 1;
        const event = JSON.parse(line) as { type: string; object: { metadata?: { resourceVersion?: string } } };
        last = event.object.metadata?.resourceVersion ?? last;
        if (event.type !== 'BOOKMARK') events++;
      }
      rest += text.slice(start);
    });
    res.on('end', () => watch(last));
  });
  req.on('error', (err) => {
    throw err;
  });
  req.end();
}

// Start from the collection's current version, as an informer does after its list.
const list = new URL(url);
list.searchParams.set('limit', '1');
request(list, { ...tls, headers: { accept: 'application/json' } }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (text: string) => (body += text));
  res.on('end', () => {
    if (res.statusCode !== 200) throw new Error(`list: HTTP ${res.statusCode}: ${body}`);
    watch((JSON.parse(body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
    process.stdout.write('watching\n');
  });
}).end();

/**
 * The floor for the admission benchmarks: bare `node:https` with the same
 * certificate files `serve` is given, that reads the body, JSON.parses it
 * and answers a fixed AdmissionReview carrying the request's uid. No
 * framework, no decoding checks, no policy, no metrics, no logging: what any
 * Node webhook has to pay at the least.
 *
 * Imports nothing but node: modules (and `floor-process.ts`, which imports
 * only those), so its RSS is Node's own.
 *
 * `node bench/lib/floor-server.ts CERT_FILE KEY_FILE [--port N]
 * [--patch FILE] [--server-options FILE]` (`floor-process.ts`); listens on
 * 127.0.0.1 (a free port unless `--port`) and prints `{"port":N}` on stdout.
 *
 * - Without `--patch` every path answers "allowed" (`bench/admission.ts`).
 * - With `--patch FILE`, /mutate answers it for a Deployment and everything
 *   else "allowed": the stored object is the one `serve` gives, while other
 *   kinds (the harness's probe Service) pass untouched.
 */
import { fixedAnswer, floorArguments, listenFloor } from './floor-process.ts';

const args = floorArguments('node bench/lib/floor-server.ts CERT_FILE KEY_FILE [--port N] [--patch FILE] [--server-options FILE]');

listenFloor(args, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let uid = '';
    let kind: unknown;
    try {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request?: { uid?: unknown; kind?: { kind?: unknown } } };
      if (typeof review.request?.uid === 'string') uid = review.request.uid;
      kind = review.request?.kind?.kind;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad json"}');
      return;
    }
    const mutate = kind === 'Deployment' && req.url?.startsWith('/mutate');
    const body = fixedAnswer(uid, mutate ? args.patch : undefined);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
});

/**
 * The prober on a real API server, in a network of its own so pods have
 * addresses EndpointSlices accept (test/support/pods.ts): the loop with the
 * webhook closed on an SSE server from the official TypeScript SDK.
 */
import { runInNetwork } from '../support/harness/netns.ts';

await runInNetwork(import.meta.filename, { pods: 0 }, () => import('./prober/webhook-loop.scenarios.ts'));

/**
 * A hostile tenant against the prober on a real API server (issue 11, row
 * 4), in a network of its own so pods have addresses EndpointSlices accept.
 */
import { runInNetwork } from '../support/harness/netns.ts';

await runInNetwork(import.meta.filename, { pods: 0 }, () => import('./prober/tenant.scenarios.ts'));

/**
 * The air-gapped install, certs/generate.sh and `kubectl apply -k certs/out/`,
 * on the installed path (test/support/install-suite.ts): stand-in pods, the
 * API server calling them through the Service.
 */
import { runInNetwork } from '../support/harness/netns.ts';

await runInNetwork(import.meta.filename, { pods: 3 }, () => import('./install/certs.scenarios.ts'));

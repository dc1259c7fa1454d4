/**
 * `kubectl apply -k deploy/`, the default install with self-managed
 * certificates, on the installed path (test/support/install-suite.ts): the
 * webhook makes its own CA and certificate and writes the caBundle, and the
 * API server calls it through the Service trusting that.
 */
import { runInNetwork } from '../support/harness/netns.ts';

await runInNetwork(import.meta.filename, { pods: 3 }, () => import('./install/kustomize.scenarios.ts'));

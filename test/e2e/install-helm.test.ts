/**
 * `helm install` as the README has it, on the installed path
 * (test/support/install-suite.ts), then `helm upgrade` and `helm uninstall`.
 */
import { runInNetwork } from '../support/harness/netns.ts';

await runInNetwork(import.meta.filename, { pods: 3 }, () => import('./install/helm.scenarios.ts'));

/**
 * Self-managed certificates on the installed path: two stand-in replicas of
 * the webhook Deployment (test/support/harness/pod.ts), each running `serve
 * --certificates self-managed` in a pod network namespace of our own, behind
 * the real Service (kube-apiserver with aggregator routing calls the pod
 * addresses): one CA, the bundle injected, rotation under load, takeover.
 */
import { runInNetwork } from '../support/harness/netns.ts';

await runInNetwork(import.meta.filename, { pods: 2 }, () => import('./certificates/self-managed.scenarios.ts'));

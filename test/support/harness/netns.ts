/**
 * A network of our own for tests that need pod addresses: Linux network
 * namespaces made with `ip netns`, never the machine's own interfaces.
 *
 * The installed path needs them: kube-apiserver with
 * `--enable-aggregator-routing=true` calls a webhook at the addresses in its
 * Service's EndpointSlices, and EndpointSlices refuse loopback addresses. So
 * a test file runs itself again inside a "node" namespace that holds the
 * control plane, kubectl and the test's own clients, and each stand-in pod
 * gets a namespace of its own, joined to the node by a veth pair, with a
 * pod address (10.252.0.2, 10.252.0.3, ...) on its end, as a CNI plugin
 * would give it. Every pod can then run the same `serve` command line on the
 * same port, exactly as the Deployment's replicas do.
 *
 * ```ts
 * // test/e2e/x.test.ts: the entry the test runner starts
 * await runInNetwork(import.meta.filename, { pods: 2 }, () => import('./x.scenarios.ts'));
 * ```
 *
 * Outside a network, {@link runInNetwork} creates the namespaces and links,
 * runs the same file with the same Node flags under `ip netns exec NODE`
 * (its test reports go to the runner through the inherited stdout), and
 * deletes every namespace when that child exits, when the runner signals
 * this process, and on any other exit. Inside, it imports the scenarios.
 * Needs root and iproute2; without them it throws (a test never skips).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Environment variable that carries the {@link Network} into the re-run test process. */
const NETWORK_ENV = 'MCP_ADMISSION_TEST_NETWORK';

/** One stand-in pod's place in the network. */
export interface PodSlot {
  /** The pod's network namespace, for `ip netns exec`. */
  netns: string;
  /** Its address, reachable from the node namespace (and so from the API server). */
  ip: string;
}

/** The network a test runs in, as seen from inside the node namespace. */
export interface Network {
  /** The node namespace: control plane, kubectl and the test process. */
  netns: string;
  /** The node's address on every pod link: where pods reach the API server. */
  nodeIp: string;
  pods: PodSlot[];
}

/** Options for {@link runInNetwork}. */
export interface NetworkOptions {
  /** How many pod namespaces to prepare (default 2). */
  pods?: number;
}

const NODE_IP = '10.252.0.1';
const podIp = (i: number): string => `10.252.0.${i + 2}`;

function ip(args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(
      `ip ${args.join(' ')} failed: ${stderr || (err as Error).message}\n` +
        'The installed-path tests make network namespaces of their own and need root and iproute2.',
    );
  }
}

/** Deletes namespace `name`; quiet when it is gone already. */
function deleteNetns(name: string): void {
  try {
    execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
  } catch {
    // Already gone.
  }
}

/**
 * Creates the node namespace and `pods` pod namespaces joined to it. Names
 * carry this process's id and a random suffix, so parallel runs never meet.
 * On failure, whatever was made is deleted again.
 */
function createNetwork(pods: number): Network {
  const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const network: Network = {
    netns: `mcpa-${id}`,
    nodeIp: NODE_IP,
    pods: Array.from({ length: pods }, (_, i) => ({ netns: `mcpa-${id}-p${i}`, ip: podIp(i) })),
  };
  try {
    ip(['netns', 'add', network.netns]);
    ip(['-n', network.netns, 'link', 'set', 'lo', 'up']);
    network.pods.forEach((pod, i) => {
      const hostSide = `pod${i}`;
      ip(['netns', 'add', pod.netns]);
      ip(['-n', pod.netns, 'link', 'set', 'lo', 'up']);
      // Both ends are created inside our namespaces: the machine's own
      // interface list never changes.
      ip(['-n', network.netns, 'link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.netns]);
      ip(['-n', network.netns, 'addr', 'add', `${NODE_IP}/32`, 'dev', hostSide]);
      ip(['-n', network.netns, 'link', 'set', hostSide, 'up']);
      ip(['-n', network.netns, 'route', 'add', `${pod.ip}/32`, 'dev', hostSide, 'src', NODE_IP]);
      ip(['-n', pod.netns, 'addr', 'add', `${pod.ip}/32`, 'dev', 'eth0']);
      ip(['-n', pod.netns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', pod.netns, 'route', 'add', `${NODE_IP}/32`, 'dev', 'eth0', 'src', pod.ip]);
    });
  } catch (err) {
    destroyNetwork(network);
    throw err;
  }
  return network;
}

function destroyNetwork(network: Network): void {
  for (const pod of network.pods) deleteNetns(pod.netns);
  deleteNetns(network.netns);
}

/** The network this process runs in; throws outside {@link runInNetwork}. */
export function currentNetwork(): Network {
  const raw = process.env[NETWORK_ENV];
  if (!raw) throw new Error('not inside a test network: start the test file through runInNetwork()');
  return JSON.parse(raw) as Network;
}

/**
 * Runs `scenarios` inside a network of our own: see the module comment.
 * `entry` is the calling test file (`import.meta.filename`). Resolves once
 * the scenarios are loaded (inside) or the child has exited (outside, where
 * the child's exit code becomes this process's).
 */
export async function runInNetwork(entry: string, options: NetworkOptions, scenarios: () => Promise<unknown>): Promise<void> {
  if (process.env[NETWORK_ENV]) {
    await scenarios();
    return;
  }
  const network = createNetwork(options.pods ?? 2);
  let destroyed = false;
  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    destroyNetwork(network);
  };
  // Synchronous, so it also runs on process.exit().
  process.on('exit', destroy);
  const child = spawn('ip', ['netns', 'exec', network.netns, process.execPath, ...process.execArgv, entry, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, [NETWORK_ENV]: JSON.stringify(network) },
  });
  // The runner cancels a file with SIGTERM: pass it on, let the child stop
  // its process groups, then the namespaces go.
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward);
  const code = await new Promise<number>((resolve) => {
    child.once('error', (err) => {
      process.stderr.write(`runInNetwork: cannot start ip netns exec: ${err.message}\n`);
      resolve(1);
    });
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(signal, forward);
  destroy();
  process.exitCode = code;
}

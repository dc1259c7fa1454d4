/**
 * Traefik, built from its Go module by test/tools/build.sh, with its
 * Kubernetes Ingress and Gateway API providers reading the test's real
 * kube-apiserver through a kubeconfig (Traefik reads `KUBECONFIG` when it is
 * not in a cluster: pkg/provider/kubernetes/{ingress,gateway}/client.go).
 * One entry point per scenario, on loopback of the test's node network
 * namespace; a Gateway listener is served by the entry point on its port.
 */
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from './harness/processes.ts';
import { toolPath } from './tools.ts';

export interface TraefikOptions {
  kubeconfig: string;
  dir: string;
  /** Entry point name -> port on 127.0.0.1. */
  entryPoints: Record<string, number>;
  /**
   * `transport.respondingTimeouts.readTimeout` of every entry point. Traefik's
   * default is 60 s; the tests make it short by config, so that "a stream idle
   * longer than the proxy's timeout" takes seconds, not minutes.
   */
  readTimeout?: string;
  /** Port of the ping entry point that says Traefik is up. */
  pingPort: number;
}

export interface Traefik {
  process: ManagedProcess;
  url(entryPoint: string, path?: string): string;
  stop(): Promise<void>;
}

export async function startTraefik(options: TraefikOptions): Promise<Traefik> {
  const args = [
    '--log.level=DEBUG',
    '--providers.kubernetesingress=true',
    '--providers.kubernetesgateway=true',
    // Apply configuration changes at once, not after the default 2 s of quiet.
    '--providers.providersThrottleDuration=0s',
    '--ping=true',
    '--ping.entryPoint=ping',
    `--entryPoints.ping.address=127.0.0.1:${options.pingPort}`,
  ];
  for (const [name, port] of Object.entries(options.entryPoints)) {
    args.push(`--entryPoints.${name}.address=127.0.0.1:${port}`);
    if (options.readTimeout) args.push(`--entryPoints.${name}.transport.respondingTimeouts.readTimeout=${options.readTimeout}`);
  }
  const process_ = startProcess({
    name: 'traefik',
    command: toolPath('traefik'),
    args,
    logFile: join(options.dir, 'traefik.log'),
    env: { ...process.env, KUBECONFIG: options.kubeconfig },
  });
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${options.pingPort}/ping`);
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (process_.exitStatus() || performance.now() > deadline) {
      await process_.stop();
      throw new Error(`traefik did not answer /ping within 30 s:\n${process_.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    process: process_,
    url: (entryPoint, path = '/sse') => `http://127.0.0.1:${options.entryPoints[entryPoint]}${path}`,
    stop: async () => {
      await process_.stop();
    },
  };
}

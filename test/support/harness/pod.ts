/**
 * A stand-in for one pod of an installed Deployment: the harness has no
 * scheduler, kubelet or container runtime, so the test does their part.
 * Everything the container gets is read from the Deployment the install
 * created, never restated here:
 *
 * - a Pod object from the Deployment's template, created through the API
 *   server (as the ReplicaSet controller would: so Pod Security admission
 *   judges the template), its status set Running with the pod address, and
 *   Ready once the readiness probe passes (as the kubelet would);
 * - the command line: the container's `command`/`args` over the image's
 *   ENTRYPOINT/CMD from the Dockerfile (test/support/image.ts), run with
 *   `ip netns exec` in the pod's own network namespace (test/support/netns.ts);
 * - the environment: the image's ENV, the Service links the kubelet adds
 *   unless `enableServiceLinks: false`, `envFrom` and `env` (values, `$(VAR)`
 *   references, the downward API, Secret and ConfigMap keys), and nothing
 *   from the test's own environment;
 * - the volumes: Secrets and ConfigMaps written out as the kubelet projects
 *   them (the pod waits, as ContainerCreating, until a Secret exists),
 *   emptyDirs; paths in the command line under a mountPath point there.
 *
 * Two stand-ins remain, and tests say so: kube-proxy (the pod reaches the API
 * server at the node address, given as KUBERNETES_SERVICE_HOST/PORT, rather
 * than the `kubernetes` Service's cluster IP) and the projected
 * service-account token (a kubeconfig holding a token from the TokenRequest
 * API for the pod's ServiceAccount, named by KUBECONFIG).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { ControlPlane } from './controlplane.ts';
import { syncEndpointSlices } from './endpoint-slices.ts';
import { containerArgv, readImageConfig } from './image.ts';
import { getJson, mustSucceed, type Kubectl } from './kubectl.ts';
import type { Network, PodSlot } from './netns.ts';
import { REPO_ROOT } from './controlplane.ts';
import { describeExit, startProcess, type ManagedProcess } from './processes.ts';

type Json = Record<string, any>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Options for {@link startPod}. */
export interface PodOptions {
  controlPlane: ControlPlane;
  network: Network;
  /** Which pod namespace and address this pod gets. */
  slot: PodSlot;
  namespace: string;
  /** The installed Deployment whose pod this stands in for. */
  deployment: string;
  /** Container to run; default the first. */
  container?: string;
  /** Pod name; default `<deployment>-standin-<last octet of the address>`. */
  name?: string;
  /** A scratch directory owned by the caller (volumes, token, log). */
  dir: string;
  /** How long the pod may take to turn ready; default 30 s. */
  readyTimeoutMs?: number;
}

/** A running stand-in pod. */
export interface Pod {
  name: string;
  ip: string;
  /** The container's command line as the manifest and image give it. */
  argv: string[];
  /** The container's environment as the kubelet would build it, plus the two stand-ins. */
  env: Record<string, string>;
  /** Volume mountPath to the directory standing in for it. */
  mounts: Record<string, string>;
  process: ManagedProcess;
  /** Milliseconds from creating the Pod object to Ready. */
  readyMs: number;
  logTail(lines?: number): string;
  /** Writes its Secret and ConfigMap volumes again, as the kubelet's periodic sync does. */
  syncVolumes(): Promise<void>;
  /** Deletes the Pod object, updates the slices, and stops the process (SIGTERM). */
  stop(): Promise<void>;
}

const envName = (service: string): string => service.toUpperCase().replaceAll('-', '_');

/**
 * The variables the kubelet adds for each Service in the pod's namespace
 * (pkg/kubelet/envvars: `{SVC}_SERVICE_HOST`, `{SVC}_SERVICE_PORT`,
 * `{SVC}_SERVICE_PORT_{PORTNAME}` and the Docker-link style `{SVC}_PORT*`).
 * They matter: a Service whose name maps onto one of the server's own
 * `MCP_ADMISSION_*` variables would configure it.
 */
export function serviceLinkEnv(services: Json[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const service of services) {
    const ip = service.spec?.clusterIP;
    if (!ip || ip === 'None') continue;
    const ports = (service.spec.ports ?? []) as Json[];
    const first = ports[0];
    if (!first) continue;
    const name = envName(service.metadata.name);
    env[`${name}_SERVICE_HOST`] = ip;
    env[`${name}_SERVICE_PORT`] = String(first.port);
    for (const port of ports) if (port.name) env[`${name}_SERVICE_PORT_${envName(port.name)}`] = String(port.port);
    const proto = (p: Json): string => String(p.protocol ?? 'TCP').toLowerCase();
    env[`${name}_PORT`] = `${proto(first)}://${ip}:${first.port}`;
    for (const port of ports) {
      const prefix = `${name}_PORT_${port.port}_${proto(port).toUpperCase()}`;
      env[prefix] = `${proto(port)}://${ip}:${port.port}`;
      env[`${prefix}_PROTO`] = proto(port);
      env[`${prefix}_PORT`] = String(port.port);
      env[`${prefix}_ADDR`] = ip;
    }
  }
  return env;
}

/** Kubernetes `$(VAR)` expansion: defined variables are replaced, `$$` escapes, the rest stays. */
export function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string | undefined) =>
    match === '$$' ? '$' : name !== undefined && name in env ? (env[name] as string) : match,
  );
}

/** The downward API's `fieldRef` paths the kubelet supports for env. */
function fieldRef(path: string, pod: Json, ip: string): string {
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (label) return String(pod.metadata[label[1] as string]?.[label[2] as string] ?? '');
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? 'default';
    case 'spec.nodeName':
      return 'standin-node';
    case 'status.podIP':
    case 'status.podIPs':
      return ip;
    case 'status.hostIP':
    case 'status.hostIPs':
      return ip;
    default:
      throw new Error(`stand-in pod: fieldRef ${path} is not supported`);
  }
}

/** A Secret's or ConfigMap's data as strings, by key. */
async function keys(kubectl: Kubectl, kind: 'secret' | 'configmap', name: string, namespace: string): Promise<Record<string, Buffer>> {
  const object = await getJson<Json>(kubectl, [kind, name, '-n', namespace]);
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries((object.data ?? {}) as Record<string, string>)) {
    out[k] = kind === 'secret' ? Buffer.from(v, 'base64') : Buffer.from(v);
  }
  for (const [k, v] of Object.entries((object.binaryData ?? {}) as Record<string, string>)) out[k] = Buffer.from(v, 'base64');
  return out;
}

/** GET or connect as the kubelet's readiness probe does (no certificate checks); true on success. */
function probeOnce(probe: Json, container: Json, ip: string): Promise<boolean> {
  const resolvePort = (port: number | string): number => {
    if (typeof port === 'number') return port;
    const found = ((container.ports ?? []) as Json[]).find((p) => p.name === port);
    if (!found) throw new Error(`stand-in pod: probe port "${port}" is not a container port`);
    return found.containerPort as number;
  };
  return new Promise((resolve) => {
    if (probe.httpGet) {
      const port = resolvePort(probe.httpGet.port);
      const send = probe.httpGet.scheme === 'HTTPS' ? request : httpRequest;
      const req = send({ host: ip, port, path: probe.httpGet.path ?? '/', rejectUnauthorized: false, timeout: 1000 }, (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    } else if (probe.tcpSocket) {
      const socket = connect(resolvePort(probe.tcpSocket.port), ip);
      socket.setTimeout(1000, () => socket.destroy());
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    } else {
      throw new Error(`stand-in pod: readiness probe ${JSON.stringify(probe)} is not supported`);
    }
  });
}

/** Starts a stand-in for one pod of `options.deployment`; see the module comment. */
export async function startPod(options: PodOptions): Promise<Pod> {
  const { controlPlane, network, slot, namespace } = options;
  const { kubectl } = controlPlane;
  const started = performance.now();
  const deployment = await getJson<Json>(kubectl, ['deployment', options.deployment, '-n', namespace]);
  const template = deployment.spec.template as Json;
  const name = options.name ?? `${options.deployment}-standin-${slot.ip.split('.').at(-1)}`;
  const container = (
    options.container ? (template.spec.containers as Json[]).find((c) => c.name === options.container) : template.spec.containers[0]
  ) as Json | undefined;
  if (!container) throw new Error(`stand-in pod: no container ${options.container ?? ''} in deployment ${options.deployment}`);
  const dir = join(options.dir, name);
  await mkdir(dir, { recursive: true });

  // The ReplicaSet controller's part: the Pod object, admitted like any other.
  const created = await mustSucceed(kubectl, ['create', '-o', 'json', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...template.metadata, name, namespace },
      spec: { ...template.spec, nodeName: undefined },
    }),
  });
  const pod = JSON.parse(created.stdout) as Json;
  const setStatus = (ready: boolean): Promise<unknown> =>
    mustSucceed(kubectl, ['patch', 'pod', name, '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: {
        phase: 'Running',
        podIP: slot.ip,
        podIPs: [{ ip: slot.ip }],
        hostIP: slot.ip,
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
      },
    })]);
  await setStatus(false);

  // Volumes, as the kubelet mounts them.
  const volumes = new Map<string, Json>(((template.spec.volumes ?? []) as Json[]).map((v) => [v.name, v]));
  const mounts: Record<string, string> = {};
  const sources: Array<{ dir: string; kind: 'secret' | 'configmap'; name: string; items?: Json[]; optional: boolean }> = [];
  for (const mount of (container.volumeMounts ?? []) as Json[]) {
    const volume = volumes.get(mount.name);
    if (!volume) throw new Error(`stand-in pod: volumeMount ${mount.name} has no volume`);
    const hostDir = join(dir, 'volumes', mount.name);
    await mkdir(hostDir, { recursive: true });
    mounts[mount.mountPath] = hostDir;
    if (volume.secret) {
      sources.push({ dir: hostDir, kind: 'secret', name: volume.secret.secretName, items: volume.secret.items, optional: Boolean(volume.secret.optional) });
    } else if (volume.configMap) {
      sources.push({ dir: hostDir, kind: 'configmap', name: volume.configMap.name, items: volume.configMap.items, optional: Boolean(volume.configMap.optional) });
    } else if (!volume.emptyDir) {
      throw new Error(`stand-in pod: volume ${JSON.stringify(volume)} is not supported`);
    }
  }
  const syncVolumes = async (): Promise<void> => {
    for (const source of sources) {
      let data: Record<string, Buffer>;
      try {
        data = await keys(kubectl, source.kind, source.name, namespace);
      } catch (err) {
        if (source.optional) continue;
        throw err;
      }
      const files = source.items
        ? source.items.map((item) => [item.path as string, data[item.key as string]] as const)
        : Object.entries(data);
      for (const [path, content] of files) {
        if (!content) throw new Error(`stand-in pod: ${source.kind} ${source.name} has no key for ${path}`);
        // Written aside and renamed, so a reader never sees half a file.
        const file = join(source.dir, path);
        await writeFile(`${file}.tmp`, content, { mode: 0o600 });
        await rename(`${file}.tmp`, file);
      }
    }
  };
  // ContainerCreating: the kubelet waits for a missing Secret.
  const deadline = performance.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    try {
      await syncVolumes();
      break;
    } catch (err) {
      if (performance.now() > deadline) throw new Error(`stand-in pod ${name}: volumes never became available: ${(err as Error).message}`);
      await sleep(250);
    }
  }

  // The environment, in the kubelet's order: Service links, envFrom, env.
  const image = readImageConfig();
  const env: Record<string, string> = { ...image.env, HOSTNAME: name };
  if (template.spec.enableServiceLinks !== false) {
    const services = await getJson<{ items: Json[] }>(kubectl, ['services', '-n', namespace]);
    Object.assign(env, serviceLinkEnv(services.items));
  }
  for (const from of (container.envFrom ?? []) as Json[]) {
    const ref = from.secretRef ?? from.configMapRef;
    const data = await keys(kubectl, from.secretRef ? 'secret' : 'configmap', ref.name, namespace);
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v.toString('utf8');
  }
  for (const variable of (container.env ?? []) as Json[]) {
    const from = variable.valueFrom as Json | undefined;
    if (!from) env[variable.name] = expand(String(variable.value ?? ''), env);
    else if (from.fieldRef) env[variable.name] = fieldRef(from.fieldRef.fieldPath, pod, slot.ip);
    else if (from.secretKeyRef || from.configMapKeyRef) {
      const ref = from.secretKeyRef ?? from.configMapKeyRef;
      const data = await keys(kubectl, from.secretKeyRef ? 'secret' : 'configmap', ref.name, namespace);
      env[variable.name] = data[ref.key]?.toString('utf8') ?? '';
    } else throw new Error(`stand-in pod: env ${variable.name} valueFrom ${JSON.stringify(from)} is not supported`);
  }

  // Stand-ins for kube-proxy and the projected service-account token.
  const apiserverPort = new URL(controlPlane.url).port;
  env.KUBERNETES_SERVICE_HOST = network.nodeIp;
  env.KUBERNETES_SERVICE_PORT = apiserverPort;
  if (template.spec.automountServiceAccountToken !== false) {
    const serviceAccount = template.spec.serviceAccountName ?? 'default';
    const token = (await mustSucceed(kubectl, ['create', 'token', serviceAccount, '-n', namespace, '--duration=2h'])).stdout.trim();
    const kubeconfig = join(dir, 'serviceaccount.kubeconfig');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'in-cluster', cluster: {
          server: `https://${network.nodeIp}:${apiserverPort}`,
          'certificate-authority': controlPlane.pki.servingCA.cert,
          // The API server's certificate names 127.0.0.1 and localhost.
          'tls-server-name': 'localhost',
        } }],
        users: [{ name: serviceAccount, user: { token } }],
        contexts: [{ name: 'in-cluster', context: { cluster: 'in-cluster', user: serviceAccount, namespace } }],
        'current-context': 'in-cluster',
      }),
      { mode: 0o600 },
    );
    env.KUBECONFIG = kubeconfig;
  }
  env.PATH = process.env.PATH ?? '/usr/bin:/bin';

  const expandedContainer = {
    command: container.command?.map((a: string) => expand(a, env)),
    args: container.args?.map((a: string) => expand(a, env)),
  };
  const { argv, local } = containerArgv(image, expandedContainer);
  const underMount = (arg: string): string => {
    for (const [mountPath, hostDir] of Object.entries(mounts)) {
      if (arg === mountPath || arg.startsWith(`${mountPath}/`)) return hostDir + arg.slice(mountPath.length);
    }
    return arg;
  };
  const proc = startProcess({
    name: `pod ${name}`,
    command: 'ip',
    // Only the container's own arguments name paths inside the pod; the
    // script path is this checkout's.
    args: ['netns', 'exec', slot.netns, local.command, ...local.args.map((arg, i) => (i === 0 ? arg : underMount(arg)))],
    cwd: REPO_ROOT,
    env,
    logFile: join(dir, 'container.log'),
  });

  const stop = async (): Promise<void> => {
    await kubectl(['delete', 'pod', name, '-n', namespace, '--grace-period=0', '--force', '--wait=false']);
    await syncEndpointSlices(kubectl, namespace).catch(() => undefined);
    await proc.stop();
  };

  try {
    const probe = container.readinessProbe as Json | undefined;
    for (;;) {
      const status = proc.exitStatus();
      if (status) throw new Error(`stand-in pod ${name}: container ${describeExit(status)}:\n${proc.logTail()}`);
      // The kubelet probes every periodSeconds; polling faster only shortens the test.
      if (!probe || (await probeOnce(probe, container, slot.ip))) break;
      if (performance.now() > deadline) throw new Error(`stand-in pod ${name}: not ready in time:\n${proc.logTail()}`);
      await sleep(100);
    }
    await setStatus(true);
    await syncEndpointSlices(kubectl, namespace);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    name,
    ip: slot.ip,
    argv,
    env,
    mounts,
    process: proc,
    readyMs: performance.now() - started,
    logTail: (lines) => proc.logTail(lines),
    syncVolumes,
    stop,
  };
}

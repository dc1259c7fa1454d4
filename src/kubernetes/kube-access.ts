/**
 * Where serve connects and how it authenticates to the API server, loaded
 * as @kubernetes/client-node's `loadFromFile` / `loadFromDefault` (and
 * client-go's clientcmd and rest.InClusterConfig) do for the cases serve
 * meets, without loading client-node (whose KubeConfig loads its whole
 * generated API: about 41 MB of RSS, issue 13):
 * `--kubeconfig FILE`, else `KUBECONFIG` (one file), else `~/.kube/config`,
 * else in-cluster (the service-account token, CA and
 * KUBERNETES_SERVICE_HOST/PORT).
 *
 * Static credentials (token, token file, client certificate and key, basic
 * auth, CA, insecure-skip-tls-verify, tls-server-name) are ours. Anything
 * else (exec or auth-provider users, several KUBECONFIG files, a proxy,
 * impersonation) is handed to client-node (kube-config.ts, loaded only
 * then), which gives the headers and undici dispatcher of every call, as
 * before (dispatcher-transport.ts, undici loaded only then).
 *
 * Static credentials' calls share one node:https keep-alive Agent per TLS
 * material (https-transport.ts); the material is read again on every call,
 * as client-node does, so a client certificate rotated on disk gets a new
 * pool and the old one closes once idle.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { isIPv6 } from 'node:net';
import type { Agent, Dispatcher } from 'undici';
import { HttpsTransport, type TlsMaterial } from './https-transport.ts';
import type { Transport } from './transport.ts';
import { KubeconfigError, readKubeconfig, type KubeconfigCluster, type KubeconfigUser } from './kubeconfig.ts';

/** How long an idle connection stays open (as the client-node pool, kube-config.ts). */
export const IDLE_CONNECTION_MS = 30_000;

/**
 * How long a token read from a file is used before the file is read again:
 * client-go's cachingTokenSource over a file (transport/token_source.go,
 * NewCachedFileTokenSource) re-reads it every minute, so a projected
 * service-account token that the kubelet rotates is picked up.
 */
export const TOKEN_FILE_PERIOD_MS = 60_000;

/** Where the service account's files are mounted in a pod (rest.InClusterConfig). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The transport and headers of one API call. */
export interface Connection {
  transport: Transport;
  headers: Record<string, string>;
}

/** Where and how to call the API server. */
export interface KubeAccess {
  /** The API server's URL, no trailing slash (it may carry a path prefix). */
  readonly server: string;
  /** What this access was loaded from, for logs and errors. */
  readonly source: string;
  /** The transport and headers for a call to `url`. */
  connection(url: string, method: string): Promise<Connection>;
  /** Closes every connection pool, letting calls in flight finish. */
  close(): Promise<void>;
  /** How many connection pools are open (for tests). */
  poolCount(): number;
}

/** Options for {@link loadKubeAccess}: the flag, and the environment to read (the process's by default). */
export interface KubeAccessOptions {
  kubeconfig?: string | undefined;
  env?: NodeJS.ProcessEnv;
  home?: string;
  serviceAccountDir?: string;
  /** Clock for re-reading token files (tests). */
  now?: () => number;
  /** Told once, at info, when client-node is loaded for a configuration ours cannot serve. */
  logger?: { info(fields: object, message: string): void };
}

/** The TLS material and credentials of one cluster and user, read from their files on demand. */
interface Material {
  cluster: KubeconfigCluster;
  user: KubeconfigUser;
}

const read = (file: string, what: string): Buffer => {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new KubeconfigError(file, `cannot read the ${what}: ${(err as Error).message}`);
  }
};

/** File or inline base64 data, the file winning as in client-node's bufferFromFileOrString. */
const fileOrData = (file: string | undefined, data: string | undefined, what: string): Buffer | undefined =>
  file ? read(file, what) : data ? Buffer.from(data, 'base64') : undefined;

/** Static credentials, one pooled Agent; see the module comment. */
export class StaticKubeAccess implements KubeAccess {
  readonly server: string;
  readonly source: string;
  private readonly material: Material;
  private pool: { digest: string; transport: HttpsTransport } | undefined;
  private token: { value: string; readAt: number } | undefined;
  private readonly now: () => number;
  private readonly idleMs: number;

  /** @param idleMs how long an idle connection stays open ({@link IDLE_CONNECTION_MS}; shorter in tests) */
  constructor(source: string, material: Material, now: () => number = Date.now, idleMs = IDLE_CONNECTION_MS) {
    this.source = source;
    this.server = material.cluster.server;
    this.material = material;
    this.now = now;
    this.idleMs = idleMs;
  }

  async connection(_url: string, _method: string): Promise<Connection> {
    const headers: Record<string, string> = {};
    const authorization = this.authorization();
    if (authorization) headers.authorization = authorization;
    return { transport: this.transport(), headers };
  }

  async close(): Promise<void> {
    const transport = this.pool?.transport;
    this.pool = undefined;
    transport?.close();
  }

  poolCount(): number {
    return this.pool ? 1 : 0;
  }

  /** The Authorization header: a token (inline or from its file), else basic auth, else none. */
  private authorization(): string | undefined {
    const { user } = this.material;
    if (user.token) return `Bearer ${user.token}`;
    if (user.tokenFile) {
      if (!this.token || this.now() - this.token.readAt >= TOKEN_FILE_PERIOD_MS) {
        this.token = { value: read(user.tokenFile, 'token file').toString('utf8').trim(), readAt: this.now() };
      }
      return `Bearer ${this.token.value}`;
    }
    if (user.username !== undefined) return `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
    return undefined;
  }

  private transport(): HttpsTransport {
    const { cluster, user } = this.material;
    const connect: TlsMaterial = {};
    const ca = fileOrData(cluster.certificateAuthority, cluster.certificateAuthorityData, 'certificate authority');
    if (ca) connect.ca = ca;
    const cert = fileOrData(user.clientCertificate, user.clientCertificateData, 'client certificate');
    if (cert) connect.cert = cert;
    const key = fileOrData(user.clientKey, user.clientKeyData, 'client key');
    if (key) connect.key = key;
    if (cluster.insecureSkipTlsVerify) connect.rejectUnauthorized = false;
    if (cluster.tlsServerName) connect.servername = cluster.tlsServerName;
    const hash = createHash('sha256');
    for (const [name, value] of Object.entries(connect)) {
      const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value));
      hash.update(`${name}:${bytes.length}\0`).update(bytes);
    }
    const digest = hash.digest('hex');
    if (this.pool?.digest === digest) return this.pool.transport;
    // New material (a rotated client certificate): the old pool finishes
    // what it carries (watches end at their timeout) and closes.
    this.pool?.transport.close();
    const transport = new HttpsTransport(new URL(this.server).protocol === 'https:', connect, this.idleMs);
    this.pool = { digest, transport };
    return transport;
  }
}

/** A configuration only client-node can serve: its PooledKubeConfig gives every call's headers and dispatcher. */
async function clientNodeAccess(source: string, reason: string, kubeconfig: string | undefined, options: KubeAccessOptions): Promise<KubeAccess> {
  options.logger?.info({ source, reason }, 'loading @kubernetes/client-node for this Kubernetes configuration (about 40 MB more memory)');
  const [{ loadKubeConfig }, { RequestContext }] = await Promise.all([import('./kube-config.ts'), import('@kubernetes/client-node')]);
  const config = loadKubeConfig({ kubeconfig });
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new KubeconfigError(source, 'no current cluster');
  // undici is imported here only (serve with static credentials loads none of it). client-node gives no
  // dispatcher where it applies no TLS (no user, plain HTTP): one pool of ours then.
  const [{ Agent: FallbackAgent }, { dispatcherTransport }] = await Promise.all([import('undici'), import('./dispatcher-transport.ts')]);
  let plain: Agent | undefined;
  return {
    server: cluster.server.replace(/\/+$/, ''),
    source,
    async connection(url, method) {
      const context = new RequestContext(url, method as ConstructorParameters<typeof RequestContext>[1]);
      await config.applySecurityAuthentication(context);
      const dispatcher = (context.getDispatcher() as Dispatcher | undefined) ?? (plain ??= new FallbackAgent({ allowH2: true, keepAliveTimeout: IDLE_CONNECTION_MS }));
      return { transport: dispatcherTransport(dispatcher), headers: context.getHeaders() };
    },
    async close() {
      await Promise.all([config.close(), plain?.close().catch(() => undefined)]);
    },
    poolCount: () => config.poolCount() + (plain ? 1 : 0),
  };
}

async function fromFile(file: string, options: KubeAccessOptions): Promise<KubeAccess> {
  const config = await readKubeconfig(file);
  if (config.unsupported.length > 0) return clientNodeAccess(file, config.unsupported.join('; '), file, options);
  return new StaticKubeAccess(file, config, options.now);
}

/**
 * In-cluster access as rest.InClusterConfig builds it: the Service's host
 * and port from the environment (an IPv6 host in brackets), the mounted CA,
 * and the service-account token file, read again as it rotates. Plain HTTP
 * on the ports client-node treats as such (80, 8080, 8001).
 */
function inCluster(env: NodeJS.ProcessEnv, dir: string, now?: () => number): KubeAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeconfigError(join(dir, 'token'), 'in-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT');
  }
  const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
  const server = `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  return new StaticKubeAccess('in-cluster service account', {
    cluster: { server, certificateAuthority: join(dir, 'ca.crt') },
    user: { tokenFile: join(dir, 'token') },
  }, now);
}

/** Loads the access serve uses; see the module comment for the order. */
export async function loadKubeAccess(options: KubeAccessOptions = {}): Promise<KubeAccess> {
  const env = options.env ?? process.env;
  if (options.kubeconfig) return fromFile(options.kubeconfig, options);
  const files = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  // Several files are merged by client-node's rules (mergeConfig); one is read here.
  if (files.length > 1) return clientNodeAccess(`KUBECONFIG=${env.KUBECONFIG}`, 'KUBECONFIG names several files', undefined, options);
  if (files.length === 1) return fromFile(files[0] as string, options);
  const home = options.home ?? env.HOME ?? homedir();
  const dotKube = join(home, '.kube', 'config');
  if (home && existsSync(dotKube)) return fromFile(dotKube, options);
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (existsSync(join(dir, 'token'))) return inCluster(env, dir, options.now);
  // client-node's last resort (loadFromDefault): the insecure local port, no credentials.
  return new StaticKubeAccess('default (no kubeconfig, not in a cluster)', { cluster: { server: 'http://localhost:8080' }, user: {} });
}

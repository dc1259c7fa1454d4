/**
 * The client-node configuration of the commands that use its typed APIs
 * (the CLI and the prober), and of serve for a kubeconfig only client-node
 * can serve (kube-access.ts): client-node's KubeConfig with one connection
 * pool per API server instead of one per call.
 *
 * client-node 2.0.1 (`dist/config.js`, `applySecurityAuthentication` →
 * private `createDispatcher`) builds a new undici Agent for every API call
 * that carries TLS material (a CA, a client certificate): every list, watch,
 * Lease read and renewal, status write and Secret read opened a new TLS
 * connection, parsed the client key again (`createSecureContext`), and left
 * the Agent unclosed. serve spent most of its idle CPU there (issue 13).
 *
 * Here the headers (tokens from exec plugins and token files, basic auth,
 * impersonation) still come from client-node on every call; only the
 * dispatcher is swapped for a pooled one, keyed by the API server and the
 * TLS material read the way client-node reads it (the files again on every
 * call, so a client certificate rotated on disk gets a new pool and the old
 * one is closed).
 */
import { createHash } from 'node:crypto';
import type { AgentOptions } from 'node:https';
import { KubeConfig, bufferFromFileOrString, type Cluster, type RequestContext } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';

/**
 * How long an idle connection stays open. Lease renewals (every 2 s by
 * default) and informer watches keep the pool busy; an idle CLI or a quiet
 * API server gets its sockets back after this.
 */
export const IDLE_CONNECTION_MS = 30_000;

/** At most this many pools (one per API server in use). */
export const MAX_POOLS = 4;

interface Pool {
  /** Digest of the TLS material the pool was made with. */
  material: string;
  agent: Agent;
}

/** Digest of the connect options: the bytes of the CA, certificate and key, and every other option's value. */
function digest(connect: object): string {
  const hash = createHash('sha256');
  for (const [name, value] of Object.entries(connect).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value) ?? '');
    hash.update(`${name}:${bytes.length}\0`).update(bytes);
  }
  return hash.digest('hex');
}

/**
 * A KubeConfig whose API calls and watches share one undici Agent per API
 * server and TLS material. Watches hold a stream each; over HTTP/2 (what
 * kube-apiserver negotiates) they are streams of the pooled connection, over
 * HTTP/1.1 the pool opens another connection for each, so a watch never
 * blocks another call.
 */
export class PooledKubeConfig extends KubeConfig {
  private readonly pools = new Map<string, Pool>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const pooled = this.pooledDispatcher();
    if (pooled) context.setDispatcher(pooled);
  }

  /** Closes every pool, letting calls in flight finish. */
  async close(): Promise<void> {
    const agents = [...this.pools.values()].map((pool) => pool.agent);
    this.pools.clear();
    await Promise.all(agents.map((agent) => agent.close().catch(() => undefined)));
  }

  /** How many pools are open (for tests). */
  poolCount(): number {
    return this.pools.size;
  }

  /**
   * The pooled Agent for the current cluster and user, or undefined where
   * client-node's own dispatcher stays: no user (client-node then applies no
   * TLS material), a plain-HTTP cluster, or a proxy (HTTP or SOCKS, whose
   * connector client-node keeps private).
   */
  private pooledDispatcher(): Dispatcher | undefined {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    if (!cluster || !user || cluster.proxyUrl) return undefined;
    // The material as client-node's private applyHTTPSOptions reads it.
    const agentOptions: AgentOptions = {};
    if (cluster.skipTLSVerify) agentOptions.rejectUnauthorized = false;
    if (cluster.tlsServerName) agentOptions.servername = cluster.tlsServerName;
    const ca = bufferFromFileOrString(cluster.caFile, cluster.caData);
    if (ca) agentOptions.ca = ca;
    const cert = bufferFromFileOrString(user.certFile, user.certData);
    if (cert) agentOptions.cert = cert;
    const key = bufferFromFileOrString(user.keyFile, user.keyData);
    if (key) agentOptions.key = key;
    const options = this.createDispatcherOptions(cluster, agentOptions);
    if (options.type !== 'agent') return undefined;
    return this.pool(cluster, digest(options.connect), options.connect);
  }

  private pool(cluster: Cluster, material: string, connect: Agent.Options['connect']): Agent {
    const existing = this.pools.get(cluster.server);
    if (existing?.material === material) {
      // Most recently used last: the first entry is the one to evict.
      this.pools.delete(cluster.server);
      this.pools.set(cluster.server, existing);
      return existing.agent;
    }
    // New material for this server (a rotated certificate): the old pool
    // finishes what it carries (watches end at their timeout) and closes.
    if (existing) this.retire(cluster.server, existing);
    const agent = new Agent({ connect, keepAliveTimeout: IDLE_CONNECTION_MS });
    this.pools.set(cluster.server, { material, agent });
    while (this.pools.size > MAX_POOLS) {
      const [server, oldest] = this.pools.entries().next().value as [string, Pool];
      this.retire(server, oldest);
    }
    return agent;
  }

  private retire(server: string, pool: Pool): void {
    this.pools.delete(server);
    pool.agent.close().catch(() => undefined);
  }
}

/** Where the configuration comes from: a kubeconfig file, or client-node's default (KUBECONFIG, ~/.kube/config, in-cluster). */
export interface KubeConfigSource {
  kubeconfig?: string | undefined;
}

/** Loads the client configuration every command uses. */
export function loadKubeConfig(source: KubeConfigSource = {}): PooledKubeConfig {
  const kubeConfig = new PooledKubeConfig();
  if (source.kubeconfig) kubeConfig.loadFromFile(source.kubeconfig);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

/**
 * Reading a kubeconfig into the cluster and user of its current context,
 * the way client-go's clientcmd (and @kubernetes/client-node's KubeConfig)
 * reads one file: relative file paths are relative to the file's directory,
 * and a context, cluster or user that is named but missing is an error.
 *
 * Only the fields serve can honour itself are kept as such; a user or
 * cluster that needs more (exec or auth-provider plugins, impersonation, a
 * proxy) is reported in `unsupported`, and the caller hands the file to
 * client-node instead (kube-access.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

/** A cluster entry (clientcmd api/v1 Cluster), the fields we read. */
export interface KubeconfigCluster {
  server: string;
  certificateAuthority?: string;
  certificateAuthorityData?: string;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
}

/** A user entry (clientcmd api/v1 AuthInfo), the static credentials we honour. */
export interface KubeconfigUser {
  token?: string;
  tokenFile?: string;
  clientCertificate?: string;
  clientCertificateData?: string;
  clientKey?: string;
  clientKeyData?: string;
  username?: string;
  password?: string;
}

/** The current context of one kubeconfig file. */
export interface Kubeconfig {
  file: string;
  context: string;
  cluster: KubeconfigCluster;
  user: KubeconfigUser;
  /** What this file asks for that only client-node can do (empty when static). */
  unsupported: string[];
}

/** A kubeconfig that cannot be used: says which file and what is wrong. */
export class KubeconfigError extends Error {
  constructor(file: string, problem: string) {
    super(`kubeconfig ${file}: ${problem}`);
    this.name = 'KubeconfigError';
  }
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses JSON, or YAML when it is not JSON (most kubeconfigs; the YAML parser is loaded only then). */
async function parse(file: string, text: string): Promise<Json> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    try {
      const { parse: parseYaml } = await import('yaml');
      parsed = parseYaml(text);
    } catch (err) {
      throw new KubeconfigError(file, `not YAML or JSON: ${(err as Error).message}`);
    }
  }
  if (!isObject(parsed)) throw new KubeconfigError(file, 'not a kubeconfig (expected a mapping with clusters, users and contexts)');
  return parsed;
}

/** The entry `name` of list `field` (clusters, users, contexts), its inner object. */
function named(file: string, config: Json, field: 'clusters' | 'users' | 'contexts', inner: 'cluster' | 'user' | 'context', name: string): Json {
  const list = config[field] ?? [];
  if (!Array.isArray(list)) throw new KubeconfigError(file, `${field} is not a list`);
  const entry = list.find((e: unknown) => isObject(e) && e.name === name) as Json | undefined;
  if (!entry) throw new KubeconfigError(file, `${field} has no entry named "${name}"`);
  const value = entry[inner] ?? {};
  if (!isObject(value)) throw new KubeconfigError(file, `${field} entry "${name}" has no ${inner} mapping`);
  return value;
}

function text(file: string, where: string, object: Json, field: string): string | undefined {
  const value = object[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new KubeconfigError(file, `${where}: ${field} must be a string`);
  return value;
}

/** Reads `file` and picks its current context (or `context`, if given). */
export async function readKubeconfig(file: string, context?: string): Promise<Kubeconfig> {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeconfigError(file, `cannot read it: ${(err as Error).message}`);
  }
  const config = await parse(file, raw);
  const contextName = context ?? (typeof config['current-context'] === 'string' ? config['current-context'] : '');
  if (!contextName) throw new KubeconfigError(file, 'no current-context');
  const ctx = named(file, config, 'contexts', 'context', contextName);
  const clusterName = text(file, `context "${contextName}"`, ctx, 'cluster');
  if (!clusterName) throw new KubeconfigError(file, `context "${contextName}" names no cluster`);
  const rawCluster = named(file, config, 'clusters', 'cluster', clusterName);
  const userName = text(file, `context "${contextName}"`, ctx, 'user');
  // clientcmd: a context without a user authenticates with nothing (anonymous).
  const rawUser = userName ? named(file, config, 'users', 'user', userName) : {};
  const base = dirname(resolve(file));
  // clientcmd resolves relative paths against the kubeconfig's directory (ResolvePaths).
  const path = (value: string | undefined): string | undefined => (value === undefined || isAbsolute(value) ? value : resolve(base, value));
  const where = `cluster "${clusterName}"`;
  const server = text(file, where, rawCluster, 'server');
  if (!server) throw new KubeconfigError(file, `${where} has no server`);
  try {
    new URL(server);
  } catch {
    throw new KubeconfigError(file, `${where}: server "${server}" is not a URL`);
  }
  const cluster: KubeconfigCluster = { server: server.replace(/\/+$/, '') };
  const set = <T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void => {
    if (value !== undefined) target[key] = value;
  };
  set(cluster, 'certificateAuthority', path(text(file, where, rawCluster, 'certificate-authority')));
  set(cluster, 'certificateAuthorityData', text(file, where, rawCluster, 'certificate-authority-data'));
  set(cluster, 'tlsServerName', text(file, where, rawCluster, 'tls-server-name'));
  if (rawCluster['insecure-skip-tls-verify'] === true) cluster.insecureSkipTlsVerify = true;

  const userWhere = `user "${userName ?? ''}"`;
  const user: KubeconfigUser = {};
  set(user, 'token', text(file, userWhere, rawUser, 'token'));
  set(user, 'tokenFile', path(text(file, userWhere, rawUser, 'tokenFile')));
  set(user, 'clientCertificate', path(text(file, userWhere, rawUser, 'client-certificate')));
  set(user, 'clientCertificateData', text(file, userWhere, rawUser, 'client-certificate-data'));
  set(user, 'clientKey', path(text(file, userWhere, rawUser, 'client-key')));
  set(user, 'clientKeyData', text(file, userWhere, rawUser, 'client-key-data'));
  set(user, 'username', text(file, userWhere, rawUser, 'username'));
  set(user, 'password', text(file, userWhere, rawUser, 'password'));
  const hasCert = user.clientCertificate !== undefined || user.clientCertificateData !== undefined;
  const hasKey = user.clientKey !== undefined || user.clientKeyData !== undefined;
  if (hasCert !== hasKey) throw new KubeconfigError(file, `${userWhere}: a client certificate needs its key, and a key its certificate`);

  const unsupported: string[] = [];
  for (const field of ['exec', 'auth-provider', 'as', 'as-uid', 'as-groups', 'as-user-extra']) {
    if (rawUser[field] !== undefined && rawUser[field] !== null) unsupported.push(`${userWhere} uses ${field}`);
  }
  if (text(file, where, rawCluster, 'proxy-url')) unsupported.push(`${where} uses proxy-url`);
  return { file, context: contextName, cluster, user, unsupported };
}

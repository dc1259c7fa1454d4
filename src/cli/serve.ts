/**
 * `mcp-admission serve`: the composition root. Builds config, logger,
 * metrics, certificate source and settings source, then the app and the
 * servers; nothing below this file reads flags, env or globals.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { createLogger } from './logger.ts';
import type { RunningPolicyStatus } from './policy-status.ts';
import type { SettingsSource } from '../admission/admission.ts';
import type { KubeClient } from '../kubernetes/kube-client.ts';
import type { ClusterFacts } from '../policy/front-door.ts';
import { createApp } from '../server/app.ts';
import { DevelopmentCertificateSource, FileCertificateSource, type CertificateSource, type KeyPair } from '../server/certificate-source.ts';
import { serviceHosts, summarize } from '../certificates/x509.ts';
import { ConfigError, readCommandLine } from './config.ts';
import { SERVE_COMMAND, type ServeConfig } from './serve-config.ts';
import { createMetrics, setPolicyCounts, type AdmissionMetrics } from '../server/metrics.ts';
import { startServers } from '../server/server.ts';
import { staticSettings } from '../settings/static-source.ts';

interface ReadySettings extends SettingsSource {
  ready(): boolean;
  stop?(): Promise<void>;
  /** What the front-door rules know of the cluster; only with a cluster to watch. */
  facts?: ClusterFacts;
}

const inCluster = (): boolean => process.env.KUBERNETES_SERVICE_HOST !== undefined;

/**
 * The Kubernetes client, made once on first use: file or built-in policies
 * with file certificates do not need it. It is our own (src/kubernetes):
 * @kubernetes/client-node is loaded only for a kubeconfig that needs it
 * (exec or auth-provider users, proxies, impersonation, several files),
 * since loading its KubeConfig costs about 41 MB of RSS (issue 13).
 */
function kubeClientLoader(config: ServeConfig, logger: Logger): () => Promise<KubeClient> {
  let loaded: Promise<KubeClient> | undefined;
  return () =>
    (loaded ??= Promise.all([import('../kubernetes/kube-access.ts'), import('../kubernetes/kube-client.ts')]).then(async ([{ loadKubeAccess }, { KubeClient }]) => {
      const access = await loadKubeAccess({ kubeconfig: config.kubeconfig, logger });
      logger.info({ server: access.server, source: access.source }, 'Kubernetes API server');
      return new KubeClient(access);
    }));
}

async function settingsSource(config: ServeConfig, logger: Logger, metrics: AdmissionMetrics, clientOf: () => Promise<KubeClient>): Promise<ReadySettings> {
  const source =
    config.policySource !== 'auto'
      ? config.policySource
      : config.policy
        ? 'file'
        : config.kubeconfig || inCluster()
          ? 'cluster'
          : 'builtin';
  if (source === 'file') {
    if (!config.policy) throw new ConfigError('--policy-source file needs --policy FILE');
    // Loaded only here: the policy file reader brings the YAML parser, which
    // built-in and cluster policies never need (about 1 MB of RSS).
    const { loadPolicyFile } = await import('../settings/policy-file.ts');
    const policies = await loadPolicyFile(config.policy);
    setPolicyCounts(metrics, { accepted: policies.length });
    logger.info({ file: config.policy, policies: policies.map((p) => p.name) }, 'policies loaded from file');
    return { ...staticSettings(policies), ready: () => true };
  }
  if (source === 'builtin') {
    logger.info('no policy source: built-in defaults in force');
    return { ...staticSettings(), ready: () => true };
  }
  const [client, { ClusterSettingsSource }, { InformerClusterFacts }, { startPolicyStatus }] = await Promise.all([
    clientOf(),
    import('../settings/cluster-source.ts'),
    import('../kubernetes/cluster-facts.ts'),
    import('./policy-status.ts'),
  ]);
  let status: RunningPolicyStatus | undefined;
  const cluster = new ClusterSettingsSource({
    client,
    logger,
    // mcp_admission_policies{state} comes from the status plan, which also knows conflicts.
    onChange: () => status?.changed(),
    onSyncError: () => metrics.policySyncErrors.inc(),
    onStale: (stale) => metrics.policyStale.set(stale ? 1 : 0),
  });
  status = startPolicyStatus({ client, cluster, namespace: config.namespace, logger, metrics });
  const facts = new InformerClusterFacts({ client, logger });
  // Not awaited: the server answers /healthz at once, and /readyz once
  // policies and namespaces have been listed (failed lists are retried and
  // logged by the source).
  cluster.start().then(
    () => logger.info('policies synced from the cluster'),
    (err: unknown) => logger.info({ err: (err as Error).message }, 'policy source stopped before its first sync'),
  );
  facts.start().then(
    () => logger.info('front-door facts synced from the cluster'),
    (err: unknown) => logger.error({ err }, 'first sync of front-door facts failed; retrying'),
  );
  return {
    settingsFor: (namespace) => cluster.settingsFor(namespace),
    // Not gated on the facts: without them (not synced yet, or no RBAC to
    // read them) routes are judged by policy alone and Deployments and
    // Services not at all differently, so the webhook still serves.
    ready: () => cluster.ready(),
    stop: async () => {
      await Promise.all([status?.stop(), cluster.stop(), facts.stop()]);
    },
    facts,
  };
}

interface Certificates {
  source: CertificateSource;
  /** Stops managing certificates (the Lease is released); serving goes on until the server stops. */
  release?(): Promise<void>;
}

async function certificateSource(config: ServeConfig, logger: Logger, metrics: AdmissionMetrics, clientOf: () => Promise<KubeClient>): Promise<Certificates> {
  const mode = config.certificates ?? (config.tlsCert ? 'files' : config.kubeconfig || inCluster() ? 'self-managed' : 'development');
  if (mode === 'development') {
    logger.warn('serving a self-signed development certificate for localhost and 127.0.0.1');
    return { source: new DevelopmentCertificateSource() };
  }
  if (mode === 'files') {
    return {
      source: new FileCertificateSource({
        certFile: config.tlsCert as string,
        keyFile: config.tlsKey as string,
        onReload: () => metrics.certificateReloads.inc({ result: 'success' }),
        onError: (err) => {
          metrics.certificateReloads.inc({ result: 'failure' });
          logger.warn({ err: err.message }, 'certificate reload failed; still serving the previous certificate');
        },
      }),
    };
  }
  const [client, { microTime }, { SecretCertificateSource }, { CertificateRotator }, { clusterCertificateApi }, { clusterLeaseApi }, { LeaderElector, leaseTimings }] =
    await Promise.all([
      clientOf(),
      import('../kubernetes/micro-time.ts'),
      import('../certificates/secret-source.ts'),
      import('../certificates/rotator.ts'),
      import('../certificates/cluster-api.ts'),
      import('../kubernetes/lease-api.ts'),
      import('../kubernetes/leader-election.ts'),
    ]);
  const namespace = config.namespace;
  const hosts = serviceHosts(config.serviceName, namespace, config.extraSan);
  // The pod name (HOSTNAME) says who holds the Lease; the suffix keeps a
  // restarted container from taking over its predecessor's record.
  const identity = `${process.env.HOSTNAME || hostname()}_${randomBytes(4).toString('hex')}`;
  let elector: InstanceType<typeof LeaderElector> | undefined;
  const rotator = new CertificateRotator({
    api: clusterCertificateApi(client, namespace, config.certSecret, config.webhookConfigurations),
    secretName: config.certSecret,
    namespace,
    configurations: config.webhookConfigurations,
    policy: {
      caLifetimeMs: config.caLifetime,
      caRenewBeforeMs: config.caRenewBefore,
      servingLifetimeMs: config.certLifetime,
      servingRenewBeforeMs: config.certRenewBefore,
      propagationMs: config.caBundlePropagation,
      hosts,
    },
    checkIntervalMs: config.certCheckInterval,
    isLeader: () => elector?.isLeader() ?? false,
    logger,
    onStep: (step) => metrics.certificateRotations.inc({ action: step.action }),
  });
  elector = new LeaderElector({
    api: clusterLeaseApi(client, namespace, config.certLease),
    name: config.certLease,
    namespace,
    identity,
    ...leaseTimings(config.leaseDuration),
    microTime,
    onStartedLeading: () => {
      logger.info({ lease: config.certLease, identity }, 'holding the certificate Lease: managing the CA and serving certificate');
      rotator.kick();
    },
    onStoppedLeading: () => logger.info({ lease: config.certLease, identity }, 'no longer holding the certificate Lease'),
    onNewLeader: (holder) => logger.info({ lease: config.certLease, holder }, 'certificate Lease holder'),
    onError: (err) => logger.warn({ err: (err as Error).message }, 'certificate Lease: call failed'),
  });
  logger.info({ secret: config.certSecret, namespace, hosts, configurations: config.webhookConfigurations }, 'self-managed certificates');
  elector.start();
  rotator.start();
  const source = new SecretCertificateSource({
    client,
    namespace,
    name: config.certSecret,
    onReload: () => metrics.certificateReloads.inc({ result: 'success' }),
    onError: (err) => {
      metrics.certificateReloads.inc({ result: 'failure' });
      logger.warn({ err: err.message }, 'certificate Secret: cannot use it now; still serving the previous certificate');
    },
  });
  const lease = elector;
  return {
    source,
    async release() {
      await rotator.stop();
      await lease.stop();
    },
  };
}

/** Logs notAfter and serial of a pair now in use and sets the expiry gauge. */
function reportCertificate(pair: KeyPair, logger: Logger, metrics: AdmissionMetrics): void {
  const summary = summarize(pair.cert);
  if (!summary) return;
  metrics.certificateExpiry.set(Math.floor(summary.notAfter.getTime() / 1000));
  logger.info(
    { serial: summary.serial, notAfter: summary.notAfter.toISOString(), issuer: summary.issuer, names: summary.names },
    'serving certificate loaded',
  );
}

export async function run(args: string[]): Promise<number> {
  const config = readCommandLine(SERVE_COMMAND, args, process.env);
  if (typeof config === 'number') return config;
  const logger = createLogger({ level: config.logLevel, base: { service: 'mcp-admission' } }, undefined, { asynchronous: true });
  const metrics = createMetrics();
  const clientOf = kubeClientLoader(config, logger);
  const managed = await certificateSource(config, logger, metrics, clientOf);
  const certificates = managed.source;
  await certificates.start();
  reportCertificate(certificates.current(), logger, metrics);
  certificates.onChange((pair) => reportCertificate(pair, logger, metrics));
  const settings = await settingsSource(config, logger, metrics, clientOf);

  let server: Awaited<ReturnType<typeof startServers>> | undefined;
  const app = createApp({
    admission: { settings, ownNamespace: config.namespace, ...(settings.facts && { facts: settings.facts }) },
    logger,
    metrics,
    logObjects: config.logObjects,
    ready: () => (server?.accepting() ?? false) && certificates.healthy() && settings.ready(),
  });
  server = await startServers({
    app,
    certificates,
    metrics,
    logger,
    host: config.host,
    port: config.port,
    metricsPort: config.metricsPort,
    shutdownDelayMs: config.shutdownDelaySeconds * 1000,
  });

  const running = server;
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'signal received');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      // The Lease goes at once, so another replica takes over the
      // certificates while this one drains.
      const released = managed.release?.().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'releasing the certificate Lease failed'));
      running
        .shutdown()
        .then(() => settings.stop?.())
        .then(() => released)
        .finally(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}

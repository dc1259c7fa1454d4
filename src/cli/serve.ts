/**
 * `mcp-admission serve`: the composition root. Builds config, logger,
 * metrics, certificate source and settings source, then the app and the
 * servers; nothing below this file reads flags, env or globals.
 */
import type { Logger } from 'pino';
import { createLogger } from './logger.ts';
import type { RunningPolicyStatus } from './policy-status.ts';
import type { SettingsSource } from '../admission/admission.ts';
import type { ClusterFacts } from '../policy/front-door.ts';
import { createApp } from '../server/app.ts';
import { DevelopmentCertificateSource, FileCertificateSource, type CertificateSource } from '../server/certificate-source.ts';
import { ConfigError } from './config.ts';
import { SERVE_USAGE, parseServeConfig, type ServeConfig } from './serve-config.ts';
import { createMetrics, setPolicyCounts, type AdmissionMetrics } from '../server/metrics.ts';
import { startServers } from '../server/server.ts';
import { loadPolicyFile } from '../settings/policy-file.ts';
import { staticSettings } from '../settings/static-source.ts';

interface ReadySettings extends SettingsSource {
  ready(): boolean;
  stop?(): Promise<void>;
  /** What the front-door rules know of the cluster; only with a cluster to watch. */
  facts?: ClusterFacts;
}

async function settingsSource(config: ServeConfig, logger: Logger, metrics: AdmissionMetrics): Promise<ReadySettings> {
  const inCluster = process.env.KUBERNETES_SERVICE_HOST !== undefined;
  const source =
    config.policySource !== 'auto'
      ? config.policySource
      : config.policy
        ? 'file'
        : config.kubeconfig || inCluster
          ? 'cluster'
          : 'builtin';
  if (source === 'file') {
    if (!config.policy) throw new ConfigError('--policy-source file needs --policy FILE');
    const policies = await loadPolicyFile(config.policy);
    setPolicyCounts(metrics, { accepted: policies.length });
    logger.info({ file: config.policy, policies: policies.map((p) => p.name) }, 'policies loaded from file');
    return { ...staticSettings(policies), ready: () => true };
  }
  if (source === 'builtin') {
    logger.info('no policy source: built-in defaults in force');
    return { ...staticSettings(), ready: () => true };
  }
  // Loaded only here: the Kubernetes client is the largest part of the
  // webhook's memory, and file or built-in policies do not need it.
  const [{ KubeConfig }, { ClusterSettingsSource }, { InformerClusterFacts }, { startPolicyStatus }] = await Promise.all([
    import('@kubernetes/client-node'),
    import('../settings/cluster-source.ts'),
    import('../kubernetes/cluster-facts.ts'),
    import('./policy-status.ts'),
  ]);
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
  else kubeConfig.loadFromDefault();
  let status: RunningPolicyStatus | undefined;
  const cluster = new ClusterSettingsSource({
    kubeConfig,
    logger,
    // mcp_admission_policies{state} comes from the status plan, which also knows conflicts.
    onChange: () => status?.changed(),
    onSyncError: () => metrics.policySyncErrors.inc(),
    onStale: (stale) => metrics.policyStale.set(stale ? 1 : 0),
  });
  status = startPolicyStatus({ kubeConfig, cluster, namespace: config.namespace, logger, metrics });
  const facts = new InformerClusterFacts({ kubeConfig, logger });
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

function certificateSource(config: ServeConfig, logger: Logger, metrics: AdmissionMetrics): CertificateSource {
  if (!config.tlsCert || !config.tlsKey) {
    logger.warn('no --tls-cert/--tls-key: serving a self-signed development certificate for localhost and 127.0.0.1');
    return new DevelopmentCertificateSource();
  }
  return new FileCertificateSource({
    certFile: config.tlsCert,
    keyFile: config.tlsKey,
    onReload: () => metrics.certificateReloads.inc({ result: 'success' }),
    onError: (err) => {
      metrics.certificateReloads.inc({ result: 'failure' });
      logger.warn({ err: err.message }, 'certificate reload failed; still serving the previous certificate');
    },
  });
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  let config: ServeConfig;
  try {
    config = parseServeConfig(args, process.env);
  } catch (err) {
    process.stderr.write(`mcp-admission serve: ${(err as Error).message}\n\n${SERVE_USAGE}`);
    return 2;
  }
  const logger = createLogger({ level: config.logLevel, base: { service: 'mcp-admission' } });
  const metrics = createMetrics();
  const certificates = certificateSource(config, logger, metrics);
  await certificates.start();
  const settings = await settingsSource(config, logger, metrics);

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
      running
        .shutdown()
        .then(() => settings.stop?.())
        .finally(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}

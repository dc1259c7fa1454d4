/**
 * `mcp-admission probe`: one detection (`--url`), or the cluster prober once
 * (`--once`, the CronJob) or watching (`--watch`). This is the composition
 * root of the prober: it builds the logger, the Kubernetes client and the
 * detect function, and hands them to the prober.
 */
import { rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { loadKubeAccess } from '../kubernetes/kube-access.ts';
import { KubeClient } from '../kubernetes/kube-client.ts';
import { loadKubeConfig } from '../kubernetes/kube-config.ts';
import { pino, type Logger } from 'pino';
import { createLogger } from './logger.ts';
import { auditJudge, readAtMostEvery } from './probe-judge.ts';
import { readClusterPolicies } from '../settings/cluster-read.ts';
import { staticSettings } from '../settings/static-source.ts';
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { kubeClusterApi, mcpInformers } from '../prober/cluster-api.ts';
import { ClusterProber } from '../prober/cluster-prober.ts';
import { configMapPassState } from '../prober/pass-state.ts';
import { detectTransport, type DetectOptions } from '../prober/detect.ts';
import { ProbeWatcher } from '../prober/watcher.ts';
import { createProberMetrics } from '../prober/metrics.ts';
import { serveMetrics, type MetricsServer } from '../prober/metrics-server.ts';
import { readCommandLine } from './config.ts';
import { PROBE_COMMAND } from './probe-config.ts';

/** How stale the policies a watching prober decides with may be: a policy change shows within a minute. */
const WATCH_SETTINGS_TTL_MS = 60_000;

/** Runs the `probe` command; resolves to the exit code. */
export async function run(args: string[]): Promise<number> {
  const config = readCommandLine(PROBE_COMMAND, args, process.env);
  if (typeof config === 'number') return config;
  const limits: DetectOptions = {
    ...(config.timeoutMs !== undefined && { timeoutMs: config.timeoutMs }),
    ...(config.connectTimeoutMs !== undefined && { connectTimeoutMs: config.connectTimeoutMs }),
    ...(config.maxBytes !== undefined && { maxBytes: config.maxBytes }),
  };

  if (config.url !== undefined) {
    const result = await detectTransport(config.url, limits);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return result.protocol === 'unknown' ? 1 : 0;
  }

  const { concurrency } = config;
  const logger: Logger = createLogger({ name: 'mcp-admission-prober', level: config.logLevel }, pino.destination(2));
  const kubeConfig = loadKubeConfig();
  // The policies and namespaces, read as serve reads them (src/kubernetes).
  const client = new KubeClient(await loadKubeAccess({ logger }));
  // The webhook's own verdict (audit.ts) on each labelled object: read
  // fresh each pass (and, watching, at most a minute old before a probe).
  const readSettings = async () => {
    const cluster = await readClusterPolicies(client);
    return { settings: staticSettings(cluster.policies, cluster.namespaces), ownNamespace: config.namespace };
  };
  // `--once` ends before any scrape: its metrics go to a textfile; a watching prober serves them.
  const metrics = config.once ? (config.metricsFile ? createProberMetrics({ served: false }) : undefined) : createProberMetrics({ served: true });
  const prober = new ClusterProber({
    api: kubeClusterApi(kubeConfig, client),
    detect: (url) => detectTransport(url, limits),
    clock: () => new Date(),
    logger,
    concurrency,
    ...(config.clusterDomain ? { clusterDomain: config.clusterDomain } : {}),
    excludedNamespaces: config.excludeNamespace ?? [config.namespace],
    instance: config.instance ?? hostname(),
    // Exempt namespaces and mode off are skipped; non-compliant objects
    // and unlabelled routes to SSE servers get a Warning Event.
    judge: auditJudge(config.watch ? readAtMostEvery(WATCH_SETTINGS_TTL_MS, readSettings) : readSettings, toApiJson),
    ...(metrics ? { metrics } : {}),
    // A CronJob pass is a new process: what one pass does not reach, the
    // next starts with, kept in a ConfigMap in our own namespace.
    ...(config.once ? { passState: configMapPassState(kubeConfig, config.namespace) } : {}),
  });

  if (config.once) {
    try {
      const summary = await prober.probeAll();
      const counts: Record<string, number> = {};
      for (const service of summary.services) counts[service.detection.protocol] = (counts[service.detection.protocol] ?? 0) + 1;
      logger.info(
        {
          services: summary.services.length,
          ...counts,
          unreached: summary.unreached.length,
          errors: summary.errors,
          noncompliant: summary.noncompliant.reduce((sum, c) => sum + c.count, 0),
          unlabelledRoutes: summary.routes.length,
        },
        'probe pass done',
      );
      if (config.metricsFile && metrics) {
        try {
          await writeAtomically(config.metricsFile, await metrics.registry.metrics());
        } catch (err) {
          logger.error({ err: err instanceof Error ? err.message : String(err), file: config.metricsFile }, 'cannot write the metrics file');
          return 1;
        }
      }
      return summary.errors === 0 ? 0 : 1;
    } catch (err) {
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'cannot list MCP services');
      return 1;
    } finally {
      await client.access.close();
    }
  }

  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== undefined && metrics) {
    try {
      metricsServer = await serveMetrics(metrics.registry, config.host, config.metricsPort);
    } catch (err) {
      logger.error({ err: err instanceof Error ? err.message : String(err), port: config.metricsPort }, 'cannot serve metrics');
      await client.access.close();
      return 1;
    }
    logger.info({ metricsPort: metricsServer.port }, 'serving prober metrics');
  }
  const watcher = new ProbeWatcher({ prober, sources: mcpInformers(kubeConfig), logger, concurrency, auditIntervalMs: config.auditInterval * 1000 });
  await watcher.start();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info('stopping');
  await watcher.stop();
  await metricsServer?.close();
  await client.access.close();
  return 0;
}

/**
 * Back to the JSON the API server sent (client-node's models rename some
 * fields), as `audit` does, so the webhook's rules read what they read at admission.
 */
function toApiJson(object: { kind: string }): unknown {
  const models: Record<string, [string, string]> = {
    Deployment: ['V1Deployment', 'apps/v1'],
    Service: ['V1Service', 'v1'],
    Ingress: ['V1Ingress', 'networking.k8s.io/v1'],
  };
  const model = models[object.kind];
  // HTTPRoutes come as the API server's JSON already (a custom object list).
  if (!model) return object;
  return { ...ObjectSerializer.serialize(object, model[0]), apiVersion: model[1], kind: object.kind };
}

/** A textfile collector must never read half a file: write beside it, then rename. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

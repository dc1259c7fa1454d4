/**
 * `mcp-admission probe`: one detection (`--url`), or the cluster prober once
 * (`--once`, the CronJob) or watching (`--watch`). This is the composition
 * root of the prober: it builds the logger, the Kubernetes client and the
 * detect function, and hands them to the prober.
 */
import { rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { createLogger } from './logger.ts';
import { auditJudge } from './probe-judge.ts';
import { readClusterPolicies } from '../settings/cluster-read.ts';
import { staticSettings } from '../settings/static-source.ts';
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { kubeClusterApi, mcpInformers } from '../prober/cluster-api.ts';
import { ClusterProber } from '../prober/cluster-prober.ts';
import { configMapPassState } from '../prober/pass-state.ts';
import { detectTransport, type DetectOptions } from '../prober/detect.ts';
import { ProbeWatcher } from '../prober/watcher.ts';
import { readCommandLine } from './config.ts';
import { noncompliantMetricText } from '../prober/compliance.ts';
import { PROBE_COMMAND } from './probe-config.ts';

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
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const prober = new ClusterProber({
    api: kubeClusterApi(kubeConfig),
    detect: (url) => detectTransport(url, limits),
    clock: () => new Date(),
    logger,
    concurrency,
    ...(config.clusterDomain ? { clusterDomain: config.clusterDomain } : {}),
    excludedNamespaces: config.excludeNamespace ?? [config.namespace],
    instance: config.instance ?? hostname(),
    // The webhook's own verdict (audit.ts) on each labelled object, read
    // fresh each pass: exempt namespaces and mode off are skipped, and
    // non-compliant objects get a Warning Event.
    judge: auditJudge(async () => {
      const cluster = await readClusterPolicies(kubeConfig);
      return { settings: staticSettings(cluster.policies, cluster.namespaces), ownNamespace: config.namespace };
    }, toApiJson),
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
        },
        'probe pass done',
      );
      if (config.metricsFile) {
        try {
          await writeAtomically(config.metricsFile, noncompliantMetricText(summary.noncompliant));
        } catch (err) {
          logger.error({ err: err instanceof Error ? err.message : String(err), file: config.metricsFile }, 'cannot write the metrics file');
          return 1;
        }
      }
      return summary.errors === 0 ? 0 : 1;
    } catch (err) {
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'cannot list MCP services');
      return 1;
    }
  }

  const watcher = new ProbeWatcher({ prober, sources: mcpInformers(kubeConfig), logger, concurrency });
  await watcher.start();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info('stopping');
  await watcher.stop();
  return 0;
}

/**
 * Back to the JSON the API server sent (client-node's models rename some
 * fields), as `audit` does, so the webhook's rules read what they read at admission.
 */
function toApiJson(object: { kind: string }): unknown {
  const type = object.kind === 'Deployment' ? 'V1Deployment' : 'V1Service';
  const apiVersion = object.kind === 'Deployment' ? 'apps/v1' : 'v1';
  return { ...ObjectSerializer.serialize(object, type), apiVersion, kind: object.kind };
}

/** A textfile collector must never read half a file: write beside it, then rename. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

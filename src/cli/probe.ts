/**
 * `mcp-admission probe`: one detection (`--url`), or the cluster prober once
 * (`--once`, the CronJob) or watching (`--watch`). This is the composition
 * root of the prober: it builds the logger, the Kubernetes client and the
 * detect function, and hands them to the prober.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { createLogger } from './logger.ts';
import { kubeClusterApi, mcpInformers } from '../prober/cluster-api.ts';
import { ClusterProber } from '../prober/cluster-prober.ts';
import { detectTransport, type DetectOptions } from '../prober/detect.ts';
import { DEFAULT_PROBE_LIMITS } from '../prober/limits.ts';
import { ProbeWatcher } from '../prober/watcher.ts';

const USAGE = `usage: mcp-admission probe --url URL [--timeout-ms N] [--connect-timeout-ms N] [--max-bytes N]
       mcp-admission probe --once|--watch [--concurrency N] [--cluster-domain DOMAIN]
                                         [--exclude-namespace NS]... [--timeout-ms N]

  --url URL       detect the transport of one endpoint and print the result as JSON:
                  {protocol, protocolVersion, endpoint, authRequired, reason, latencyMs}
                  exit 0: sse or streamable-http detected
                  exit 1: protocol unknown (including authorization required; see reason)
  --once          probe every Service labelled app.kubernetes.io/component=mcp-server and
                  annotate it and the Deployments it selects, then exit
                  exit 0: every object annotated (servers found unknown included)
                  exit 1: some annotations could not be written, or Services not listed
  --watch         the same, continuously: new servers, revalidate changes, retries with
                  backoff, a full pass every 15 minutes; runs until SIGTERM (one replica)
  --timeout-ms N          whole-detection time limit (default ${DEFAULT_PROBE_LIMITS.timeoutMs})
  --connect-timeout-ms N  time to response headers (default ${DEFAULT_PROBE_LIMITS.connectTimeoutMs})
  --max-bytes N           bytes read per response (default ${DEFAULT_PROBE_LIMITS.maxBytes})
  --concurrency N         probes in flight (default 8)
  --cluster-domain D      Service DNS suffix (default cluster.local)
  --exclude-namespace NS  never probe NS (repeatable; default: the POD_NAMESPACE, else mcp-admission)

Uses the default kubeconfig: KUBECONFIG, ~/.kube/config, or the in-cluster service account.
Logs go to stderr as JSON (LOG_LEVEL, default info).
`;

/** Runs the `probe` command; resolves to the exit code. */
export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        url: { type: 'string' },
        once: { type: 'boolean', default: false },
        watch: { type: 'boolean', default: false },
        'timeout-ms': { type: 'string' },
        'connect-timeout-ms': { type: 'string' },
        'max-bytes': { type: 'string' },
        concurrency: { type: 'string' },
        'cluster-domain': { type: 'string' },
        'exclude-namespace': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    return usageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const modes = [values.url !== undefined, values.once, values.watch].filter(Boolean).length;
  if (modes !== 1) return usageError('give exactly one of --url, --once, --watch');

  const limits: DetectOptions = {};
  for (const [flag, field] of [
    ['timeout-ms', 'timeoutMs'],
    ['connect-timeout-ms', 'connectTimeoutMs'],
    ['max-bytes', 'maxBytes'],
  ] as const) {
    const raw = values[flag];
    if (raw === undefined) continue;
    const parsed = positiveInteger(raw);
    if (parsed === undefined) return usageError(`--${flag} must be a positive integer, got ${JSON.stringify(raw)}`);
    limits[field] = parsed;
  }

  if (values.url !== undefined) {
    const result = await detectTransport(values.url, limits);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return result.protocol === 'unknown' ? 1 : 0;
  }

  const concurrency = values.concurrency === undefined ? 8 : positiveInteger(values.concurrency);
  if (concurrency === undefined) return usageError('--concurrency must be a positive integer');
  const logger: Logger = createLogger({ name: 'mcp-admission-prober', level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const prober = new ClusterProber({
    api: kubeClusterApi(kubeConfig),
    detect: (url) => detectTransport(url, limits),
    clock: () => new Date(),
    logger,
    concurrency,
    ...(values['cluster-domain'] ? { clusterDomain: values['cluster-domain'] } : {}),
    excludedNamespaces: values['exclude-namespace'] ?? [process.env.POD_NAMESPACE || 'mcp-admission'],
    instance: process.env.POD_NAME || hostname(),
  });

  if (values.once) {
    try {
      const summary = await prober.probeAll();
      const counts: Record<string, number> = {};
      for (const service of summary.services) counts[service.detection.protocol] = (counts[service.detection.protocol] ?? 0) + 1;
      logger.info({ services: summary.services.length, ...counts, errors: summary.errors }, 'probe pass done');
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

function positiveInteger(raw: string): number | undefined {
  return /^[1-9]\d*$/.test(raw) ? Number(raw) : undefined;
}

function usageError(message: string): number {
  process.stderr.write(`mcp-admission probe: ${message}\n\n${USAGE}`);
  return 2;
}

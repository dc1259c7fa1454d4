/** `probe` configuration: its flags and their environment twins, and the shape they must fit. */
import { z } from 'zod';
import { DEFAULT_INSTALL_NAMESPACE } from '../contract.ts';
import { DEFAULT_PROBE_LIMITS } from '../prober/limits.ts';
import { flagUsage, parseConfig, type Flags } from './config.ts';

const positive = z.string().regex(/^[1-9]\d*$/, 'must be a positive integer').transform(Number);
const port = z.string().regex(/^\d{1,5}$/, 'must be a port number').transform(Number).pipe(z.number().max(65535, 'must be a port number'));

export const ProbeConfigShape = z
  .object({
    url: z.string().optional(),
    once: z.stringbool().default(false),
    watch: z.stringbool().default(false),
    timeoutMs: positive.optional(),
    connectTimeoutMs: positive.optional(),
    maxBytes: positive.optional(),
    concurrency: positive.default(8),
    clusterDomain: z.string().optional(),
    /** The prober's own namespace: never probed unless --exclude-namespace says otherwise. */
    namespace: z.string().default(DEFAULT_INSTALL_NAMESPACE),
    excludeNamespace: z.array(z.string()).optional(),
    /** Names this prober in the Events it writes; the pod name in a cluster. */
    instance: z.string().optional(),
    /** `--once`: where the pass leaves its metrics, in Prometheus text format (a textfile collector's directory). */
    metricsFile: z.string().optional(),
    /** `--watch`: plain HTTP /metrics and /healthz on this port; off when not given. */
    metricsPort: port.optional(),
    /** `--watch`: the address the metrics port listens on. */
    host: z.string().default('0.0.0.0'),
    /** `--watch`: seconds between judged passes. */
    auditInterval: positive.default(600),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    help: z.stringbool().default(false),
  })
  .refine((c) => c.help || [c.url !== undefined, c.once, c.watch].filter(Boolean).length === 1, {
    message: 'give exactly one of --url, --once, --watch',
  })
  .refine((c) => c.help || c.metricsPort === undefined || c.watch, {
    message: '--metrics-port serves a running prober: give it with --watch (--once writes --metrics-file)',
  });
export type ProbeConfig = z.infer<typeof ProbeConfigShape>;

export const PROBE_FLAGS: Flags = {
  url: { help: 'detect the transport of one endpoint and print the result as JSON' },
  once: { help: 'probe every MCP Service and annotate it and its Deployments, then exit', type: 'boolean' },
  watch: { help: 'the same, continuously, until SIGTERM (one replica)', type: 'boolean' },
  'timeout-ms': { help: `whole-detection time limit (default ${DEFAULT_PROBE_LIMITS.timeoutMs})`, env: ['MCP_ADMISSION_PROBE_TIMEOUT_MS'] },
  'connect-timeout-ms': { help: `time to response headers (default ${DEFAULT_PROBE_LIMITS.connectTimeoutMs})`, env: ['MCP_ADMISSION_PROBE_CONNECT_TIMEOUT_MS'] },
  'max-bytes': { help: `bytes read per response (default ${DEFAULT_PROBE_LIMITS.maxBytes})`, env: ['MCP_ADMISSION_PROBE_MAX_BYTES'] },
  concurrency: { help: 'probes in flight (default 8)', env: ['MCP_ADMISSION_PROBE_CONCURRENCY'] },
  'cluster-domain': { help: 'Service DNS suffix (default cluster.local)', env: ['MCP_ADMISSION_CLUSTER_DOMAIN'] },
  namespace: { help: `the prober's own namespace (default ${DEFAULT_INSTALL_NAMESPACE})`, env: ['POD_NAMESPACE'] },
  'exclude-namespace': { help: 'never probe this namespace (repeatable; default: --namespace)', multiple: true },
  instance: { help: 'reporting instance of its Events (default: the host name)', env: ['POD_NAME'] },
  'metrics-file': {
    help: '--once: write mcp_admission_noncompliant_objects and mcp_admission_prober_last_success_timestamp_seconds here, Prometheus text format (default: none)',
    env: ['MCP_ADMISSION_PROBE_METRICS_FILE'],
  },
  'metrics-port': { help: '--watch: plain HTTP /metrics and /healthz on this port (default: none)', env: ['MCP_ADMISSION_PROBE_METRICS_PORT'] },
  host: { help: '--watch: address the metrics port listens on (default 0.0.0.0)', env: ['MCP_ADMISSION_PROBE_HOST'] },
  'audit-interval': { help: '--watch: seconds between judged passes, the first at start (default 600)', env: ['MCP_ADMISSION_PROBE_AUDIT_INTERVAL'] },
  'log-level': { help: 'fatal, error, warn, info, debug or trace (default info)', env: ['MCP_ADMISSION_LOG_LEVEL', 'LOG_LEVEL'] },
  help: { help: 'this text', type: 'boolean' },
};

export const PROBE_USAGE = `usage: mcp-admission probe --url URL [--timeout-ms N] [--connect-timeout-ms N] [--max-bytes N]
       mcp-admission probe --once|--watch [--concurrency N] [--cluster-domain DOMAIN]
                                         [--exclude-namespace NS]... [--timeout-ms N]
       mcp-admission probe --once [--metrics-file FILE]
       mcp-admission probe --watch [--metrics-port N] [--audit-interval SECONDS]

  --url: exit 0 when sse or streamable-http is detected, 1 when unknown (including
         authorization required; see reason). The JSON: {protocol, protocolVersion,
         endpoint, authRequired, reason, latencyMs}
  --once: probes every Service labelled app.kubernetes.io/component=mcp-server; exit 0
          when every object is annotated (servers found unknown included), 1 when some
          annotations could not be written or Services not listed
  --watch: new servers, revalidate changes, retries with backoff, a full probe every
           15 minutes; the judged pass of --once at start and every --audit-interval
  Both: a NonCompliant Warning Event on each labelled Service and Deployment the
  webhook would refuse, warn about or mutate now, an UnlabelledRoute Warning Event
  on each unlabelled Ingress or HTTPRoute to an SSE MCP Service; each counted on the
  Event it repeats (count, lastTimestamp). Exempt namespaces and mode off are skipped.

${flagUsage(PROBE_FLAGS)}

Uses the default kubeconfig: KUBECONFIG, ~/.kube/config, or the in-cluster service account.
Logs go to stderr as JSON.
`;

export const PROBE_COMMAND = { name: 'probe', usage: PROBE_USAGE, flags: PROBE_FLAGS, shape: ProbeConfigShape };

export function parseProbeConfig(args: readonly string[], env: NodeJS.ProcessEnv): ProbeConfig {
  return parseConfig(PROBE_FLAGS, ProbeConfigShape, args, env);
}

/** `serve` configuration: its flags and their environment twins, and the shape they must fit. */
import { z } from 'zod';
import { DEFAULT_INSTALL_NAMESPACE } from '../contract.ts';
import { flagUsage, parseConfig, type Flags } from './config.ts';

const port = z.coerce.number().int().min(0).max(65535);

export const ServeConfigShape = z
  .object({
    host: z.string().default('0.0.0.0'),
    port: port.default(8443),
    metricsPort: port.default(9090),
    tlsCert: z.string().optional(),
    tlsKey: z.string().optional(),
    policy: z.string().optional(),
    kubeconfig: z.string().optional(),
    /** Where policies come from: the cluster (informer), a file, or built-in defaults. */
    policySource: z.enum(['auto', 'cluster', 'file', 'builtin']).default('auto'),
    namespace: z.string().default(DEFAULT_INSTALL_NAMESPACE),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    logObjects: z.stringbool().default(false),
    /** Seconds between readiness failing and the listener closing on SIGTERM, so endpoints drop us first. */
    shutdownDelaySeconds: z.coerce.number().min(0).max(300).default(5),
  })
  .refine((c) => (c.tlsCert === undefined) === (c.tlsKey === undefined), {
    message: '--tls-cert and --tls-key go together',
    path: ['tlsCert'],
  });
export type ServeConfig = z.infer<typeof ServeConfigShape>;

export const SERVE_FLAGS: Flags = {
  host: { help: 'address to listen on (default 0.0.0.0)', env: ['MCP_ADMISSION_HOST'] },
  port: { help: 'HTTPS port for /mutate, /validate, /healthz, /readyz (default 8443)', env: ['MCP_ADMISSION_PORT'] },
  'metrics-port': { help: 'plain HTTP port for /metrics (default 9090)', env: ['MCP_ADMISSION_METRICS_PORT'] },
  'tls-cert': { help: 'serving certificate, reloaded when the file changes', env: ['MCP_ADMISSION_TLS_CERT'] },
  'tls-key': { help: 'its private key', env: ['MCP_ADMISSION_TLS_KEY'] },
  policy: { help: 'MCPTransportPolicy objects from a YAML or JSON file', env: ['MCP_ADMISSION_POLICY'] },
  kubeconfig: { help: 'kubeconfig for the cluster policy source', env: ['MCP_ADMISSION_KUBECONFIG'] },
  'policy-source': { help: 'auto, cluster, file or builtin (default auto)', env: ['MCP_ADMISSION_POLICY_SOURCE'] },
  namespace: { help: `the webhook's own namespace, never judged (default ${DEFAULT_INSTALL_NAMESPACE})`, env: ['POD_NAMESPACE'] },
  'log-level': { help: 'fatal, error, warn, info, debug or trace (default info)', env: ['MCP_ADMISSION_LOG_LEVEL'] },
  'log-objects': { help: 'log whole objects with each review (default false)', env: ['MCP_ADMISSION_LOG_OBJECTS'] },
  'shutdown-delay-seconds': { help: 'wait after SIGTERM before closing the listener (default 5)', env: ['MCP_ADMISSION_SHUTDOWN_DELAY_SECONDS'] },
};

export const SERVE_USAGE = `usage: mcp-admission serve [flags]

${flagUsage(SERVE_FLAGS)}
  -h, --help                     this help

exit codes: 0 stopped by SIGTERM or SIGINT after draining, 2 bad flags or environment
`;

export function parseServeConfig(args: readonly string[], env: NodeJS.ProcessEnv): ServeConfig {
  return parseConfig(SERVE_FLAGS, ServeConfigShape, args, env);
}

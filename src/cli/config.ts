/**
 * `serve` configuration: flags, each with an environment twin
 * (`--metrics-port` / `MCP_ADMISSION_METRICS_PORT`), checked by zod. A flag
 * wins over its twin.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';

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
    namespace: z.string().default('mcp-admission'),
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

const FLAGS = {
  host: 'MCP_ADMISSION_HOST',
  port: 'MCP_ADMISSION_PORT',
  'metrics-port': 'MCP_ADMISSION_METRICS_PORT',
  'tls-cert': 'MCP_ADMISSION_TLS_CERT',
  'tls-key': 'MCP_ADMISSION_TLS_KEY',
  policy: 'MCP_ADMISSION_POLICY',
  kubeconfig: 'MCP_ADMISSION_KUBECONFIG',
  'policy-source': 'MCP_ADMISSION_POLICY_SOURCE',
  namespace: 'POD_NAMESPACE',
  'log-level': 'MCP_ADMISSION_LOG_LEVEL',
  'log-objects': 'MCP_ADMISSION_LOG_OBJECTS',
  'shutdown-delay-seconds': 'MCP_ADMISSION_SHUTDOWN_DELAY_SECONDS',
} as const;

export const SERVE_USAGE = `usage: mcp-admission serve [flags]

${Object.entries(FLAGS)
  .map(([flag, env]) => `  --${flag.padEnd(24)} (env ${env})`)
  .join('\n')}
`;

export class ConfigError extends Error {}

export function parseServeConfig(args: string[], env: NodeJS.ProcessEnv): ServeConfig {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args,
      options: Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' as const }])),
      strict: true,
    }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const raw: Record<string, string | undefined> = {};
  for (const [flag, envName] of Object.entries(FLAGS)) {
    const key = flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    raw[key] = values[flag] ?? (env[envName] || undefined);
  }
  const parsed = ServeConfigShape.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const flag = String(i.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      return `--${flag}: ${i.message}`;
    });
    throw new ConfigError(problems.join('\n'));
  }
  return parsed.data;
}

/** `serve` configuration: its flags and their environment twins, and the shape they must fit. */
import { z } from 'zod';
import { DEFAULT_INSTALL_NAMESPACE } from '../contract.ts';
import { flagUsage, parseConfig, type Flags } from './config.ts';

const port = z.coerce.number().int().min(0).max(65535);

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as `90s`, `15m`, `2160h` or `30d` (Go's units plus days), in milliseconds. */
const duration = z.string().transform((value, ctx) => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!match || Number(match[1]) <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration like 90s, 15m, 720h or 30d` });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
});

/** A comma-separated list. */
const names = z.string().transform((value) => value.split(',').map((v) => v.trim()).filter((v) => v !== ''));

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
    /**
     * Where the serving certificate comes from: made and rotated by the
     * webhook itself in a Secret (`self-managed`), `--tls-cert`/`--tls-key`
     * files, or a self-signed `development` one. Unset: files when given,
     * else self-managed in a cluster or with --kubeconfig, else development.
     */
    certificates: z.enum(['self-managed', 'files', 'development']).optional(),
    /** The self-managed certificates' Secret (type kubernetes.io/tls plus ca.crt), in the webhook's namespace. */
    certSecret: z.string().min(1).default('mcp-admission-webhook-tls'),
    /** The Lease whose holder manages the certificates. */
    certLease: z.string().min(1).default('mcp-admission-webhook-certificates'),
    /** The webhook's Service: the serving certificate names SVC, SVC.NS, SVC.NS.svc, SVC.NS.svc.cluster.local. */
    serviceName: z.string().min(1).default('mcp-admission-webhook'),
    /** Further names or IP addresses for the serving certificate. */
    extraSan: names.default([]),
    /** Mutating and Validating webhook configurations (by name) whose every entry gets the CA bundle. */
    webhookConfigurations: names.default(['mcp-admission']),
    caLifetime: duration.prefault('87600h'),
    caRenewBefore: duration.prefault('8760h'),
    certLifetime: duration.prefault('2160h'),
    certRenewBefore: duration.prefault('720h'),
    /** How long the API server is given to see a new CA bundle before a certificate from that CA is served. */
    caBundlePropagation: duration.prefault('60s'),
    /** Lease duration; the holder renews within two thirds of it. */
    leaseDuration: duration.prefault('15s'),
    /** Longest time between the holder's checks of the Secret and the webhook configurations. */
    certCheckInterval: duration.prefault('1m'),
  })
  .refine((c) => c.caRenewBefore < c.caLifetime, { message: 'must be shorter than --ca-lifetime', path: ['caRenewBefore'] })
  .refine((c) => c.certRenewBefore < c.certLifetime, { message: 'must be shorter than --cert-lifetime', path: ['certRenewBefore'] })
  .refine((c) => c.certLifetime <= c.caLifetime, { message: 'must not be longer than --ca-lifetime', path: ['certLifetime'] })
  .refine((c) => c.caRenewBefore > c.caBundlePropagation, {
    message: 'must be longer than --ca-bundle-propagation (the new CA must be trusted before the old one expires)',
    path: ['caRenewBefore'],
  })
  .refine((c) => c.certificates !== 'files' || c.tlsCert !== undefined, { message: 'files needs --tls-cert and --tls-key', path: ['certificates'] })
  .refine((c) => c.certificates === undefined || c.certificates === 'files' || c.tlsCert === undefined, {
    message: '--tls-cert/--tls-key go with --certificates files',
    path: ['certificates'],
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
  certificates: {
    help: 'self-managed, files or development (default: files with --tls-cert, else self-managed in a cluster or with --kubeconfig, else development)',
    env: ['MCP_ADMISSION_CERTIFICATES'],
  },
  'cert-secret': { help: 'self-managed: the certificate Secret (default mcp-admission-webhook-tls)', env: ['MCP_ADMISSION_CERT_SECRET'] },
  'cert-lease': { help: 'self-managed: the Lease whose holder manages it (default mcp-admission-webhook-certificates)', env: ['MCP_ADMISSION_CERT_LEASE'] },
  'service-name': { help: 'self-managed: the Service the certificate names (default mcp-admission-webhook)', env: ['MCP_ADMISSION_SERVICE_NAME'] },
  'extra-san': { help: 'self-managed: further DNS names or IP addresses, comma-separated', env: ['MCP_ADMISSION_EXTRA_SAN'] },
  'webhook-configurations': {
    help: 'self-managed: Mutating and Validating webhook configurations that get the CA bundle, comma-separated (default mcp-admission)',
    env: ['MCP_ADMISSION_WEBHOOK_CONFIGURATIONS'],
  },
  'ca-lifetime': { help: 'self-managed: CA lifetime (default 87600h)', env: ['MCP_ADMISSION_CA_LIFETIME'] },
  'ca-renew-before': { help: 'self-managed: rotate the CA this long before it expires (default 8760h)', env: ['MCP_ADMISSION_CA_RENEW_BEFORE'] },
  'cert-lifetime': { help: 'self-managed: serving certificate lifetime (default 2160h)', env: ['MCP_ADMISSION_CERT_LIFETIME'] },
  'cert-renew-before': { help: 'self-managed: renew it this long before it expires (default 720h)', env: ['MCP_ADMISSION_CERT_RENEW_BEFORE'] },
  'ca-bundle-propagation': {
    help: 'self-managed: wait between a new CA bundle in the webhooks and a certificate that needs it (default 60s)',
    env: ['MCP_ADMISSION_CA_BUNDLE_PROPAGATION'],
  },
  'lease-duration': { help: 'self-managed: certificate Lease duration (default 15s)', env: ['MCP_ADMISSION_LEASE_DURATION'] },
  'cert-check-interval': { help: 'self-managed: longest time between the holder\'s checks (default 1m)', env: ['MCP_ADMISSION_CERT_CHECK_INTERVAL'] },
};

export const SERVE_USAGE = `usage: mcp-admission serve [flags]

${flagUsage(SERVE_FLAGS)}
  -h, --help                     this help

exit codes: 0 stopped by SIGTERM or SIGINT after draining, 2 bad flags or environment
`;

export const SERVE_COMMAND = { name: 'serve', usage: SERVE_USAGE, flags: SERVE_FLAGS, shape: ServeConfigShape };

export function parseServeConfig(args: readonly string[], env: NodeJS.ProcessEnv): ServeConfig {
  return parseConfig(SERVE_FLAGS, ServeConfigShape, args, env);
}

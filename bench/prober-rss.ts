/**
 * The `probe --watch` Deployment's memory (`npm run bench:prober-rss`, not a
 * test): what its requests and limits in deploy/prober/deployment.yaml are
 * sized from. On one control plane of the end-to-end harness (no webhook),
 * `--namespaces` namespaces each get `--servers` labelled MCP Deployments
 * and Services; then the prober, built to JavaScript as the image runs it,
 * watches them for `--duration` seconds with a judged pass every
 * `--audit-interval` seconds (and its metrics port when it has one), with
 * the image's V8 heap settings (`--node-options` to try others). Prints
 * its resident memory: after start-up, the peak (VmHWM) and the steady
 * state (median of the last third of the samples), and what /metrics says.
 *
 * The Services have no ready pods (the harness has no kubelet), so no probe
 * is sent: the figure is the watch's and the passes' own (informer caches
 * of every labelled object, the judge, Events). The probes' share is
 * bench/probe.ts's: 17 MiB of heap after a collection at 1,000 endpoints.
 */
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startE2E } from '../test/support/harness.ts';
import { mcpDeployment, mcpService } from '../test/support/objects.ts';
import { buildForBenchmark } from './lib/build.ts';
import { statusMb } from './lib/load.ts';
import { IMAGE_NODE_OPTIONS } from './lib/node-options.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const BUILD = new URL('results/prober-rss/dist/', import.meta.url).pathname;

const { values: flags } = parseArgs({
  options: {
    namespaces: { type: 'string', default: '50' },
    servers: { type: 'string', default: '10' },
    duration: { type: 'string', default: '90' },
    'audit-interval': { type: 'string', default: '15' },
    // Default: the image's (the Dockerfile's NODE_OPTIONS), as the pod runs it.
    'node-options': { type: 'string', default: IMAGE_NODE_OPTIONS },
  },
});
const namespaces = Number(flags.namespaces);
const servers = Number(flags.servers);
const durationMs = Number(flags.duration) * 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve(body));
    }).on('error', reject).end();
  });
}

const entry = buildForBenchmark(ROOT, BUILD);
const node = process.execPath;
const help = spawnSync(node, [entry, 'probe', '--help'], { encoding: 'utf8' }).stdout;
const hasMetricsPort = help.includes('--metrics-port');

// Room for more Services than the harness's /24 holds.
const env = await startE2E({ webhook: false, apiserverArgs: ['--service-cluster-ip-range=10.0.0.0/20'] });
try {
  const objects = [];
  for (let n = 0; n < namespaces; n++) {
    const namespace = `team-${n}`;
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    for (let s = 0; s < servers; s++) {
      objects.push(mcpDeployment(`server-${s}`, { namespace }), mcpService(`server-${s}`, { namespace }));
    }
  }
  const applied = await env.kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
  if (applied.code !== 0) throw new Error(applied.stderr);

  const args = [entry, 'probe', '--watch'];
  if (hasMetricsPort) args.push('--metrics-port', '0', '--host', '127.0.0.1', '--audit-interval', flags['audit-interval']);
  const nodeOptions = flags['node-options'] ? flags['node-options'].split(' ') : [];
  const child = spawn(node, [...nodeOptions, ...args], {
    env: { PATH: process.env.PATH, KUBECONFIG: env.controlPlane.kubeconfig, POD_NAMESPACE: 'mcp-admission', POD_NAME: 'bench', MCP_ADMISSION_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  let metricsPort: number | undefined;
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk;
    const match = /"metricsPort":(\d+)/.exec(chunk);
    if (match) metricsPort = Number(match[1]);
  });
  const pid = child.pid as number;
  await sleep(2000);
  const startup = statusMb(pid, 'VmRSS');
  const samples: number[] = [];
  const deadline = performance.now() + durationMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the prober exited ${child.exitCode}:\n${log.slice(-2000)}`);
    samples.push(statusMb(pid, 'VmRSS'));
    await sleep(250);
  }
  const peak = statusMb(pid, 'VmHWM');
  const timeline = samples.filter((_, i) => i % 40 === 0).map((mb) => mb.toFixed(0)).join(', ');
  const logLines = log.split('\n').filter(Boolean);
  const steady = median(samples.slice(Math.floor((samples.length * 2) / 3)));
  let scraped = '(no metrics port in this build)';
  if (metricsPort !== undefined) {
    const text = await get(metricsPort, '/metrics');
    scraped = text
      .split('\n')
      .filter((l) => /^(mcp_admission_prober_|process_resident_memory_bytes|nodejs_heap_size_used_bytes)/.test(l))
      .join('\n');
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const labelled = namespaces * servers;
  process.stdout.write(
    `probe --watch over ${labelled} labelled Deployments and ${labelled} Services in ${namespaces} namespaces, ` +
      `${flags.duration} s, judged pass every ${flags['audit-interval']} s${hasMetricsPort ? '' : ' (this build: no judged watch pass)'}\n` +
      `| after start-up | steady (median, last third) | peak (VmHWM) |\n|---|---|---|\n` +
      `| ${startup.toFixed(0)} MiB | ${steady.toFixed(0)} MiB | ${peak.toFixed(0)} MiB |\n` +
      `RSS every 10 s (MiB): ${timeline}\n${nodeOptions.length ? `node options: ${nodeOptions.join(' ')}\n` : ''}` +
      `${logLines.length} log lines; last: ${logLines.at(-1)?.slice(0, 300) ?? ''}\n\n${scraped}\n`,
  );
} finally {
  await env.stop();
}

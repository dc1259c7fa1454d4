/**
 * Load generator for the admission benchmark, run as its own process (forked
 * by `bench/admission.ts`) so it never shares an event loop with the server
 * under test. N request loops over one keep-alive HTTPS agent send the
 * request mix of `reviews.ts` round-robin for a warm-up, then for a measured
 * window. Only requests completed inside the window count. The server's CPU
 * (utime+stime from /proc/PID/stat) and this process's CPU are read at the
 * window's edges.
 *
 * Receives a {@link LoadOptions} message; answers with a {@link LoadResult}.
 */
import { Agent, request } from 'node:https';
import { readdirSync, readFileSync } from 'node:fs';
import { requestMix, type RequestKind } from './reviews.ts';
import { percentile } from './stats.ts';

export interface LoadOptions {
  port: number;
  serverPid: number;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  clockTicks: number;
  /** Open-loop pacing: requests are started at this total rate instead of back to back. */
  ratePerSecond?: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  errors: number;
  firstError?: string;
  /** Sorted latencies in ms of requests completed in the window. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  serverCpuSeconds: number;
  clientCpuSeconds: number;
  /** Largest VmRSS of the server sampled every 100 ms in the window, MB. */
  serverRssMb: number;
  perKind: Record<string, { requests: number; p50: number; p99: number }>;
  /** VmRSS of the server in MB, once a second through the measured window. */
  rssTimeline: number[];
  /** The measured window, CLOCK_MONOTONIC µs (the clock of a CPU profile's samples, any process's). */
  window: [number, number];
}

/** utime + stime of a process, in seconds. */
export function processCpuSeconds(pid: number, clockTicks: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/**
 * CPU time of every thread of a process, in seconds, with nanosecond
 * resolution: the sum of the first field (time on CPU, ns) of
 * /proc/PID/task/TID/schedstat. utime+stime count in clock ticks (10 ms),
 * too coarse for a webhook that spends about a millisecond per review over
 * windows of a few dozen reviews. Only live threads count: Node's (the main
 * thread, V8's platform workers, libuv's pool) live as long as the process,
 * so a difference over a window is exact.
 */
export function threadsCpuSeconds(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1e9;
}

/** A /proc/PID/status field in kB (VmRSS, VmHWM), as MB. */
export function statusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

function post(agent: Agent, port: number, kind: RequestKind, index: number): Promise<string | undefined> {
  const body = kind.bodies[index % kind.bodies.length]!;
  const uid = kind.uids[index % kind.uids.length]!;
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: kind.path,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve(`HTTP ${res.statusCode}`);
          try {
            const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { response?: { uid?: string; allowed?: unknown } };
            if (answer.response?.uid !== uid) return resolve('answer carries the wrong uid');
            if (typeof answer.response.allowed !== 'boolean') return resolve('answer has no allowed');
            resolve(undefined);
          } catch (err) {
            resolve(`unparseable answer: ${(err as Error).message}`);
          }
        });
        res.on('error', (err) => resolve(err.message));
      },
    );
    req.on('error', (err) => resolve(err.message));
    req.end(body);
  });
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const kinds = requestMix();
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, rejectUnauthorized: false });
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const measureTo = measureFrom + options.durationMs;
  const latencies: number[] = [];
  const kindOf: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let serverCpuAtStart = 0;
  let clientCpuAtStart = 0;
  let next = 0;
  let serverRssMb = 0;
  let rssSampler: NodeJS.Timeout | undefined;
  const rssTimeline: number[] = [];
  let ticks = 0;

  let windowFrom = NaN;
  const edge = setTimeout(() => {
    windowFrom = Number(process.hrtime.bigint() / 1000n);
    serverCpuAtStart = processCpuSeconds(options.serverPid, options.clockTicks);
    const cpu = process.cpuUsage();
    clientCpuAtStart = (cpu.user + cpu.system) / 1e6;
    rssSampler = setInterval(() => {
      const rss = statusMb(options.serverPid, 'VmRSS');
      serverRssMb = Math.max(serverRssMb, rss);
      if (ticks++ % 10 === 0) rssTimeline.push(rss);
    }, 100);
  }, options.warmupMs);

  async function loop(): Promise<void> {
    while (performance.now() < measureTo) {
      const i = next++;
      if (options.ratePerSecond) {
        const due = start + (i * 1000) / options.ratePerSecond;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (performance.now() >= measureTo) break;
      }
      const k = i % kinds.length;
      const sent = performance.now();
      const error = await post(agent, options.port, kinds[k]!, Math.floor(i / kinds.length));
      const done = performance.now();
      if (done < measureFrom || done > measureTo) continue;
      if (error !== undefined) {
        errors++;
        firstError ??= error;
      }
      latencies.push(done - sent);
      kindOf.push(k);
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  const windowTo = Number(process.hrtime.bigint() / 1000n);
  clearTimeout(edge);
  clearInterval(rssSampler);
  serverRssMb = Math.max(serverRssMb, statusMb(options.serverPid, 'VmRSS'));
  const serverCpuSeconds = processCpuSeconds(options.serverPid, options.clockTicks) - serverCpuAtStart;
  const cpu = process.cpuUsage();
  const clientCpuSeconds = (cpu.user + cpu.system) / 1e6 - clientCpuAtStart;
  agent.destroy();

  const sorted = Float64Array.from(latencies).sort();
  const perKind: LoadResult['perKind'] = {};
  kinds.forEach((kind, k) => {
    const mine = Float64Array.from(latencies.filter((_, i) => kindOf[i] === k)).sort();
    perKind[kind.name] = { requests: mine.length, p50: percentile(mine, 50), p99: percentile(mine, 99) };
  });
  return {
    requests: latencies.length,
    seconds: options.durationMs / 1000,
    errors,
    ...(firstError !== undefined && { firstError }),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted[sorted.length - 1] ?? NaN,
    serverCpuSeconds,
    clientCpuSeconds,
    serverRssMb,
    perKind,
    rssTimeline,
    window: [windowFrom, windowTo],
  };
}

// Forked by bench/admission.ts: one run per message, then exit.
if (process.send && process.argv[1]?.endsWith('load.ts')) {
  process.once('message', (options: LoadOptions) => {
    runLoad(options).then(
      (result) => process.send!(result, () => process.exit(0)),
      (err: unknown) => {
        process.stderr.write(`load: ${(err as Error).stack ?? String(err)}\n`);
        process.exit(1);
      },
    );
  });
}

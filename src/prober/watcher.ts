/**
 * `probe --watch`: reacts to MCP Services and Deployments as they come and
 * change (DESIGN.md, "The prober": reacts to new servers and to
 * `revalidate`), and runs the judged pass `probe --once` runs
 * (ClusterProber.judgePass: NonCompliant and UnlabelledRoute Events, the
 * metrics) over the objects it watches, at start and every audit interval.
 * Like `--once`, it probes nothing the webhook does not judge (exempt
 * namespaces, mode off). Run one replica: there is no leader election, and two
 * watchers would only probe twice and race on the same annotations (each
 * write is guarded by `resourceVersion`, so nothing breaks, it is just waste).
 */
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Annotations } from '../contract.ts';
import { restartOnWatchError } from '../kubernetes/informer.ts';
import type { WatchSources } from './cluster-api.ts';
import type { ClusterProber } from './cluster-prober.ts';
import { selectsDeployment } from './selection.ts';

/** What the watcher is built from. */
export interface ProbeWatcherDeps {
  prober: ClusterProber;
  sources: WatchSources;
  logger: Logger;
  /** Probes in flight at once. Default 8. */
  concurrency?: number;
  /** Every Service is probed again this often, to notice servers that changed transport. Default 15 min. */
  resyncMs?: number;
  /** First retry of a Service whose probe failed; doubles up to `retryMaxMs`. Default 30 s. */
  retryBaseMs?: number;
  /** Default 10 min. */
  retryMaxMs?: number;
  /** Wait before restarting an informer whose watch failed. Default 5 s. */
  informerRestartMs?: number;
  /**
   * The judged pass runs this often (and once at start); 0 never. Default
   * 10 min. Without a judge (ClusterProber.judging) there is no pass.
   */
  auditIntervalMs?: number;
}

/** Default {@link ProbeWatcherDeps.auditIntervalMs}. */
export const DEFAULT_AUDIT_INTERVAL_MS = 10 * 60_000;

interface ServiceMemory {
  revalidate: string | undefined;
  /** What the probe depends on: ports, selector, `port`/`path` annotations. */
  inputs: string;
}

function keyOf(object: { metadata?: { namespace?: string; name?: string } }): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

function serviceMemory(service: V1Service): ServiceMemory {
  const annotations = service.metadata?.annotations ?? {};
  return {
    revalidate: annotations[Annotations.revalidate],
    inputs: JSON.stringify([
      service.spec?.ports ?? [],
      service.spec?.selector ?? {},
      annotations[Annotations.port] ?? null,
      annotations[Annotations.path] ?? null,
    ]),
  };
}

/** Keeps MCP servers' transport annotations current while it runs. */
export class ProbeWatcher {
  readonly #deps: ProbeWatcherDeps;
  readonly #concurrency: number;
  readonly #services = new Map<string, ServiceMemory>();
  readonly #deploymentRevalidate = new Map<string, string | undefined>();
  /** Services waiting for a probe, with whether it is a `revalidate` refresh. */
  readonly #pending = new Map<string, boolean>();
  readonly #running = new Map<string, Promise<void>>();
  readonly #retryTimers = new Map<string, NodeJS.Timeout>();
  readonly #failures = new Map<string, number>();
  readonly #syncs = new Set<Promise<unknown>>();
  #resyncTimer: NodeJS.Timeout | undefined;
  #auditTimer: NodeJS.Timeout | undefined;
  /** The judged pass in flight, if any: one at a time. */
  #audit: Promise<void> | undefined;
  #stopped = false;
  #idleWaiters: Array<() => void> = [];

  constructor(deps: ProbeWatcherDeps) {
    this.#deps = deps;
    this.#concurrency = Math.max(1, deps.concurrency ?? 8);
  }

  /** Registers the handlers and starts both informers (their initial list fires `add` for every object). */
  async start(): Promise<void> {
    const { sources, logger } = this.#deps;
    sources.services.on('add', (service) => this.#onService(service));
    sources.services.on('update', (service) => this.#onService(service));
    sources.services.on('delete', (service) => this.#forgetService(keyOf(service)));
    sources.deployments.on('add', (deployment) => this.#onDeployment(deployment));
    sources.deployments.on('update', (deployment) => this.#onDeployment(deployment));
    sources.deployments.on('delete', (deployment) => this.#deploymentRevalidate.delete(keyOf(deployment)));
    for (const [name, source] of Object.entries(sources) as Array<[string, WatchSources[keyof WatchSources]]>) {
      restartOnWatchError(source, {
        delayMs: this.#deps.informerRestartMs ?? 5_000,
        stopped: () => this.#stopped,
        onError: (err) => logger.warn({ informer: name, err: String(err) }, 'watch failed; restarting'),
        onRestartFailed: (err) => logger.error({ informer: name, err: String(err) }, 'restart failed'),
      });
    }
    await Promise.all([sources.services.start(), sources.deployments.start()]);
    this.#resyncTimer = setInterval(() => {
      for (const service of sources.services.list()) this.#enqueue(keyOf(service), false);
    }, this.#deps.resyncMs ?? 15 * 60_000);
    const auditIntervalMs = this.#deps.auditIntervalMs ?? DEFAULT_AUDIT_INTERVAL_MS;
    if (this.#deps.prober.judging && auditIntervalMs > 0) {
      this.runPass();
      this.#auditTimer = setInterval(() => this.runPass(), auditIntervalMs);
    }
    logger.info({ auditIntervalMs: this.#deps.prober.judging ? auditIntervalMs : 0 }, 'watching MCP services and deployments');
  }

  /** Stops watching and waits for probes in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#resyncTimer);
    clearInterval(this.#auditTimer);
    for (const timer of this.#retryTimers.values()) clearTimeout(timer);
    this.#retryTimers.clear();
    this.#pending.clear();
    await Promise.all([this.#deps.sources.services.stop(), this.#deps.sources.deployments.stop()]);
    await Promise.all([...this.#running.values(), ...this.#syncs, this.#audit]);
  }

  /**
   * Starts a judged pass over the watched objects unless one is running
   * (a slow pass is never stacked on). A failed pass is logged and counted
   * (ClusterProber.judgePass); the next interval tries again.
   */
  runPass(): void {
    if (this.#audit || this.#stopped) return;
    const { prober, sources, logger } = this.#deps;
    const pass = prober
      .judgePass({ services: sources.services.list(), deployments: sources.deployments.list() })
      .then(
        (result) =>
          logger.info(
            { noncompliant: result.noncompliant.reduce((sum, c) => sum + c.count, 0), unlabelledRoutes: result.routes.length },
            'judged pass done',
          ),
        (err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'judged pass failed'),
      )
      .finally(() => {
        this.#audit = undefined;
        this.#notifyIdle();
      });
    this.#audit = pass;
  }

  /** Resolves when no probe is pending or running (for tests and the harness). */
  async idle(): Promise<void> {
    if (this.#isIdle()) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    return this.#pending.size === 0 && this.#running.size === 0 && this.#syncs.size === 0 && this.#audit === undefined;
  }

  #onService(service: V1Service): void {
    if (!this.#deps.prober.watchesNamespace(service.metadata?.namespace)) return;
    const key = keyOf(service);
    const before = this.#services.get(key);
    const now = serviceMemory(service);
    this.#services.set(key, now);
    // Our own annotation writes also arrive here as updates; they change
    // neither the inputs nor `revalidate`, so they cause no probe.
    if (!before) this.#enqueue(key, false);
    else if (before.revalidate !== now.revalidate) this.#enqueue(key, true);
    else if (before.inputs !== now.inputs) this.#enqueue(key, false);
  }

  #onDeployment(deployment: V1Deployment): void {
    const namespace = deployment.metadata?.namespace;
    if (!this.#deps.prober.watchesNamespace(namespace)) return;
    const key = keyOf(deployment);
    const revalidate = deployment.metadata?.annotations?.[Annotations.revalidate];
    const known = this.#deploymentRevalidate.has(key);
    const before = this.#deploymentRevalidate.get(key);
    this.#deploymentRevalidate.set(key, revalidate);
    const services = this.#deps.sources.services.list(namespace).filter((s) => selectsDeployment(s, deployment));
    if (known && before !== revalidate) {
      for (const service of services) this.#enqueue(keyOf(service), true);
      return;
    }
    // A new Deployment behind a probed Service, or one the webhook just made
    // SSE-safe: copy the Service's result, recompute `sseConfigApplied`.
    const sync = this.#deps.prober.syncDeployment(deployment, services);
    this.#syncs.add(sync);
    void sync.finally(() => {
      this.#syncs.delete(sync);
      this.#notifyIdle();
    });
  }

  #forgetService(key: string): void {
    this.#services.delete(key);
    this.#pending.delete(key);
    this.#failures.delete(key);
    clearTimeout(this.#retryTimers.get(key));
    this.#retryTimers.delete(key);
  }

  #enqueue(key: string, refresh: boolean): void {
    if (this.#stopped) return;
    this.#pending.set(key, (this.#pending.get(key) ?? false) || refresh);
    this.#pump();
  }

  #pump(): void {
    for (const [key, refresh] of this.#pending) {
      if (this.#running.size >= this.#concurrency) return;
      // One probe per Service at a time; a request arriving meanwhile waits.
      if (this.#running.has(key)) continue;
      this.#pending.delete(key);
      const run = this.#probe(key, refresh).finally(() => {
        this.#running.delete(key);
        this.#pump();
        this.#notifyIdle();
      });
      this.#running.set(key, run);
    }
  }

  async #probe(key: string, refresh: boolean): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const service = this.#deps.sources.services.get(name, namespace);
    if (!service) return;
    let failed: boolean;
    try {
      // Exempt namespaces and mode off are not probed, as in `--once`.
      if (this.#deps.prober.judging && !(await this.#deps.prober.judges(service))) {
        this.#failures.delete(key);
        return;
      }
      const outcome = await this.#deps.prober.probeService(service, { refresh });
      failed = (outcome.detection.protocol === 'unknown' && !outcome.detection.authRequired) || outcome.objects.some((object) => object.error);
    } catch (err) {
      // The policies could not be read: whether to probe is unknown, so try again later.
      this.#deps.logger.warn({ service: key, err: err instanceof Error ? err.message : String(err) }, 'cannot tell whether the webhook judges this service');
      failed = true;
    }
    if (!failed) {
      this.#failures.delete(key);
      return;
    }
    // A server still starting, or an API hiccup: try again later, backing off
    // so a broken server costs little.
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const base = this.#deps.retryBaseMs ?? 30_000;
    const delay = Math.min(this.#deps.retryMaxMs ?? 10 * 60_000, base * 2 ** (failures - 1));
    clearTimeout(this.#retryTimers.get(key));
    this.#retryTimers.set(
      key,
      setTimeout(() => {
        this.#retryTimers.delete(key);
        this.#enqueue(key, false);
      }, delay),
    );
  }

  #notifyIdle(): void {
    if (!this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

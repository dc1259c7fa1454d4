/**
 * The cluster prober (DESIGN.md, "The prober"): finds MCP Services, detects
 * the transport each one speaks, and records it on the Service and on the
 * Deployments it selects. All dependencies are passed in, so the same class
 * runs from `probe --once`, from the watcher, and against a fake API in tests.
 */
import type { CoreV1Event, V1Deployment, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE, SYSTEM_NAMESPACES } from '../contract.ts';
import { MCP_LABEL_SELECTOR, type ClusterApi } from './cluster-api.ts';
import {
  isNoncompliant,
  noncompliantCounts,
  noncompliantEvent,
  unlabelledRouteEvent,
  type Judge,
  type Judgement,
  type NoncompliantCount,
  type RouteFinding,
} from './compliance.ts';
import { mapConcurrentUntil } from './concurrency.ts';
import type { Detect, DetectionResult } from './detect.ts';
import { recordEvent } from './event-recorder.ts';
import { transitionEvent } from './events.ts';
import { recordPassFailure, recordPassSuccess, type ProberMetrics } from './metrics.ts';
import { describeApiError, isConflict, realSleep, withRetry, DEFAULT_RETRY_POLICY, type RetryPolicy, type Sleep } from './retry.ts';
import { selectedDeployments, selectsDeployment } from './selection.ts';
import {
  endpointCandidates,
  ineligibleReason,
  labelSelectorOf,
  podAtAddressSelector,
  podUrl,
  type EndpointCandidate,
} from './pod-endpoint.ts';
import { fairPassOrder, serviceKey } from './pass-order.ts';
import { NO_PASS_STATE, type PassState } from './pass-state.ts';
import { probeTargets } from './service-endpoint.ts';
import {
  detectionOf,
  planStatus,
  readTransportStatus,
  type DetectionSummary,
  type ProbedObject,
  type StatusTransition,
} from './transport-status.ts';

/** What the cluster prober is built from. */
export interface ClusterProberDeps {
  api: ClusterApi;
  detect: Detect;
  /** The time written to `detectedAt` and Events. */
  clock: () => Date;
  logger: Logger;
  /** Probes in flight at once. Default 8. */
  concurrency?: number;
  /** Default `cluster.local`. */
  clusterDomain?: string;
  /** Namespaces never probed, besides the system ones (e.g. the webhook's own). */
  excludedNamespaces?: readonly string[];
  retry?: RetryPolicy;
  sleep?: Sleep;
  /** `reportingInstance` of Events, e.g. the pod name. */
  instance?: string;
  /**
   * Time a pass may start probes in; what is left is reported and carried
   * over. Default 8 minutes, under the CronJob's 9-minute activeDeadlineSeconds.
   */
  passBudgetMs?: number;
  /** Where a pass leaves what it did not reach for the next one. Default: nowhere. */
  passState?: PassState;
  /** Monotonic milliseconds, for the pass deadline. Default `performance.now`. */
  now?: () => number;
  /**
   * The webhook's verdict on existing objects (compliance.ts). When given, a
   * pass skips what the webhook does not judge (exempt namespaces, mode off)
   * and records a Warning Event on each non-compliant object and on each
   * unlabelled route to an SSE server. Default: none.
   */
  judge?: Judge;
  /** Where each judged pass is counted (metrics.ts). Default: nowhere. */
  metrics?: ProberMetrics;
}

/** Default {@link ClusterProberDeps.passBudgetMs}. */
export const DEFAULT_PASS_BUDGET_MS = 8 * 60_000;

/** What became of one object's annotations. */
export interface AnnotationOutcome {
  kind: 'Service' | 'Deployment';
  name: string;
  transition: StatusTransition;
  sseConfigApplied?: boolean;
  error?: string;
}

/** What became of one Service. */
export interface ServiceProbeOutcome {
  namespace: string;
  name: string;
  detection: DetectionResult;
  objects: AnnotationOutcome[];
}

/** The result of {@link ClusterProber.probeAll}. */
export interface ProbeRunSummary {
  services: ServiceProbeOutcome[];
  /** Services the pass did not reach before its deadline: carried over to the next pass. */
  unreached: Array<{ namespace: string; name: string }>;
  /** Objects whose annotations could not be written. */
  errors: number;
  /** The webhook's verdict on each labelled Service and Deployment seen (empty without a judge). */
  judgements: Judgement[];
  /** The samples of `mcp_admission_noncompliant_objects`. */
  noncompliant: NoncompliantCount[];
  /** Unlabelled Ingresses and HTTPRoutes that route to SSE MCP Services. */
  routes: RouteFinding[];
}

/** What a judged pass found (see {@link ClusterProber.judgePass}). */
export interface JudgedPass {
  judgements: Judgement[];
  noncompliant: NoncompliantCount[];
  routes: RouteFinding[];
}

/** Optimistic-concurrency retries per object before giving up on it. */
const MAX_CONFLICT_RETRIES = 5;
/** Writes per object in one pass: the status, then `sseConfigApplied` once the webhook has acted. */
const MAX_WRITES_PER_OBJECT = 3;

/** Finds, probes and annotates MCP servers. */
export class ClusterProber {
  readonly #deps: Required<Omit<ClusterProberDeps, 'excludedNamespaces' | 'judge' | 'metrics'>> & {
    excluded: Set<string>;
    judge?: Judge;
    metrics?: ProberMetrics;
  };

  constructor(deps: ClusterProberDeps) {
    this.#deps = {
      api: deps.api,
      detect: deps.detect,
      clock: deps.clock,
      logger: deps.logger,
      concurrency: deps.concurrency ?? 8,
      clusterDomain: deps.clusterDomain ?? 'cluster.local',
      retry: deps.retry ?? DEFAULT_RETRY_POLICY,
      sleep: deps.sleep ?? realSleep,
      instance: deps.instance ?? 'mcp-admission-prober',
      passBudgetMs: deps.passBudgetMs ?? DEFAULT_PASS_BUDGET_MS,
      passState: deps.passState ?? NO_PASS_STATE,
      now: deps.now ?? (() => performance.now()),
      excluded: new Set([...SYSTEM_NAMESPACES, ...(deps.excludedNamespaces ?? [])]),
      ...(deps.judge ? { judge: deps.judge } : {}),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    };
  }

  /** True when the prober has the webhook's verdict (a Judge): passes judge, and only judged Services are probed. */
  get judging(): boolean {
    return this.#deps.judge !== undefined;
  }

  /** True when Services in `namespace` are probed. */
  watchesNamespace(namespace: string | undefined): boolean {
    return namespace !== undefined && !this.#deps.excluded.has(namespace);
  }

  /**
   * Probes every MCP Service once (`probe --once`), fair across namespaces
   * (pass-order.ts) and within the pass budget: no probe starts after it,
   * and what was not reached is reported and saved for the next pass. A
   * Service whose probe or annotation fails is reported in the summary; the
   * others go on. Throws only when the Services cannot be listed at all.
   */
  async probeAll(): Promise<ProbeRunSummary> {
    const { api, retry, sleep, concurrency, logger, passState, now } = this.#deps;
    const deadline = now() + this.#deps.passBudgetMs;
    let services = (await withRetry(() => api.listServices(MCP_LABEL_SELECTOR), retry, sleep)).filter((service) =>
      this.watchesNamespace(service.metadata?.namespace),
    );
    // One list of every labelled Deployment: judged even where no labelled
    // Service is (a Deployment alone is still the webhook's business). If
    // it fails, each namespace with a Service is listed on its own, so one
    // namespace the prober may not read costs only that namespace.
    let everyDeployment: V1Deployment[] | undefined;
    try {
      everyDeployment = (await withRetry(() => api.listDeployments(), retry, sleep)).filter((d) => this.watchesNamespace(d.metadata?.namespace));
    } catch (err) {
      logger.warn({ err: describeApiError(err) }, 'cannot list deployments in all namespaces; listing them per namespace');
    }
    const deploymentsByNamespace = new Map<string, Promise<V1Deployment[]>>();
    const deploymentsIn = (namespace: string) => {
      let deployments = deploymentsByNamespace.get(namespace);
      if (!deployments) {
        deployments = everyDeployment
          ? Promise.resolve(everyDeployment.filter((d) => d.metadata?.namespace === namespace))
          : withRetry(() => api.listDeployments(namespace), retry, sleep);
        deploymentsByNamespace.set(namespace, deployments);
      }
      return deployments;
    };
    const judged = this.#deps.judge
      ? await this.judgePass({ services, deployments: everyDeployment ?? (await this.#deploymentsOf(services, deploymentsIn)) })
      : { judgements: [], noncompliant: [], routes: [] };
    if (this.#deps.judge) {
      // Exempt namespaces and mode off: no probe, no annotation, no Event.
      const notJudged = new Set(
        judged.judgements.filter((j) => j.kind === 'Service' && j.verdict === 'not-judged').map((j) => `${j.namespace}/${j.name}`),
      );
      services = services.filter((s) => !notJudged.has(`${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`));
    }
    let carriedOver: string[] = [];
    try {
      carriedOver = await passState.load();
    } catch (err) {
      logger.warn({ err: describeApiError(err) }, 'cannot read what the last pass did not reach; starting afresh');
    }
    const ordered = fairPassOrder(services, new Set(carriedOver));
    logger.info({ services: ordered.length, carriedOver: carriedOver.length, concurrency }, 'probing MCP services');
    const { results, skipped } = await mapConcurrentUntil(ordered, concurrency, () => now() >= deadline, (service) =>
      this.probeService(service, { deployments: deploymentsIn(service.metadata?.namespace ?? '') }),
    );
    const outcomes = results.map((r) => r.result);
    const unreached = skipped.map((index) => ordered[index]!);
    if (unreached.length > 0) {
      logger.warn(
        { unreached: unreached.length, first: unreached.slice(0, 20).map(serviceKey), budgetMs: this.#deps.passBudgetMs },
        'pass budget spent; the next pass starts with the Services not reached',
      );
    }
    try {
      await passState.save(unreached.map(serviceKey));
    } catch (err) {
      logger.warn({ err: describeApiError(err) }, 'cannot save what this pass did not reach');
    }
    const errors = outcomes.reduce((sum, outcome) => sum + outcome.objects.filter((o) => o.error).length, 0);
    return {
      services: outcomes,
      unreached: unreached.map((s) => ({ namespace: s.metadata?.namespace ?? '', name: s.metadata?.name ?? '' })),
      errors,
      ...judged,
    };
  }

  /**
   * The judged part of a pass, the same for `probe --once` and `--watch`
   * (which hands in its informers' caches): the webhook's verdict on each
   * labelled Service and Deployment given, a Warning Event on each
   * non-compliant one, every Ingress and HTTPRoute listed and a Warning
   * Event on each unlabelled one that routes to an SSE MCP Service; counted
   * in the metrics. Throws when the judge cannot judge or the routes cannot
   * be listed (then the pass failed and the metrics say so).
   */
  async judgePass(objects: { services: readonly V1Service[]; deployments: readonly V1Deployment[] }): Promise<JudgedPass> {
    const { judge, metrics, api, retry, sleep, clock } = this.#deps;
    if (!judge) throw new Error('no judge: the prober was built without the webhook verdict');
    try {
      const watched = <T extends V1Service | V1Deployment>(list: readonly T[]) =>
        list.filter((o) => this.watchesNamespace(o.metadata?.namespace) && o.metadata?.labels?.[MCP_COMPONENT_LABEL] === MCP_COMPONENT_VALUE);
      const [ingresses, httpRoutes] = await Promise.all([
        withRetry(() => api.listIngresses(), retry, sleep),
        withRetry(() => api.listHTTPRoutes(), retry, sleep),
      ]);
      const routes = [
        ...ingresses.map((i) => ({ ...i, apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' })),
        ...httpRoutes,
      ].filter((route) => this.watchesNamespace(route.metadata?.namespace));
      const verdicts = await judge({
        objects: [
          ...watched(objects.services).map((s) => ({ ...s, apiVersion: 'v1', kind: 'Service' })),
          ...watched(objects.deployments).map((d) => ({ ...d, apiVersion: 'apps/v1', kind: 'Deployment' })),
        ],
        routes,
      });
      await this.#report(verdicts.judgements.filter(isNoncompliant).map((j) => noncompliantEvent(j, clock(), this.#deps.instance)));
      await this.#report(verdicts.routes.map((r) => unlabelledRouteEvent(r, clock(), this.#deps.instance)));
      const pass = { judgements: verdicts.judgements, noncompliant: noncompliantCounts(verdicts.judgements), routes: verdicts.routes };
      if (metrics) recordPassSuccess(metrics, pass.noncompliant, clock());
      return pass;
    } catch (err) {
      if (metrics) recordPassFailure(metrics);
      throw err;
    }
  }

  /**
   * True when the webhook judges `service` (not in an exempt namespace or
   * under mode off), so it is probed; always true without a judge. Throws
   * when the judge cannot say.
   */
  async judges(service: V1Service): Promise<boolean> {
    const { judge } = this.#deps;
    if (!judge) return true;
    const { judgements } = await judge({ objects: [{ ...service, apiVersion: 'v1', kind: 'Service' }], routes: [] });
    return judgements[0]?.verdict !== 'not-judged';
  }

  /** The labelled Deployments in the namespaces of `services`, when they could not be listed all at once. */
  async #deploymentsOf(services: V1Service[], deploymentsIn: (namespace: string) => Promise<V1Deployment[]>): Promise<V1Deployment[]> {
    const deployments: V1Deployment[] = [];
    for (const namespace of new Set(services.map((s) => s.metadata?.namespace ?? ''))) {
      try {
        deployments.push(...(await deploymentsIn(namespace)));
      } catch (err) {
        this.#deps.logger.warn({ namespace, err: describeApiError(err) }, 'cannot list deployments; judging the services only');
      }
    }
    return deployments;
  }

  /** Records each Event, deduplicated (event-recorder.ts); a failed write is logged, never fatal. */
  async #report(events: readonly CoreV1Event[]): Promise<void> {
    for (const event of events) {
      try {
        await recordEvent(this.#deps, event);
      } catch (err) {
        const object = event.involvedObject;
        this.#deps.logger.warn({ object: `${object.kind} ${object.namespace}/${object.name}`, reason: event.reason, err: describeApiError(err) }, 'cannot record the Event');
      }
    }
  }

  /**
   * Probes one Service and records the result on it and on the Deployments it
   * selects. `refresh` (a `revalidate` change) rewrites `detectedAt` and
   * announces the result even when nothing changed. Never throws.
   */
  async probeService(
    service: V1Service,
    options: { refresh?: boolean; deployments?: Promise<V1Deployment[]> | V1Deployment[] } = {},
  ): Promise<ServiceProbeOutcome> {
    const { api, retry, sleep, logger } = this.#deps;
    const namespace = service.metadata?.namespace ?? '';
    const name = service.metadata?.name ?? '';
    const log = logger.child({ service: `${namespace}/${name}` });

    let deployments: V1Deployment[] = [];
    let listError: string | undefined;
    try {
      deployments = selectedDeployments(
        service,
        await (options.deployments ?? withRetry(() => api.listDeployments(namespace), retry, sleep)),
      );
    } catch (err) {
      listError = describeApiError(err);
      log.warn({ err: listError }, 'cannot list deployments; annotating the service only');
    }

    const detection = await this.#detectService(service, deployments);
    log.info(
      { protocol: detection.protocol, protocolVersion: detection.protocolVersion, latencyMs: detection.latencyMs, reason: detection.reason },
      'probed',
    );

    const detectedAt = this.#deps.clock().toISOString();
    const refresh = options.refresh ?? false;
    const objects: AnnotationOutcome[] = [];
    objects.push(await this.#record({ kind: 'Service', object: service }, detection, { detectedAt, refresh }));
    for (const deployment of deployments) {
      objects.push(await this.#record({ kind: 'Deployment', object: deployment }, detection, { detectedAt, refresh }));
    }
    if (listError) objects.push({ kind: 'Deployment', name: '*', transition: 'unchanged', error: listError });
    return { namespace, name, detection, objects };
  }

  /**
   * Brings one Deployment's annotations in line with the Service that selects
   * it, without probing: a new Deployment behind a known Service, or the
   * webhook's SSE settings now visible (`sseConfigApplied`). Never throws.
   */
  async syncDeployment(deployment: V1Deployment, services: readonly V1Service[]): Promise<AnnotationOutcome | undefined> {
    const service = services.find(
      (candidate) => selectsDeployment(candidate, deployment) && readTransportStatus(candidate.metadata?.annotations),
    );
    const status = service && readTransportStatus(service.metadata?.annotations);
    if (!status) return undefined;
    return await this.#record({ kind: 'Deployment', object: deployment }, { ...detectionOf(status), authRequired: false }, {
      detectedAt: status.detectedAt,
      refresh: false,
    });
  }

  /**
   * Probes a pod the Service selects, confirmed as such (pod-endpoint.ts),
   * at each candidate path in order; the first that answers as MCP wins. The
   * result's `endpoint` is the Service URL clients use, not the pod's, so it
   * does not change with every rollout.
   */
  async #detectService(service: V1Service, deployments: V1Deployment[]): Promise<DetectionResult> {
    const ineligible = ineligibleReason(service);
    if (ineligible) return notProbed(ineligible);
    const targets = probeTargets(service, {
      clusterDomain: this.#deps.clusterDomain,
      ...(deployments[0]?.metadata?.annotations ? { fallbackAnnotations: deployments[0].metadata.annotations } : {}),
    });
    if ('error' in targets) return notProbed(targets.error);
    const pod = await this.#podEndpoint(service, targets.port);
    if ('error' in pod) return notProbed(pod.error);
    const failures: string[] = [];
    let latencyMs = 0;
    for (const [index, path] of targets.paths.entries()) {
      let result: DetectionResult;
      try {
        result = await this.#deps.detect(podUrl(targets.scheme, pod, path));
      } catch {
        result = notProbed('probe error');
      }
      latencyMs += result.latencyMs;
      if (result.protocol !== 'unknown' || result.authRequired) {
        return { ...result, ...(result.endpoint ? { endpoint: targets.urls[index]! } : {}), latencyMs };
      }
      failures.push(targets.paths.length > 1 ? `${path}: ${result.reason}` : result.reason);
    }
    return { protocol: 'unknown', authRequired: false, reason: failures.join('; '), latencyMs };
  }

  /** The first endpoint of the Service that the API server confirms is a pod it selects. */
  async #podEndpoint(service: V1Service, port: V1ServicePort): Promise<EndpointCandidate | { error: string }> {
    const { api, retry, sleep } = this.#deps;
    const namespace = service.metadata?.namespace ?? '';
    const name = service.metadata?.name ?? '';
    let candidates: EndpointCandidate[];
    try {
      candidates = endpointCandidates(service, port, await withRetry(() => api.listEndpointSlices(namespace, name), retry, sleep));
    } catch (err) {
      return { error: `cannot list the Service's EndpointSlices (${describeApiError(err)})` };
    }
    if (candidates.length === 0) return { error: 'the Service has no endpoint on its MCP port yet' };
    const labelSelector = labelSelectorOf(service.spec?.selector ?? {});
    for (const candidate of candidates) {
      const fieldSelector = podAtAddressSelector(candidate.address);
      if (!fieldSelector) continue;
      let pods;
      try {
        pods = await withRetry(() => api.listPodMetadata(namespace, { labelSelector, fieldSelector }), retry, sleep);
      } catch (err) {
        return { error: `cannot confirm the Service's endpoints (${describeApiError(err)})` };
      }
      if (pods.some((pod) => pod.namespace === namespace && !pod.deletionTimestamp)) return candidate;
    }
    return {
      error: `none of the ${candidates.length} endpoint(s) checked is a running pod the Service selects: not probed`,
    };
  }

  /**
   * Writes the status on one object. Re-reads and decides again on a
   * conflict; after a write, decides again on the object the API server
   * returned, because the mutating webhook applies the SSE settings in that
   * very UPDATE (DESIGN.md, "The prober") and `sseConfigApplied` can then be
   * recorded at once.
   */
  async #record(
    target: ProbedObject,
    detection: DetectionSummary & { authRequired: boolean },
    options: { detectedAt: string; refresh: boolean },
  ): Promise<AnnotationOutcome> {
    const { logger } = this.#deps;
    const name = target.object.metadata?.name ?? '';
    const namespace = target.object.metadata?.namespace ?? '';
    const outcome: AnnotationOutcome = { kind: target.kind, name, transition: 'unchanged' };
    let current = target;
    let refresh = options.refresh;
    let conflicts = 0;
    let writes = 0;
    const transitions: StatusTransition[] = [];
    try {
      for (;;) {
        const plan = planStatus(current, detection, { detectedAt: options.detectedAt, refresh });
        if (plan.transition !== 'unchanged' && plan.transition !== 'updated') transitions.push(plan.transition);
        if (writes >= MAX_WRITES_PER_OBJECT) break;
        if (!plan.annotations) {
          await this.#emitEvent(current, plan, detection.reason);
          if (plan.status.sseConfigApplied !== undefined) outcome.sseConfigApplied = plan.status.sseConfigApplied;
          break;
        }
        try {
          current = await this.#patch(current, plan.annotations);
          writes += 1;
          refresh = false;
          await this.#emitEvent(current, plan, detection.reason);
        } catch (err) {
          if (!isConflict(err) || ++conflicts > MAX_CONFLICT_RETRIES) throw err;
          logger.debug({ object: `${target.kind} ${namespace}/${name}` }, 'conflict; re-reading');
          current = await this.#read(current);
        }
      }
      outcome.transition = transitions[0] ?? (writes > 0 ? 'updated' : 'unchanged');
    } catch (err) {
      outcome.error = describeApiError(err);
      logger.warn({ object: `${target.kind} ${namespace}/${name}`, err: outcome.error }, 'cannot record transport status');
    }
    return outcome;
  }

  async #patch(target: ProbedObject, annotations: Record<string, string>): Promise<ProbedObject> {
    const { api, retry, sleep } = this.#deps;
    const metadata = target.object.metadata ?? {};
    const patch = { annotations, ...(metadata.resourceVersion ? { resourceVersion: metadata.resourceVersion } : {}) };
    const namespace = metadata.namespace ?? '';
    const name = metadata.name ?? '';
    if (target.kind === 'Service') {
      return { kind: 'Service', object: await withRetry(() => api.patchService(namespace, name, patch), retry, sleep) };
    }
    return { kind: 'Deployment', object: await withRetry(() => api.patchDeployment(namespace, name, patch), retry, sleep) };
  }

  async #read(target: ProbedObject): Promise<ProbedObject> {
    const { api, retry, sleep } = this.#deps;
    const namespace = target.object.metadata?.namespace ?? '';
    const name = target.object.metadata?.name ?? '';
    if (target.kind === 'Service') {
      return { kind: 'Service', object: await withRetry(() => api.readService(namespace, name), retry, sleep) };
    }
    return { kind: 'Deployment', object: await withRetry(() => api.readDeployment(namespace, name), retry, sleep) };
  }

  /** Events are best-effort: a failure to emit one is logged, never fatal. */
  async #emitEvent(target: ProbedObject, plan: ReturnType<typeof planStatus>, failureReason: string): Promise<void> {
    const event = transitionEvent(target, plan, failureReason, this.#deps.clock(), this.#deps.instance);
    if (event) await this.#report([event]);
  }
}

function notProbed(reason: string): DetectionResult {
  return { protocol: 'unknown', authRequired: false, reason, latencyMs: 0 };
}

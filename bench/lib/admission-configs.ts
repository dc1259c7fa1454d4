/**
 * The four admission configurations of the through-the-API-server
 * benchmark, switched on one running control plane:
 *
 * - `none`: no webhook configuration, no admission policy;
 * - `floor`: the same webhook configurations pointed at the floor webhook
 *   (`floor-server.ts`), which answers serve's patch without deciding;
 * - `blocks-floor`: the same, pointed at the floor on the building blocks
 *   (`blocks-floor-server.ts`: express, zod, pino, prom-client);
 * - `mcp-admission`: the webhook configurations of deploy/overlays/local
 *   (deploy/admission pointed at 127.0.0.1), as the end-to-end harness
 *   registers them (mutating and validating);
 * - `cel`: the MutatingAdmissionPolicy + ValidatingAdmissionPolicy of
 *   `cel-policies.ts`.
 *
 * The API server learns of such changes through informers, a moment after
 * they are stored, and each of the four kinds has its own. So a switch waits
 * until server-side dry runs show exactly the configuration asked for: which
 * mutator changed the object (by the annotation each writes) and which
 * validators are in force.
 */
import { mustSucceed, type Kubectl } from '../../test/support/harness.ts';
import { installWebhookConfigurations } from '../../test/support/harness/webhook.ts';
import { Annotations } from '../../src/contract.ts';
import { DEFAULT_MAX_UNAVAILABLE, DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS } from '../../src/kubernetes/api-server.ts';
import { CEL_APPLIED_ANNOTATION, CEL_POLICY_NAME, SKIP_CEL_MUTATION_ANNOTATION, celAdmissionPolicies } from './cel-policies.ts';
import { parseMetrics, plainMetrics, total, type ApiClient } from './kube-api.ts';
import { mcpDeploymentObject } from './workloads.ts';

type Json = Record<string, any>;

export const CONFIGURATIONS = ['none', 'floor', 'blocks-floor', 'mcp-admission', 'cel'] as const;
export type AdmissionConfiguration = (typeof CONFIGURATIONS)[number];

/** What the configuration should have done to the padded SSE Deployment; undefined when it did. */
export function checkStored(configuration: AdmissionConfiguration, object: Json): string | undefined {
  const rolling = object.spec?.strategy?.rollingUpdate ?? {};
  const grace = object.spec?.template?.spec?.terminationGracePeriodSeconds;
  const annotations = object.metadata?.annotations ?? {};
  const byWebhook = Annotations.applied in annotations;
  const byCel = CEL_APPLIED_ANNOTATION in annotations;
  const safe = object.spec?.strategy?.type === 'RollingUpdate' && rolling.maxUnavailable === 0 && rolling.maxSurge === '25%' && grace === 120;
  const untouched = rolling.maxUnavailable === DEFAULT_MAX_UNAVAILABLE && grace === DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  const seen = `strategy ${JSON.stringify(object.spec?.strategy)}, grace ${grace}, mutated by${byWebhook ? ' mcp-admission' : ''}${byCel ? ' cel' : ''}${byWebhook || byCel ? '' : ' nothing'}`;
  switch (configuration) {
    case 'none':
      return untouched && !byWebhook && !byCel ? undefined : `expected untouched, got ${seen}`;
    case 'floor': // the floors answer serve's patch: the same stored object
    case 'blocks-floor':
    case 'mcp-admission':
      return safe && byWebhook && !byCel ? undefined : `expected made safe by mcp-admission's patch alone, got ${seen}`;
    case 'cel':
      return safe && byCel && !byWebhook ? undefined : `expected made safe by the CEL policy alone, got ${seen}`;
  }
}

const VALIDATING_WEBHOOK = 'validate.mcp-admission.dev';

/** Calls of our validating webhook so far, from the API server's metrics. */
function validatingWebhookCalls(metrics: string): number {
  return total(parseMetrics(metrics), 'apiserver_admission_webhook_admission_duration_seconds_count', (l) => l.name === VALIDATING_WEBHOOK);
}

/** Reviews serve (or the blocks floor, with serve's histogram) has answered so far, from its own metrics. */
async function serveReviews(metricsPort: number): Promise<number> {
  return total(parseMetrics(await plainMetrics(metricsPort)), 'mcp_admission_request_duration_seconds_count');
}

/** The two webhook processes the configurations point at; one caBundle serves both (the same certificate). */
export interface AdmissionTargets {
  serve: { port: number; metricsPort: number };
  floor: { port: number };
  /** The floor on the building blocks, when the run has one. */
  blocksFloor?: { port: number; metricsPort: number };
  caBundle: string;
}

export interface AdmissionSwitch {
  /** Applies `configuration` and waits until the API server acts on it; milliseconds that took. */
  use(configuration: AdmissionConfiguration): Promise<number>;
}

/**
 * Switches the API server between configurations; dry runs go to
 * `probeNamespace`, which must exist.
 */
export function admissionSwitch(kubectl: Kubectl, api: ApiClient, probeNamespace: string, targets: AdmissionTargets): AdmissionSwitch {
  const cel = celAdmissionPolicies();
  const probe = mcpDeploymentObject('admission-probe', probeNamespace);
  const deleteWebhooks = () =>
    mustSucceed(kubectl, ['delete', '--ignore-not-found', 'mutatingwebhookconfiguration/mcp-admission', 'validatingwebhookconfiguration/mcp-admission']);
  const deleteCel = () =>
    mustSucceed(kubectl, ['delete', '--ignore-not-found', ...cel.map((o) => `${o.kind.toLowerCase()}.admissionregistration.k8s.io/${o.metadata.name}`)]);

  const dryRun = (object: Json) => api.send('POST', `/apis/apps/v1/namespaces/${probeNamespace}/deployments?dryRun=All`, object);
  // Allowed by mcp-admission (a grace period within its bounds), refused by the ValidatingAdmissionPolicy (below 120).
  const shortGrace = structuredClone(probe);
  shortGrace.metadata.annotations[Annotations.terminationGracePeriodSeconds] = '60';
  // Skips the MutatingAdmissionPolicy, so the ValidatingAdmissionPolicy, when in force, refuses it.
  const unmutated = structuredClone(probe);
  unmutated.metadata.annotations[SKIP_CEL_MUTATION_ANNOTATION] = 'true';

  /**
   * Server-side dry runs: undefined when the API server applies exactly
   * `configuration`, else what it does instead. Each of the four kinds is
   * shown on or off: mutators by the annotation each writes, our validating
   * webhook by the API server's call count, the ValidatingAdmissionPolicy by
   * what it refuses (with no mutation, both validators refuse the untouched
   * object, so `none` needs the one dry run). serve and the floor answer
   * alike; serve's own request count tells which one the API server calls,
   * and the blocks floor's (serve's histogram) whether it is that one.
   */
  async function inEffect(configuration: AdmissionConfiguration): Promise<string | undefined> {
    const callsBefore = validatingWebhookCalls((await api.send('GET', '/metrics')).body);
    const blocks = targets.blocksFloor;
    const serveBefore = await serveReviews(targets.serve.metricsPort);
    const blocksBefore = blocks ? await serveReviews(blocks.metricsPort) : 0;
    const answer = await dryRun(probe);
    const called = validatingWebhookCalls((await api.send('GET', '/metrics')).body) > callsBefore;
    const serveCalled = (await serveReviews(targets.serve.metricsPort)) > serveBefore;
    const blocksCalled = blocks ? (await serveReviews(blocks.metricsPort)) > blocksBefore : false;
    if (answer.status !== 201) return `dry run: HTTP ${answer.status}: ${answer.body.slice(0, 300)}`;
    const stored = checkStored(configuration, JSON.parse(answer.body) as Json);
    if (stored) return stored;
    if (serveCalled !== (configuration === 'mcp-admission')) return `serve ${serveCalled ? 'still' : 'not yet'} called`;
    if (blocksCalled !== (configuration === 'blocks-floor')) return `blocks floor ${blocksCalled ? 'still' : 'not yet'} called`;
    if (configuration === 'none') return undefined;
    const webhooks = configuration === 'mcp-admission' || configuration === 'floor' || configuration === 'blocks-floor';
    if (called !== webhooks) return `validating webhook ${called ? 'still' : 'not yet'} called`;
    if (webhooks) {
      const short = await dryRun(shortGrace);
      return short.status === 201 ? undefined : `ValidatingAdmissionPolicy still in force: HTTP ${short.status}: ${short.body.slice(0, 300)}`;
    }
    const refused = await dryRun(unmutated);
    return refused.status === 422 && refused.body.includes(`ValidatingAdmissionPolicy '${CEL_POLICY_NAME}'`)
      ? undefined
      : `ValidatingAdmissionPolicy not yet in force: HTTP ${refused.status}`;
  }

  return {
    async use(configuration) {
      const started = performance.now();
      if (configuration === 'none' || configuration === 'cel') await deleteWebhooks();
      if (configuration !== 'cel') await deleteCel();
      // Applied over each other: the URLs change in place, as a rollout to a new address would.
      if (configuration === 'mcp-admission') await installWebhookConfigurations(kubectl, targets.serve.port, targets.caBundle);
      if (configuration === 'floor') await installWebhookConfigurations(kubectl, targets.floor.port, targets.caBundle);
      if (configuration === 'blocks-floor') {
        if (!targets.blocksFloor) throw new Error('no blocks floor in this run');
        await installWebhookConfigurations(kubectl, targets.blocksFloor.port, targets.caBundle);
      }
      if (configuration === 'cel') await mustSucceed(kubectl, ['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: cel }) });
      // Two dry runs in a row must agree: every informer has caught up.
      let last = 'no dry run yet';
      for (let agreed = 0; agreed < 2; ) {
        const problem = await inEffect(configuration);
        agreed = problem ? 0 : agreed + 1;
        if (problem) last = problem;
        if (performance.now() - started > 30_000) throw new Error(`admission configuration "${configuration}" not in effect after 30 s: ${last}`);
        if (problem) await new Promise((r) => setTimeout(r, 100));
      }
      return performance.now() - started;
    },
  };
}

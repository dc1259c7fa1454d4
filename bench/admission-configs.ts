/**
 * The three admission configurations of the through-the-API-server
 * benchmark, switched on one running control plane:
 *
 * - `none`: no webhook configuration, no admission policy;
 * - `mcp-admission`: the webhook configurations of deploy/overlays/local, as
 *   the end-to-end harness registers them (mutating and validating);
 * - `cel`: the MutatingAdmissionPolicy + ValidatingAdmissionPolicy of
 *   `cel-policies.ts`.
 *
 * The API server learns of such changes through informers, a moment after
 * they are stored, and each of the four kinds has its own. So a switch waits
 * until a server-side dry run shows exactly the configuration asked for:
 * which mutator changed the object (by the annotation each writes), and,
 * from the API server's own metrics, which validator looked at it.
 */
import { mustSucceed, type E2E } from '../test/e2e/harness.ts';
import { installWebhookConfigurations } from '../test/e2e/harness/webhook.ts';
import { Annotations } from '../src/contract.ts';
import { CEL_APPLIED_ANNOTATION, CEL_POLICY_NAME, celAdmissionPolicies } from './cel-policies.ts';
import { parseMetrics, total, type ApiClient } from './kube-api.ts';
import { mcpDeploymentObject } from './workloads.ts';

type Json = Record<string, any>;

export const CONFIGURATIONS = ['none', 'mcp-admission', 'cel'] as const;
export type AdmissionConfiguration = (typeof CONFIGURATIONS)[number];

/** What the configuration should have done to the padded SSE Deployment; undefined when it did. */
export function checkStored(configuration: AdmissionConfiguration, object: Json): string | undefined {
  const rolling = object.spec?.strategy?.rollingUpdate ?? {};
  const grace = object.spec?.template?.spec?.terminationGracePeriodSeconds;
  const annotations = object.metadata?.annotations ?? {};
  const byWebhook = Annotations.applied in annotations;
  const byCel = CEL_APPLIED_ANNOTATION in annotations;
  const safe = object.spec?.strategy?.type === 'RollingUpdate' && rolling.maxUnavailable === 0 && rolling.maxSurge === '25%' && grace === 120;
  const untouched = rolling.maxUnavailable === '25%' && grace === 30;
  const seen = `strategy ${JSON.stringify(object.spec?.strategy)}, grace ${grace}, mutated by${byWebhook ? ' mcp-admission' : ''}${byCel ? ' cel' : ''}${byWebhook || byCel ? '' : ' nothing'}`;
  switch (configuration) {
    case 'none':
      return untouched && !byWebhook && !byCel ? undefined : `expected untouched, got ${seen}`;
    case 'mcp-admission':
      return safe && byWebhook && !byCel ? undefined : `expected made safe by mcp-admission alone, got ${seen}`;
    case 'cel':
      return safe && byCel && !byWebhook ? undefined : `expected made safe by the CEL policy alone, got ${seen}`;
  }
}

const VALIDATING_WEBHOOK = 'validate.mcp-admission.dev';

/** Validations by our validating webhook and by the ValidatingAdmissionPolicy so far. */
function validations(metrics: string): { webhook: number; policy: number } {
  const samples = parseMetrics(metrics);
  return {
    webhook: total(samples, 'apiserver_admission_webhook_admission_duration_seconds_count', (l) => l.name === VALIDATING_WEBHOOK),
    policy: total(samples, 'apiserver_validating_admission_policy_check_total', (l) => l.policy === CEL_POLICY_NAME),
  };
}

export interface AdmissionSwitch {
  /** Applies `configuration` and waits until the API server acts on it; milliseconds that took. */
  use(configuration: AdmissionConfiguration): Promise<number>;
}

/**
 * Switches `env`'s API server between configurations; dry runs go to
 * `probeNamespace`, which must exist. Starts from what `startE2E()` left:
 * the webhook configurations registered.
 */
export function admissionSwitch(env: E2E, api: ApiClient, probeNamespace: string): AdmissionSwitch {
  const { kubectl } = env;
  const webhook = env.webhook;
  const cel = celAdmissionPolicies();
  const probe = mcpDeploymentObject('admission-probe', probeNamespace);
  const deleteWebhooks = () =>
    mustSucceed(kubectl, ['delete', '--ignore-not-found', 'mutatingwebhookconfiguration/mcp-admission', 'validatingwebhookconfiguration/mcp-admission']);
  const deleteCel = () =>
    mustSucceed(kubectl, ['delete', '--ignore-not-found', ...cel.map((o) => `${o.kind.toLowerCase()}.admissionregistration.k8s.io/${o.metadata.name}`)]);

  /** One dry run: undefined when `configuration` is what the API server applied, else what it did instead. */
  async function dryRun(configuration: AdmissionConfiguration): Promise<string | undefined> {
    const before = validations((await api.send('GET', '/metrics')).body);
    const answer = await api.send('POST', `/apis/apps/v1/namespaces/${probeNamespace}/deployments?dryRun=All`, probe);
    const after = validations((await api.send('GET', '/metrics')).body);
    if (answer.status !== 201) return `dry run: HTTP ${answer.status}: ${answer.body.slice(0, 300)}`;
    const stored = checkStored(configuration, JSON.parse(answer.body) as Json);
    if (stored) return stored;
    const webhookValidated = after.webhook > before.webhook;
    const policyValidated = after.policy > before.policy;
    if (webhookValidated !== (configuration === 'mcp-admission')) return `validating webhook ${webhookValidated ? 'still' : 'not yet'} called`;
    if (policyValidated !== (configuration === 'cel')) return `ValidatingAdmissionPolicy ${policyValidated ? 'still' : 'not yet'} evaluated`;
    return undefined;
  }

  return {
    async use(configuration) {
      const started = performance.now();
      if (configuration !== 'mcp-admission') await deleteWebhooks();
      if (configuration !== 'cel') await deleteCel();
      if (configuration === 'mcp-admission') {
        if (!webhook) throw new Error('mcp-admission configuration needs the harness webhook');
        await installWebhookConfigurations(kubectl, webhook.port, webhook.certificates.caBundle);
      }
      if (configuration === 'cel') await mustSucceed(kubectl, ['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: cel }) });
      // Two dry runs in a row must agree: every informer has caught up.
      let last = 'no dry run yet';
      for (let agreed = 0; agreed < 2; ) {
        const problem = await dryRun(configuration);
        agreed = problem ? 0 : agreed + 1;
        if (problem) last = problem;
        if (performance.now() - started > 30_000) throw new Error(`admission configuration "${configuration}" not in effect after 30 s: ${last}`);
        if (problem) await new Promise((r) => setTimeout(r, 100));
      }
      return performance.now() - started;
    },
  };
}

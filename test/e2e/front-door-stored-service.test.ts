/**
 * A Traefik route to an SSE Service stored before mcp-admission added
 * Traefik's nativeLB annotation to SSE Services, on a real API server with
 * the webhook serving from this checkout. "Stored before" is made the way a
 * cluster gets it: the Service is created while its namespace's policy says
 * mode off, then the policy changes.
 *
 * - mode mutate admits the route, with a warning that says why sessions are
 *   not sticky yet and the one command that fixes it; `audit` lists the
 *   Service as would-mutate until the command has run;
 * - mode validate refuses the route with the same command.
 *
 * No Traefik runs here: the decision is the webhook's, and
 * test/e2e/front-door.test.ts proves what nativeLB does to sessions through a
 * real Traefik.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Annotations } from '../../src/contract.ts';
import { ensureNamespace, getJson, manifest, mustSucceed, REPO_ROOT, startE2E, type E2E } from '../support/harness.ts';
import { ingressClass, mcpIngress, mcpService, type Manifest } from '../support/objects.ts';

const run = promisify(execFile);
const NATIVE_LB = { ingress: 'traefik.ingress.kubernetes.io/service.nativelb', gateway: 'traefik.io/service.nativelb' };
/** What the previous version stored for an SSE Service: ClientIP affinity, no Traefik annotation. */
const AFFINITY = { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } };

const policy = (namespace: string, mode: string): Manifest => ({
  apiVersion: 'mcp-admission.dev/v1alpha1',
  kind: 'MCPTransportPolicy',
  metadata: { name: namespace },
  spec: { mode, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } },
});
const service = (namespace: string): Manifest => mcpService('weather', { namespace, annotations: { protocol: 'sse' } }, AFFINITY);
const route = (namespace: string, name = 'weather'): Manifest => mcpIngress(name, 'traefik', { namespace, services: ['weather'] });

describe('a Traefik route to an SSE Service stored without nativeLB', () => {
  let env: E2E;
  const dryRun = (object: Manifest) => env.apply(object, ['--dry-run=server', '-o', 'json']);
  const audit = async (namespace: string): Promise<Manifest[]> => {
    // Exit 1 when anything would be refused or warned: the JSON is on stdout either way.
    const { stdout, stderr } = await run(process.execPath, ['src/cli/main.ts', 'audit', '-n', namespace, '-o', 'json', '--kubeconfig', env.controlPlane.kubeconfig], {
      cwd: REPO_ROOT,
    }).catch((err: { stdout: string; stderr: string }) => err);
    assert.ok(stdout, `audit printed nothing: ${stderr}`);
    return JSON.parse(stdout) as Manifest[];
  };
  /** Repeats `attempt` until it returns a value: the webhook learns of policies and Services from watches. */
  const eventually = async <T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> => {
    const deadline = performance.now() + 15_000;
    for (;;) {
      const value = await attempt();
      if (value !== undefined) return value;
      assert.ok(performance.now() < deadline, `within 15 s: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** Applies the namespace's policy and waits until the webhook judges a new SSE Service under `mode`. */
  const setMode = async (namespace: string, mode: 'off' | 'mutate' | 'validate'): Promise<void> => {
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: manifest(policy(namespace, mode)) });
    const probe = mcpService('mode-probe', { namespace, annotations: { protocol: 'sse' } });
    await eventually(`mode ${mode} in ${namespace}`, async () => {
      const result = await dryRun(probe);
      const stored = result.code === 0 ? (JSON.parse(result.stdout) as Manifest) : undefined;
      const seen = { off: stored?.spec?.sessionAffinity === 'None', mutate: stored?.metadata?.annotations?.[NATIVE_LB.ingress] === 'true', validate: result.code !== 0 }[mode];
      return seen || undefined;
    });
  };

  before(async () => {
    env = await startE2E();
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: manifest(ingressClass('traefik', 'traefik.io/ingress-controller')) });
  });
  after(() => env?.stop());

  it('mode mutate admits the route with a warning that says why and gives the one command; audit lists the Service as would-mutate until it has run', async () => {
    const ns = 'upgraded';
    await ensureNamespace(env.kubectl, ns);
    await setMode(ns, 'off');
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: manifest(service(ns)) });
    const stored = await getJson<Manifest>(env.kubectl, ['service', 'weather', '-n', ns]);
    assert.equal(stored.metadata.annotations?.[NATIVE_LB.ingress], undefined, 'stored without nativeLB');
    await setMode(ns, 'mutate');

    const command = `kubectl annotate service/weather -n ${ns} ${NATIVE_LB.ingress}=true`;
    const dry = await eventually('the webhook knows the stored Service', async () => {
      const result = await dryRun(route(ns));
      return result.stderr.includes('not sticky yet') ? result : undefined;
    });
    assert.equal(dry.code, 0, dry.stderr);
    const warning = dry.stderr.split('\n').find((line) => line.includes('not sticky yet')) ?? '';
    process.stderr.write(`e2e: kubectl apply of the Ingress in mode mutate:\n${dry.stderr}\n`);
    assert.match(warning, /^Warning: mcp-admission: spec\.rules\[0\]\.http\.paths\[0\]\.backend\.service\.name: Service "weather" was stored without /);
    assert.ok(warning.endsWith(`Fix: ${command}, or re-apply the Service (mcp-admission adds it)`), warning);

    const created = await env.apply(route(ns));
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /not sticky yet/);

    const before = (await audit(ns)).find((e) => e.kind === 'Service' && e.name === 'weather');
    assert.equal(before?.verdict, 'would-mutate', JSON.stringify(before));
    assert.ok(before?.changes.includes(`${NATIVE_LB.ingress} (unset) -> true`), JSON.stringify(before?.changes));

    // The warning's command, word for word.
    await mustSucceed(env.kubectl, command.split(' ').slice(1));
    const annotated = await getJson<Manifest>(env.kubectl, ['service', 'weather', '-n', ns]);
    assert.equal(annotated.metadata.annotations[NATIVE_LB.gateway], 'true', 'the webhook added the Gateway API key on that write');
    assert.match(annotated.metadata.annotations[Annotations.applied], /one Traefik instance share one replica/);
    const after = (await audit(ns)).find((e) => e.kind === 'Service' && e.name === 'weather');
    assert.equal(after?.verdict, 'compliant', JSON.stringify(after));

    // A second Ingress: kubectl sends nothing for one that did not change.
    const again = await eventually('the webhook sees the annotated Service', async () => {
      const result = await dryRun(route(ns, 'weather-2'));
      return result.stderr.includes('not sticky yet') ? undefined : result;
    });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /Warning: mcp-admission: spec\.ingressClassName: every session through one Traefik instance lands on one replica of Service "weather"/);
  });

  it('mode validate refuses the route with the same command, and admits it once that has run', async () => {
    const ns = 'strict';
    await ensureNamespace(env.kubectl, ns);
    await setMode(ns, 'validate');
    await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: manifest(service(ns)) });
    const refused = await eventually('the webhook knows the Service', async () => {
      const result = await dryRun(route(ns));
      return result.code !== 0 ? result : undefined;
    });
    process.stderr.write(`e2e: kubectl apply of the Ingress in mode validate:\n${refused.stderr}\n`);
    const command = `kubectl annotate service/weather -n ${ns} --overwrite ${NATIVE_LB.ingress}=true`;
    assert.ok(refused.stderr.includes(command), refused.stderr);
    assert.match(refused.stderr, /one Traefik instance share one replica/);
    assert.notEqual((await env.apply(route(ns))).code, 0, 'a real create is refused too');

    await mustSucceed(env.kubectl, command.split(' ').slice(1));
    const admitted = await eventually('the webhook sees the annotated Service', async () => {
      const result = await env.apply(route(ns));
      return result.code === 0 ? result : undefined;
    });
    assert.match(admitted.stderr, /lands on one replica of Service "weather"/);
  });
});

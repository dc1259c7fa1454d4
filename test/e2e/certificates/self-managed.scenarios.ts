/**
 * What self-managed certificates must show on a real API server (issue 14):
 * - two replicas racing at start store exactly one CA in the Secret, and the
 *   bundle lands in every entry of both webhook configurations; the API
 *   server calls the webhook through the Service trusting it;
 * - with lifetimes forced short, a bounded loop of creates through the API
 *   server runs across at least one CA rotation and one serving renewal
 *   with 0 failed admissions;
 * - the Lease holder dies (SIGKILL, after leaving the Service's endpoints
 *   as a lost node's pod would) and the other replica takes the Lease and
 *   keeps rotating;
 * - every CA in the Secret's history was created once, by one replica.
 *
 * The install is deploy/ as users apply it (self-managed certificates, the
 * default) plus a kustomize patch that gives the Deployment short
 * certificate lifetimes (the
 * namespace comes from POD_NAMESPACE, which the Deployment already sets from
 * the downward API). Stand-ins, as in
 * every installed-path test: the kubelet and scheduler (the test starts the
 * pod processes), kube-proxy (pods reach the API server at the node
 * address), and the projected token (a TokenRequest token in a kubeconfig).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Deployment, type V1Secret } from '@kubernetes/client-node';
import { getJson, mustSucceed, startE2E, type E2E } from '../../support/harness.ts';
import { currentNetwork, type Network } from '../../support/harness/netns.ts';
import { startPod, type Pod } from '../../support/harness/pod.ts';
import { untilLogged } from '../../support/harness/processes.ts';
import { INSTALLED_PATH_APISERVER_ARGS, WEBHOOK, bundleCertificates, copyInstallTree, firstAdmitted, tlsHandshake, webhookCalls, type Installed } from '../../support/installed.ts';
import { mcpDeployment } from '../../support/objects.ts';

type Json = Record<string, any>;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const NAMESPACE = 'mcp-admission';
const SECRET = 'mcp-admission-webhook-tls';
const LEASE = 'mcp-admission-webhook-certificates';
const APP_NAMESPACE = 'mcp-load';
/** Short enough that a CA rotation and serving renewals happen within a minute. */
const LIFETIMES = {
  '--ca-lifetime': '50s',
  '--ca-renew-before': '25s',
  '--cert-lifetime': '16s',
  '--cert-renew-before': '8s',
  '--ca-bundle-propagation': '2s',
  '--lease-duration': '4s',
  '--cert-check-interval': '2s',
};

/** The overlay a user of self-managed certificates applies. */
async function writeOverlay(root: string): Promise<string> {
  const dir = join(root, 'self-managed');
  await mkdir(dir, { recursive: true });
  const args = ['serve', '--certificates', 'self-managed', ...Object.entries(LIFETIMES).flat()];
  await writeFile(
    join(dir, 'kustomization.yaml'),
    JSON.stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['../deploy'],
      patches: [
        {
          target: { kind: 'Deployment', name: WEBHOOK },
          patch: JSON.stringify([
            { op: 'replace', path: '/spec/template/spec/containers/0/args', value: args },
            // No Secret volume: the replicas read the Secret through the API.
            { op: 'replace', path: '/spec/template/spec/containers/0/volumeMounts', value: [{ name: 'tmp', mountPath: '/tmp' }] },
            { op: 'replace', path: '/spec/template/spec/volumes', value: [{ name: 'tmp', emptyDir: { sizeLimit: '16Mi' } }] },
          ]),
        },
      ],
    }),
  );
  return dir;
}

/** A Secret version as the test saw it through its watch. */
interface SecretVersion {
  at: number;
  caFingerprints: string[];
  servingSerial: string;
  servingIssuer: string;
}

function readVersion(secret: V1Secret): SecretVersion | undefined {
  const data = secret.data ?? {};
  if (!data['ca.crt'] || !data['tls.crt']) return undefined;
  const cas = bundleCertificates(data['ca.crt']);
  const serving = new X509Certificate(Buffer.from(data['tls.crt'], 'base64'));
  return { at: Date.now(), caFingerprints: cas.map((c) => c.fingerprint256), servingSerial: serving.serialNumber, servingIssuer: serving.issuer };
}

/** Polls the Secret and the Lease every 250 ms while the scenarios run (bounded by stop()). */
class Observer {
  readonly versions: SecretVersion[] = [];
  readonly holders: Array<{ at: number; holder: string }> = [];
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly core: CoreV1Api;
  private readonly kubectl: E2E['kubectl'];
  constructor(core: CoreV1Api, kubectl: E2E['kubectl']) {
    this.core = core;
    this.kubectl = kubectl;
  }
  start(): void {
    this.loop = (async () => {
      let lastRv = '';
      while (!this.stopped) {
        const secret = await this.core.readNamespacedSecret({ name: SECRET, namespace: NAMESPACE }).catch(() => undefined);
        if (secret && secret.metadata?.resourceVersion !== lastRv) {
          lastRv = secret.metadata?.resourceVersion ?? '';
          const version = readVersion(secret);
          if (version) this.versions.push(version);
        }
        const lease = await getJson<Json>(this.kubectl, ['lease', LEASE, '-n', NAMESPACE]).catch(() => undefined);
        const holder = lease?.spec?.holderIdentity ?? '';
        if (holder && this.holders.at(-1)?.holder !== holder) this.holders.push({ at: Date.now(), holder });
        await sleep(250);
      }
    })();
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
  distinctCAs(): string[] {
    return [...new Set(this.versions.flatMap((v) => v.caFingerprints))];
  }
  distinctServing(): string[] {
    return [...new Set(this.versions.map((v) => v.servingSerial))];
  }
}

describe('self-managed certificates: two replicas behind the real Service', () => {
  let env: E2E;
  let network: Network;
  let pods: Pod[] = [];
  /** Every replica ever started, the killed one included (its log stays readable). */
  let allPods: Pod[] = [];
  let core: CoreV1Api;
  let apps: AppsV1Api;
  /** An SSE server Deployment created through the API server; resolves to it as stored. */
  const createServer = (name: string): Promise<V1Deployment> =>
    apps.createNamespacedDeployment({ namespace: APP_NAMESPACE, body: mcpDeployment(name, { namespace: APP_NAMESPACE, annotations: { protocol: 'sse' } }) as V1Deployment });
  /** The SSE settings the mutating webhook applies are on the stored object. */
  const mutated = (deployment: V1Deployment): boolean => deployment.spec?.strategy?.rollingUpdate?.maxUnavailable === 0;
  let observer: Observer;
  let webhookPort: number;

  const holderPod = async (): Promise<Pod> => {
    const lease = await getJson<Json>(env.kubectl, ['lease', LEASE, '-n', NAMESPACE]);
    const holder = String(lease.spec.holderIdentity ?? '');
    const pod = pods.find((p) => holder.startsWith(`${p.name}_`));
    assert.ok(pod, `Lease holder ${holder} is none of ${pods.map((p) => p.name).join(', ')}`);
    return pod;
  };

  before(async () => {
    network = currentNetwork();
    env = await startE2E({ webhook: false, clusterPolicies: false, apiserverArgs: INSTALLED_PATH_APISERVER_ARGS });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(env.controlPlane.kubeconfig);
    core = kubeConfig.makeApiClient(CoreV1Api);
    apps = kubeConfig.makeApiClient(AppsV1Api);
    observer = new Observer(core, env.kubectl);
    const root = await copyInstallTree(env.dir);
    const overlay = await writeOverlay(root);
    await mustSucceed(env.kubectl, ['apply', '-k', overlay]);
    observer.start();
    // Both replicas at once, as a rollout starts them: they race for the Lease.
    const started = await Promise.allSettled(
      network.pods.map((slot) =>
        startPod({ controlPlane: env.controlPlane, network, slot, namespace: NAMESPACE, deployment: WEBHOOK, dir: join(env.dir, 'pods'), readyTimeoutMs: 60_000 }),
      ),
    );
    pods = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    allPods = [...pods];
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const deployment = await getJson<Json>(env.kubectl, ['deployment', WEBHOOK, '-n', NAMESPACE]);
    webhookPort = (deployment.spec.template.spec.containers[0].ports as Json[]).find((p) => p.name === 'https')?.containerPort;
  });

  after(async () => {
    await observer?.stop();
    await Promise.all(pods.map((p) => p.process.stop()));
    await env?.stop();
  });

  it('two replicas starting together store one CA, inject it into every webhook entry, and are called through the Service with it', async () => {
    const secret = await getJson<Json>(env.kubectl, ['secret', SECRET, '-n', NAMESPACE]);
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.deepEqual(Object.keys(secret.data).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    assert.equal(bundleCertificates(secret.data['ca.crt']).length, 1);
    // Whatever the race, one CA only was ever stored.
    assert.equal(observer.distinctCAs().length, 1, JSON.stringify(observer.versions));
    await untilLogged(pods, /"CA created"/);
    const created = pods.flatMap((p) => p.logTail(400).split('\n').filter((l) => l.includes('"CA created"')));
    assert.equal(created.length, 1, created.join('\n'));

    const serverName = `${WEBHOOK}.${NAMESPACE}.svc`;
    // The leader injects right after creating; allow it a few seconds.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const configs = [
        await getJson<Json>(env.kubectl, ['mutatingwebhookconfiguration', 'mcp-admission']),
        await getJson<Json>(env.kubectl, ['validatingwebhookconfiguration', 'mcp-admission']),
      ];
      const entries = configs.flatMap((c) => c.webhooks as Json[]);
      if (entries.every((w) => w.clientConfig.caBundle === secret.data['ca.crt'])) {
        assert.equal(entries.length, 3);
        break;
      }
      assert.ok(Date.now() < deadline, `caBundle not injected: ${JSON.stringify(entries.map((w) => [w.name, Boolean(w.clientConfig.caBundle)]))}`);
      await sleep(250);
    }
    for (const pod of pods) {
      const handshake = await tlsHandshake(pod.ip, webhookPort, serverName, secret.data['ca.crt']);
      assert.equal(handshake.error, undefined, `${pod.name}: ${handshake.error}`);
      assert.equal(handshake.authorized, true);
      for (const name of [WEBHOOK, `${WEBHOOK}.${NAMESPACE}`, serverName, `${serverName}.cluster.local`]) {
        assert.match(handshake.subjectAltName ?? '', new RegExp(`DNS:${name.replaceAll('.', '\\.')}(,|$)`));
      }
    }
    // Each replica reports the served certificate's notAfter.
    const notAfter = Math.floor(new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64')).validToDate.getTime() / 1000);
    for (const pod of pods) {
      const metrics = await (await fetch(`http://${pod.ip}:9090/metrics`)).text();
      const line = metrics.split('\n').find((l) => l.startsWith('mcp_admission_certificate_expiry_timestamp_seconds '));
      assert.ok(line, `${pod.name} has no expiry metric`);
      // The Secret may have been renewed since it was read: never earlier.
      assert.ok(Number(line.split(' ')[1]) >= notAfter, `${pod.name}: ${line} < ${notAfter}`);
    }
    await untilLogged([pods[0]!], /"serving certificate loaded"/);
    const loaded = pods[0]!.logTail(400).split('\n').find((l) => l.includes('"serving certificate loaded"'));
    assert.match(loaded ?? '', /"serial":"[0-9A-F]+"/);
    assert.match(loaded ?? '', /"notAfter":"\d{4}-\d\d-\d\dT/);
    // firstAdmitted and webhookCalls read only the environment of an install.
    const installed = { env } as unknown as Installed;
    const admitted = await firstAdmitted(installed, APP_NAMESPACE, 30_000);
    assert.ok(admitted.metadata.annotations['mcp-admission.dev/applied']);
    assert.ok((await webhookCalls(installed, 'mutate.mcp-admission.dev')) >= 1);
    await holderPod();
  });

  it('creates through the API server keep being admitted across a CA rotation and serving renewals: 0 failures', async (t) => {
    const startCAs = observer.distinctCAs().length;
    const startServing = observer.distinctServing().length;
    const started = Date.now();
    let ok = 0;
    const failures: string[] = [];
    let n = 0;
    // Deployments, not Services: a Service takes a cluster IP, and the range
    // is small. Two clients in a loop, bounded: until a new CA and two new serving
    // certificates have been stored and at least 30 s passed, at most 120 s.
    const done = (): boolean =>
      Date.now() - started > 120_000 ||
      (Date.now() - started > 30_000 && observer.distinctCAs().length > startCAs && observer.distinctServing().length >= startServing + 2);
    const client = async (): Promise<void> => {
      while (!done()) {
        const name = `load-${n++}`;
        try {
          const created = await createServer(name);
          if (!mutated(created)) throw new Error('stored without the SSE settings: the mutating webhook did not run');
          ok++;
        } catch (err) {
          failures.push(`${name} at +${Date.now() - started} ms: ${(err as { body?: string }).body ?? (err as Error).message}`);
        }
      }
    };
    await Promise.all([client(), client()]);
    const cas = observer.distinctCAs().length - startCAs;
    const serving = observer.distinctServing().length - startServing;
    t.diagnostic(`${ok} Deployments admitted in ${Date.now() - started} ms, ${failures.length} failed; ${cas} new CA(s), ${serving} new serving certificate(s)`);
    assert.deepEqual(failures, []);
    assert.ok(cas >= 1, 'no CA rotation happened during the load');
    assert.ok(serving >= 2, 'no serving renewal happened during the load');
    // Both CAs were in the bundle together at some point, and the old one left after.
    assert.ok(observer.versions.some((v) => v.caFingerprints.length === 2), 'the bundle never held two CAs');
    const last = observer.versions.at(-1)!;
    assert.ok(ok > 50, `only ${ok} admissions`);
    assert.ok(last.caFingerprints.length >= 1);
  });

  it('the Lease holder dies; the other replica takes the Lease within the lease duration and keeps rotating', async (t) => {
    const holder = await holderPod();
    const survivor = pods.find((p) => p !== holder)!;
    const servingBefore = observer.distinctServing().length;
    // A lost node: the pod leaves the endpoints (so no request goes to it),
    // then its process is killed without a chance to release the Lease.
    await env.kubectl(['delete', 'pod', holder.name, '-n', NAMESPACE, '--grace-period=0', '--force', '--wait=false']);
    const { syncEndpointSlices } = await import('../../support/harness/endpoint-slices.ts');
    await syncEndpointSlices(env.kubectl, NAMESPACE);
    process.kill(-holder.process.pid, 'SIGKILL');
    await holder.process.exited;
    const killedAt = Date.now();
    pods = pods.filter((p) => p !== holder);
    let tookOver = 0;
    for (;;) {
      const now = await holderPod().catch(() => undefined);
      if (now === survivor) {
        tookOver = Date.now() - killedAt;
        break;
      }
      assert.ok(Date.now() - killedAt < 30_000, 'the survivor never took the Lease');
      await sleep(200);
    }
    // And it keeps rotating: new serving certificates under its hand, and
    // admissions still pass.
    const deadline = Date.now() + 40_000;
    while (observer.distinctServing().length < servingBefore + 2) {
      assert.ok(Date.now() < deadline, 'no renewal after the takeover');
      await sleep(250);
    }
    await untilLogged([survivor], /"serving certificate issued"/);
    assert.match(survivor.logTail(400), /"serving certificate issued"/);
    assert.ok(mutated(await createServer('after-takeover')));
    t.diagnostic(`Lease taken over ${tookOver} ms after the holder was killed (lease duration ${LIFETIMES['--lease-duration']})`);
  });

  it('no two replicas wrote different CAs: every CA in the history was created once, by the Lease holder of the time', async () => {
    const allCAs = observer.distinctCAs();
    // Each "CA created" line is logged after its Secret write succeeded:
    // one line per CA in the history, whoever wrote it.
    const created = allPods.flatMap((p) => p.logTail(20_000).split('\n').filter((l) => l.includes('"CA created"')));
    assert.equal(created.length, allCAs.length, created.join('\n'));
    // The signing CA (first in the bundle) only ever moves forward: two
    // writers fighting would make it flip back.
    const signing = observer.versions.map((v) => v.caFingerprints[0]);
    const order: string[] = [];
    for (const f of signing) if (order.at(-1) !== f) order.push(f as string);
    assert.equal(new Set(order).size, order.length, `the signing CA flipped back: ${order.join(' -> ')}`);
    assert.equal(order.length, allCAs.length);
    // As many CAs as the elapsed time allows, not more.
    const elapsed = (observer.versions.at(-1)!.at - observer.versions[0]!.at) / 1000;
    assert.ok(allCAs.length <= Math.ceil(elapsed / 25) + 1, `${allCAs.length} CAs in ${elapsed} s`);
    assert.ok(observer.holders.length >= 2, 'the Lease never moved');
    // The previous CA left the bundle once its last serving certificate expired.
    const firstOverlap = observer.versions.findIndex((v) => v.caFingerprints.length === 2);
    assert.ok(firstOverlap >= 0);
    assert.ok(observer.versions.slice(firstOverlap).some((v) => v.caFingerprints.length === 1), 'the previous CA never left the bundle');
  });
});

/**
 * The loop closed on a real API server (issue 5): the prober detects an SSE
 * server from the official TypeScript SDK, annotates the Service and the
 * Deployment it selects, the webhook applies the SSE settings on that very
 * UPDATE, and `transport-status` then records `sseConfigApplied: true`.
 *
 * No kubelet or EndpointSlice controller runs here: the pod's status (its
 * address is where the SDK server listens, in the test's own network) and
 * the Service's EndpointSlice are written through the API as they would
 * write them (test/support/pods.ts, harness/endpoint-slices.ts) — the only
 * stand-ins in this test. The prober finds the pod the way it
 * does in a cluster, and detection, API calls, patches and admission are
 * all real.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Annotations } from '../../../src/contract.ts';
import { loadKubeAccess } from '../../../src/kubernetes/kube-access.ts';
import { KubeClient } from '../../../src/kubernetes/kube-client.ts';
import { kubeClusterApi } from '../../../src/prober/cluster-api.ts';
import { ClusterProber } from '../../../src/prober/cluster-prober.ts';
import { detectTransport } from '../../../src/prober/detect.ts';
import { startSdkServer, type RunningPeer } from '../../support/peers/sdk-servers.ts';
import { ensureNamespace, getJson, startE2E, type E2E } from '../../support/harness.ts';
import { mcpDeployment, mcpService, TRUST_THE_PROBER_POLICY, type Manifest } from '../../support/objects.ts';
import { syncEndpointSlices } from '../../support/harness/endpoint-slices.ts';
import { addPodAddress, runPod } from '../../support/pods.ts';

const NS = 'probed';
const POD_IP = addPodAddress(10);
// Undetected servers count as streamable-http here, so the SSE settings can
// only come from the prober's finding, on the UPDATE that records it.
const policyDir = mkdtempSync(join(tmpdir(), 'mcp-admission-prober-e2e-'));
const policyFile = join(policyDir, 'policy.json');
writeFileSync(policyFile, JSON.stringify(TRUST_THE_PROBER_POLICY));

describe('prober and webhook on a real API server', () => {
  let env: E2E;
  let peer: RunningPeer;

  before(async () => {
    [env, peer] = await Promise.all([startE2E({ webhookArgs: ['--policy', policyFile] }), startSdkServer('sse', POD_IP)]);
    await ensureNamespace(env.kubectl, NS);
  });
  after(async () => {
    await peer?.close();
    await env?.stop();
    rmSync(policyDir, { recursive: true, force: true });
  });

  it('marks an SSE server, the webhook applies the settings, the status says so', async () => {
    const apply = await env.apply([mcpDeployment('weather', { namespace: NS }), mcpService('weather', { namespace: NS })]);
    assert.equal(apply.code, 0, apply.stderr);
    const before = await getJson<Manifest>(env.kubectl, ['deployment', 'weather', '-n', NS]);
    assert.equal(before.spec.template.spec.terminationGracePeriodSeconds, 30, 'not yet treated as SSE');

    await runPod(env.kubectl, {
      namespace: NS,
      name: 'weather-7d9f-x2',
      labels: { 'app.kubernetes.io/name': 'weather' },
      podIP: POD_IP,
      containerPort: Number(new URL(peer.baseUrl).port),
    });
    await syncEndpointSlices(env.kubectl, NS);

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(env.controlPlane.kubeconfig);
    const client = new KubeClient(await loadKubeAccess({ kubeconfig: env.controlPlane.kubeconfig }));
    const probed: string[] = [];
    const prober = new ClusterProber({
      api: kubeClusterApi(kubeConfig, client),
      detect: (url) => {
        probed.push(url);
        return detectTransport(url);
      },
      clock: () => new Date(),
      logger: pino({ level: 'silent' }),
    });
    const summary = await prober.probeAll().finally(() => client.access.close());
    assert.equal(summary.errors, 0);
    assert.deepEqual(probed, [`${peer.baseUrl}/mcp`, `${peer.baseUrl}/sse`], 'the pod, at each default path');

    const deployment = await getJson<Manifest>(env.kubectl, ['deployment', 'weather', '-n', NS]);
    const service = await getJson<Manifest>(env.kubectl, ['service', 'weather', '-n', NS]);
    for (const object of [deployment, service]) {
      assert.equal(object.metadata.annotations[Annotations.detectedProtocol], 'sse');
      const status = JSON.parse(object.metadata.annotations[Annotations.transportStatus]);
      assert.equal(status.protocol, 'sse');
      assert.equal(status.protocolVersion, '2024-11-05');
      assert.equal(status.endpoint, `http://weather.${NS}.svc.cluster.local:80/sse`, 'the Service URL clients use');
      assert.equal(status.sseConfigApplied, true, JSON.stringify(status));
    }
    assert.deepEqual(deployment.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } });
    assert.equal(deployment.spec.template.spec.terminationGracePeriodSeconds, 120);
    assert.equal(service.spec.sessionAffinity, 'ClientIP');
  });
});

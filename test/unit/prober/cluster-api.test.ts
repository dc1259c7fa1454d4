/**
 * kubeClusterApi speaks to an API server the way the RBAC and the contract
 * expect: the requests it sends are checked on a recording HTTP server
 * standing in for kube-apiserver (the real one is in the e2e suite).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { StaticKubeAccess } from '../../../src/kubernetes/kube-access.ts';
import { KubeClient } from '../../../src/kubernetes/kube-client.ts';
import { kubeClusterApi, MCP_LABEL_SELECTOR, type ClusterApi } from '../../../src/prober/cluster-api.ts';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  accept: string | undefined;
  body: unknown;
}

describe('kubeClusterApi', () => {
  const seen: Seen[] = [];
  let api: ClusterApi;
  const server = createServer((req: IncomingMessage, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], accept: req.headers.accept, body: raw ? JSON.parse(raw) : undefined });
      // No Gateway API CRDs on this server: their lists are 404, as on a cluster without them.
      const status = req.url?.includes('/conflicted') ? 409 : req.url?.startsWith('/apis/gateway.networking.k8s.io/') ? 404 : 200;
      const body = req.url?.endsWith('/services') || req.url?.includes('/services?')
        ? { apiVersion: 'v1', kind: 'ServiceList', metadata: {}, items: [{ metadata: { name: 's', namespace: 't' } }] }
        : status === 409 || status === 404
          ? { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: status === 409 ? 'Conflict' : 'NotFound', code: status }
          : req.url?.startsWith('/apis/networking.k8s.io/v1/ingresses') || req.url?.startsWith('/apis/apps/v1/deployments')
            ? { metadata: {}, items: [] }
          : req.url?.startsWith('/api/v1/namespaces/t/pods?')
            ? { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: {}, items: [{ metadata: { name: 'p', namespace: 't' } }] }
          : { metadata: { name: 's', namespace: 't', resourceVersion: '8' } };
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });

  let connections = 0;
  server.on('connection', () => connections++);
  let client: KubeClient;

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    client = new KubeClient(new StaticKubeAccess('test', { cluster: { server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, user: { token: 'x' } }));
    api = kubeClusterApi(kubeConfig, client);
  });
  after(async () => {
    await client.access.close();
    server.closeAllConnections();
    server.close();
  });

  it('lists MCP services in all namespaces by label', async () => {
    const services = await api.listServices(MCP_LABEL_SELECTOR);
    assert.equal(services.length, 1);
    const url = new URL(seen.at(-1)!.url, 'http://x');
    assert.equal(url.pathname, '/api/v1/services');
    assert.equal(url.searchParams.get('labelSelector'), 'app.kubernetes.io/component=mcp-server');
  });

  it('patches annotations with a JSON merge patch guarded by resourceVersion', async () => {
    await api.patchDeployment('t', 'd', { resourceVersion: '7', annotations: { 'mcp-admission.dev/detected-protocol': 'sse' } });
    const request = seen.at(-1)!;
    assert.equal(request.method, 'PATCH');
    assert.equal(request.url, '/apis/apps/v1/namespaces/t/deployments/d');
    assert.equal(request.contentType, 'application/merge-patch+json');
    assert.deepEqual(request.body, { metadata: { resourceVersion: '7', annotations: { 'mcp-admission.dev/detected-protocol': 'sse' } } });
  });

  it('surfaces a conflict as code 409', async () => {
    await assert.rejects(api.patchService('t', 'conflicted', { annotations: {} }), (err: { code?: number }) => err.code === 409);
  });

  it('creates core v1 Events in the object namespace', async () => {
    await api.createEvent('t', { metadata: { generateName: 's.' }, involvedObject: { kind: 'Service', name: 's' }, reason: 'TransportDetected' });
    assert.equal(seen.at(-1)!.url, '/api/v1/namespaces/t/events');
    assert.equal(seen.at(-1)!.method, 'POST');
  });

  it('patches an Event with a JSON patch, for the count of a repeated Event', async () => {
    await api.patchEvent('t', 's.0123456789abcdef', [{ op: 'test', path: '/reason', value: 'NonCompliant' }, { op: 'add', path: '/count', value: 2 }]);
    const request = seen.at(-1)!;
    assert.equal(request.method, 'PATCH');
    assert.equal(request.url, '/api/v1/namespaces/t/events/s.0123456789abcdef');
    assert.equal(request.contentType, 'application/json-patch+json');
    assert.deepEqual(request.body, [{ op: 'test', path: '/reason', value: 'NonCompliant' }, { op: 'add', path: '/count', value: 2 }]);
  });

  it('lists labelled Deployments in all namespaces, every Ingress, and no HTTPRoute where the CRD is absent', async () => {
    await api.listDeployments();
    const url = new URL(seen.at(-1)!.url, 'http://x');
    assert.equal(url.pathname, '/apis/apps/v1/deployments');
    assert.equal(url.searchParams.get('labelSelector'), 'app.kubernetes.io/component=mcp-server');
    await api.listIngresses();
    assert.equal(new URL(seen.at(-1)!.url, 'http://x').pathname, '/apis/networking.k8s.io/v1/ingresses');
    assert.deepEqual(await api.listHTTPRoutes(), []);
    assert.equal(new URL(seen.at(-1)!.url, 'http://x').pathname, '/apis/gateway.networking.k8s.io/v1/httproutes');
  });

  it('lists pod metadata only, with its Accept header, on one kept-alive connection however many pods it looks up', async () => {
    const before = connections;
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
      const metadata = await api.listPodMetadata('t', { labelSelector: 'app=weather', fieldSelector: `status.podIP=${ip}` });
      assert.deepEqual(metadata, [{ name: 'p', namespace: 't' }]);
      const request = seen.at(-1)!;
      assert.equal(request.accept, 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1');
      const url = new URL(request.url, 'http://x');
      assert.equal(url.pathname, '/api/v1/namespaces/t/pods');
      assert.equal(url.searchParams.get('fieldSelector'), `status.podIP=${ip}`);
      assert.equal(url.searchParams.get('labelSelector'), 'app=weather');
      assert.equal(url.searchParams.get('limit'), '10');
    }
    // A prober pass looks up one pod per server: a TLS handshake each was the cost before.
    assert.ok(connections - before <= 1, `${connections - before} connections for 3 lookups`);
  });
});

/** Which Services are probed, and at which address: the pure half of pod-endpoint.ts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import {
  endpointCandidates,
  ineligibleReason,
  labelSelectorOf,
  MAX_ENDPOINT_CANDIDATES,
  podAtAddressSelector,
  podUrl,
} from '../../../src/prober/pod-endpoint.ts';
import { service } from '../../support/fake-cluster.ts';

const slice = (name: string, endpoints: Array<{ ip: string; ready?: boolean; terminating?: boolean }>, extra: Partial<V1EndpointSlice> = {}): V1EndpointSlice => ({
  addressType: 'IPv4',
  metadata: { name: `${name}-x`, namespace: 't', labels: { 'kubernetes.io/service-name': name } },
  ports: [{ name: 'http', port: 3000, protocol: 'TCP' }],
  endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true, terminating: e.terminating ?? false } })),
  ...extra,
});

describe('ineligibleReason', () => {
  it('probes ClusterIP, NodePort and LoadBalancer Services with a selector', () => {
    for (const type of [undefined, 'ClusterIP', 'NodePort', 'LoadBalancer']) {
      assert.equal(ineligibleReason(service('t', 's', type ? { type } : {})), undefined, String(type));
    }
  });
  it('never ExternalName, never a Service without a selector', () => {
    assert.match(ineligibleReason(service('t', 's', { type: 'ExternalName', externalName: 'db.example.com' }))!, /ExternalName/);
    assert.match(ineligibleReason(service('t', 's', { selector: {} }))!, /without a selector/);
    assert.match(ineligibleReason(service('t', 's', { selector: undefined }))!, /without a selector/);
  });
});

describe('endpointCandidates', () => {
  const svc = service('t', 's');
  const port = svc.spec!.ports![0]!;
  it('takes the port by the Service port name, ready endpoints first, in address order', () => {
    const got = endpointCandidates(svc, port, [slice('s', [{ ip: '10.0.0.9' }, { ip: '10.0.0.2', ready: false }, { ip: '10.0.0.3' }])]);
    assert.deepEqual(got, [
      { address: '10.0.0.3', port: 3000 },
      { address: '10.0.0.9', port: 3000 },
      { address: '10.0.0.2', port: 3000 },
    ]);
  });
  it('ignores slices of other Services, FQDN slices, terminating endpoints and other port names', () => {
    assert.deepEqual(endpointCandidates(svc, port, [slice('other', [{ ip: '10.0.0.1' }])]), []);
    assert.deepEqual(endpointCandidates(svc, port, [slice('s', [{ ip: '10.0.0.1' }], { addressType: 'FQDN' })]), []);
    assert.deepEqual(endpointCandidates(svc, port, [slice('s', [{ ip: '10.0.0.1', terminating: true }])]), []);
    assert.deepEqual(endpointCandidates(svc, port, [slice('s', [{ ip: '10.0.0.1' }], { ports: [{ name: 'metrics', port: 9090 }] })]), []);
  });
  it('tries a bounded number of candidates', () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ ip: `10.0.1.${i}` }));
    assert.equal(endpointCandidates(svc, port, [slice('s', many)]).length, MAX_ENDPOINT_CANDIDATES);
  });
});

describe('the API server query that confirms an address', () => {
  it('asks for a Running pod with that pod IP, off the host network, with the Service labels', () => {
    assert.equal(podAtAddressSelector('10.0.0.3'), 'status.podIP=10.0.0.3,spec.hostNetwork=false,status.phase=Running');
    assert.equal(labelSelectorOf({ app: 'a', tier: 'web' }), 'app=a,tier=web');
  });
  it('refuses anything that is not an IP address, so nothing can be added to the selector', () => {
    for (const bad of ['10.0.0.3,status.phase!=Running', 'evil.example', '', '10.0.0.3 ']) assert.equal(podAtAddressSelector(bad), undefined, bad);
  });
  it('builds pod URLs, IPv6 in brackets', () => {
    assert.equal(podUrl('http', { address: '10.0.0.3', port: 3000 }, '/mcp'), 'http://10.0.0.3:3000/mcp');
    assert.equal(podUrl('https', { address: 'fd00::3', port: 443 }, '/sse'), 'https://[fd00::3]:443/sse');
  });
});

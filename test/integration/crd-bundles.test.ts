/**
 * The CRD bundles test/tools/build.sh takes out of Go modules hold every CRD
 * of the release as its own YAML document: a bundle that runs two files into
 * one document makes `kubectl apply` create only the last CRD.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { toolPath } from '../support/tools.ts';

/** metadata.name of every document, failing on anything that is not a CRD. */
function crdNames(file: string): string[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((document) => document.toJS() as { kind?: string; metadata?: { name?: string } } | null)
    .filter((object) => object !== null)
    .map((object) => {
      assert.equal(object.kind, 'CustomResourceDefinition', `${file}: a ${object.kind}`);
      return object.metadata?.name ?? '';
    });
}

describe('CRD bundles from Go modules', () => {
  it('gateway-api: one document per CRD of the standard channel, the experimental bundle beside it', () => {
    const standard = toolPath('gateway-api');
    assert.deepEqual(crdNames(standard).sort(), [
      'backendtlspolicies.gateway.networking.k8s.io',
      'gatewayclasses.gateway.networking.k8s.io',
      'gateways.gateway.networking.k8s.io',
      'grpcroutes.gateway.networking.k8s.io',
      'httproutes.gateway.networking.k8s.io',
      'referencegrants.gateway.networking.k8s.io',
    ]);
    const experimental = crdNames(join(dirname(standard), 'experimental-install.yaml'));
    assert.ok(experimental.includes('tcproutes.gateway.networking.k8s.io'), experimental.join(', '));
    assert.ok(experimental.length > 6);
  });

  it('cert-manager: one document per CRD in its deploy/crds', () => {
    const names = crdNames(toolPath('cert-manager'));
    assert.ok(names.includes('certificates.cert-manager.io'), names.join(', '));
    assert.ok(names.includes('issuers.cert-manager.io'), names.join(', '));
    assert.equal(new Set(names).size, names.length);
  });
});

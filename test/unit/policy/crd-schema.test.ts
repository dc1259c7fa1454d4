/**
 * The CRD's OpenAPI schema (deploy/crd) and the zod schema the webhook
 * validates with (src/policy/transport-policy.ts) must describe the same
 * spec: same fields, types, enums, ranges, patterns and required lists.
 * Either one changing alone fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { TransportPolicySpecShape } from '../../../src/policy/transport-policy.ts';

type Schema = Record<string, any>;

/** Keeps what both dialects say about validity; drops what only one can say. */
function normalize(schema: Schema): Schema {
  // int-or-string: the CRD says so with an extension (structural schemas allow
  // no types under anyOf) and checks range and pattern in CEL; zod says anyOf.
  const types = (schema.anyOf ?? []).map((s: Schema) => s.type).sort().join();
  if (schema['x-kubernetes-int-or-string'] || types === 'integer,string') return { intOrString: true };
  const out: Schema = {};
  for (const key of ['type', 'enum', 'minimum', 'maximum', 'pattern'] as const) {
    if (schema[key] === undefined) continue;
    if (key === 'maximum' && schema[key] === Number.MAX_SAFE_INTEGER) continue;
    out[key] = schema[key];
  }
  if (schema.required?.length) out.required = [...schema.required].sort();
  if (schema.properties) out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, normalize(v as Schema)]));
  if (schema.items) out.items = normalize(schema.items);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') out.additionalProperties = normalize(schema.additionalProperties);
  if (schema.anyOf) out.anyOf = schema.anyOf.map(normalize);
  return out;
}

describe('MCPTransportPolicy schema', () => {
  const crd = parse(readFileSync(new URL('../../../deploy/crd/mcptransportpolicies.yaml', import.meta.url), 'utf8'));
  const version = crd.spec.versions.find((v: Schema) => v.storage);
  const crdSpec = version.schema.openAPIV3Schema.properties.spec;

  it('the CRD and the zod schema agree on every field', () => {
    assert.deepEqual(normalize(crdSpec), normalize(z.toJSONSchema(TransportPolicySpecShape) as Schema));
  });

  it('the CRD checks maxSurge as zod does, in CEL', () => {
    const maxSurge = crdSpec.properties.defaults.properties.maxSurge;
    assert.equal(maxSurge['x-kubernetes-validations'][0].rule, "type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')");
    const zodMaxSurge = (z.toJSONSchema(TransportPolicySpecShape) as Schema).properties.defaults.properties.maxSurge;
    assert.deepEqual(zodMaxSurge.anyOf.map((s: Schema) => s.minimum ?? s.pattern), [0, '^[0-9]+%$']);
  });

  it('the CRD names match the contract', () => {
    assert.equal(crd.metadata.name, `${crd.spec.names.plural}.${crd.spec.group}`);
    assert.equal(crd.spec.scope, 'Cluster');
    assert.deepEqual(version.additionalPrinterColumns.map((c: Schema) => c.name), ['Mode', 'Accepted', 'Conflicting', 'Namespaces', 'Grace', 'Age']);
  });

  it('has a status subresource whose schema holds what the status writer plans', () => {
    assert.deepEqual(version.subresources, { status: {} });
    const status = version.schema.openAPIV3Schema.properties.status;
    assert.deepEqual(Object.keys(status.properties), ['observedGeneration', 'conditions']);
    assert.deepEqual(status.properties.conditions.items.required, ['type', 'status', 'reason', 'message', 'lastTransitionTime']);
  });
});

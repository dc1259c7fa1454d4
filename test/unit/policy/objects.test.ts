/**
 * The shapes parse an object into the same JSON they were given: rules get
 * the parsed value while patches are computed against the object as
 * received, so a default or a transform in a shape would either promise the
 * rules a field the object lacks or turn into a patch nobody asked for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeploymentShape, ServiceShape } from '../../../src/policy/objects.ts';
import { fixture } from '../../support/fixtures.ts';

describe('object shapes', () => {
  const cases: Array<[string, typeof DeploymentShape | typeof ServiceShape, unknown]> = [
    ['the Deployment fixture', DeploymentShape, fixture('deployment-sse').request.object],
    ['the Service fixture', ServiceShape, fixture('service-sse').request.object],
    ['a Service without spec', ServiceShape, { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }],
    [
      'a Deployment with fields no rule reads, nulls and empty maps',
      DeploymentShape,
      {
        metadata: { name: 'd', labels: null, annotations: {}, uid: 'u', managedFields: [{ manager: 'kubectl' }] },
        spec: {
          replicas: null,
          strategy: { rollingUpdate: null },
          template: { metadata: null, spec: { containers: [{ name: 'c', ports: null, lifecycle: { postStart: {} } }], volumes: [] } },
          paused: false,
        },
        status: { replicas: 1 },
      },
    ],
  ];
  for (const [name, shape, object] of cases) {
    it(`${name} parses into exactly the JSON it was`, () => {
      const parsed = shape.parse(structuredClone(object));
      assert.deepStrictEqual(JSON.parse(JSON.stringify(parsed)), object);
      assert.deepStrictEqual(Object.keys(parsed as object).sort(), Object.keys(object as object).sort());
    });
  }
});

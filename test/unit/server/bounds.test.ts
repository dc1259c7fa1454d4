/**
 * identifierProblem: which of a review's names is too long for Kubernetes,
 * first in a fixed order, in the words the 400 answer carries.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identifierProblem, MAX_NAME_LENGTH, MAX_NAMESPACE_LENGTH } from '../../../src/server/bounds.ts';

const long = (n: number) => 'a'.repeat(n);

describe('identifierProblem', () => {
  it('accepts names and namespaces at their limits, and values that are not strings', () => {
    assert.equal(identifierProblem({ name: long(MAX_NAME_LENGTH), namespace: long(MAX_NAMESPACE_LENGTH), object: { metadata: { name: long(MAX_NAME_LENGTH), namespace: long(MAX_NAMESPACE_LENGTH) } } }), undefined);
    assert.equal(identifierProblem({ object: { metadata: { name: 5, namespace: ['x'] } } }), undefined);
    assert.equal(identifierProblem({ object: null }), undefined);
    assert.equal(identifierProblem({}), undefined);
  });

  it('names each field one past its limit', () => {
    assert.equal(identifierProblem({ name: long(254) }), 'request.name is 254 characters long; Kubernetes names are at most 253');
    assert.equal(identifierProblem({ object: { metadata: { name: long(300) } } }), 'request.object.metadata.name is 300 characters long; Kubernetes names are at most 253');
    assert.equal(identifierProblem({ namespace: long(64) }), 'request.namespace is 64 characters long; Kubernetes namespace names are at most 63');
    assert.equal(identifierProblem({ object: { metadata: { namespace: long(70) } } }), 'request.object.metadata.namespace is 70 characters long; Kubernetes namespace names are at most 63');
  });

  it('reports the first problem in the order request.name, object name, request.namespace, object namespace', () => {
    const all = { name: long(260), namespace: long(64), object: { metadata: { name: long(261), namespace: long(65) } } };
    assert.match(identifierProblem(all)!, /^request\.name is 260/);
    assert.match(identifierProblem({ ...all, name: 'ok' })!, /^request\.object\.metadata\.name is 261/);
    assert.match(identifierProblem({ ...all, name: 'ok', object: { metadata: { namespace: long(65) } } })!, /^request\.namespace is 64/);
    assert.match(identifierProblem({ object: { metadata: { name: 'ok', namespace: long(65) } } })!, /^request\.object\.metadata\.namespace is 65/);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEntry } from '../../../src/admission/audit.ts';
import { judgementOf } from '../../../src/cli/probe-judge.ts';
import { annotationFix } from '../../../src/policy/annotations.ts';
import { Annotations } from '../../../src/contract.ts';

const refused = (message: string): AuditEntry => ({
  kind: 'Deployment',
  namespace: 'team-a',
  name: 'weather',
  verdict: 'would-refuse',
  mode: 'validate',
  patch: [],
  changes: [],
  fixes: [{ field: 'metadata.annotations', message }],
  warnings: [],
});

describe('judgementOf: what a NonCompliant Event says', () => {
  it('keeps the whole fix, a multi-line one on one line', () => {
    const message = `path must start with "/". Fix: ${annotationFix(Annotations.path, '/mcp')}`;
    const { detail } = judgementOf(refused(message));
    assert.match(detail, new RegExp(`Fix: set it in the manifest: metadata: annotations: ${Annotations.path}: "/mcp"`));
    assert.doesNotMatch(detail, /\n/);
  });

  it('keeps a fix that starts on the line after "Fix:"', () => {
    const { detail } = judgementOf(refused('the grace period is too short.\nFix:\n  kubectl annotate deployment/weather x=y'));
    assert.match(detail, /Fix: kubectl annotate deployment\/weather x=y/);
  });
});

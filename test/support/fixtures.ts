/** AdmissionReview fixtures from test/fixtures, parsed once and cloned for every use. */
import { readFileSync } from 'node:fs';

const cache = new Map<string, unknown>();

export interface FixtureReview {
  apiVersion: string;
  kind: string;
  request: {
    uid: string;
    kind: { group: string; version: string; kind: string };
    namespace?: string;
    name?: string;
    operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
    object: any;
    oldObject?: any;
    dryRun?: boolean;
  };
}

export function fixture(name: 'deployment-sse' | 'service-sse' | 'policy'): FixtureReview {
  let parsed = cache.get(name);
  if (parsed === undefined) {
    parsed = JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8'));
    cache.set(name, parsed);
  }
  return structuredClone(parsed) as FixtureReview;
}

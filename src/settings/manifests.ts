/**
 * Parses Kubernetes manifests as kubectl accepts them: multi-document YAML
 * or JSON, with `kind: List` expanded. Empty documents are skipped.
 */
import { parseAllDocuments } from 'yaml';

export class ManifestError extends Error {}

export function parseManifests(text: string, source: string): unknown[] {
  const objects: unknown[] = [];
  for (const [index, document] of parseAllDocuments(text).entries()) {
    if (document.errors.length > 0) {
      throw new ManifestError(`${source} (document ${index + 1}): ${document.errors[0]?.message}`);
    }
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ManifestError(`${source} (document ${index + 1}): expected a Kubernetes object, got ${Array.isArray(value) ? 'a list' : typeof value}`);
    }
    const object = value as Record<string, unknown>;
    if (typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items)) objects.push(...object.items);
    else objects.push(object);
  }
  return objects;
}

/**
 * Parses Kubernetes manifests as kubectl accepts them: multi-document YAML
 * or JSON, with `kind: List` expanded. Empty documents are skipped.
 */
import { parseAllDocuments } from 'yaml';

export class ManifestError extends Error {}

export function parseManifests(text: string, source: string): unknown[] {
  const objects: unknown[] = [];
  for (const [index, value] of documents(text, source).entries()) {
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

/**
 * The documents of a file. JSON goes through JSON.parse: the YAML parser
 * keeps a syntax tree per node, which for a large generated file (a
 * thousand policies) costs tens of MB that stay with the process.
 */
function documents(text: string, source: string): unknown[] {
  if (/^\s*[[{]/.test(text)) {
    try {
      return [JSON.parse(text)];
    } catch {
      // Not JSON after all (a YAML flow mapping, or a JSON error the YAML parser words better).
    }
  }
  return parseAllDocuments(text).map((document, index) => {
    if (document.errors.length > 0) {
      throw new ManifestError(`${source} (document ${index + 1}): ${document.errors[0]?.message}`);
    }
    return document.toJS({ maxAliasCount: 100 }) as unknown;
  });
}

/**
 * Reads MCPTransportPolicy objects from a YAML or JSON file (several
 * documents, or a v1 List). A bad policy is refused whole, with the file,
 * document and field path of every problem.
 */
import { readFile } from 'node:fs/promises';
import { describeFinding } from '../policy/finding.ts';
import { validateTransportPolicy, type TransportPolicy } from '../policy/transport-policy.ts';
import { parseManifests } from '../manifests/parse.ts';

export class PolicyFileError extends Error {}

export async function loadPolicyFile(path: string): Promise<TransportPolicy[]> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new PolicyFileError(`cannot read policy file ${path}: ${err.message}`);
  });
  const policies: TransportPolicy[] = [];
  const problems: string[] = [];
  for (const [index, object] of parseManifests(text, path).entries()) {
    const { policy, problems: found } = validateTransportPolicy(object);
    if (policy) policies.push(policy);
    else problems.push(...found.map((f) => `${path} (document ${index + 1}): ${describeFinding(f)}`));
  }
  if (problems.length > 0) throw new PolicyFileError(`invalid policy file:\n${problems.join('\n')}`);
  return policies;
}

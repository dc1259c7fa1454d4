import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installSuite } from '../../support/install-suite.ts';

installSuite({ title: 'kubectl apply -k deploy/', path: 'kustomize', namespace: 'mcp-admission' });
installSuite({
  title: 'the same in namespace platform-mcp (namespace: in deploy/kustomization.yaml)',
  path: 'kustomize',
  namespace: 'platform-mcp',
  edit: async (root) => {
    const file = join(root, 'deploy/kustomization.yaml');
    const text = await readFile(file, 'utf8');
    if (!/^namespace: mcp-admission$/m.test(text)) throw new Error('deploy/kustomization.yaml has no "namespace: mcp-admission" line');
    await writeFile(file, text.replace(/^namespace: mcp-admission$/m, 'namespace: platform-mcp'));
  },
});

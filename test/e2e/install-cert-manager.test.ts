/**
 * The cert-manager paths, where cert-manager cannot run (it needs a kubelet
 * and a controller manager): the README's commands with `--dry-run=server`
 * against a real API server that serves cert-manager's own CRDs
 * (test/tools/build.sh cert-manager), in mcp-admission and in a second
 * namespace. What this does not show, and cannot here: cert-manager issuing
 * the certificate and cainjector writing the caBundle.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { mustSucceed, startE2E, waitForEstablished, type E2E } from '../support/harness.ts';
import { documentedCommands, runCommands, transcript } from '../support/harness/install-commands.ts';
import { helmDir } from '../support/helm.ts';
import { copyInstallTree } from '../support/installed.ts';
import { toolPath } from '../support/tools.ts';

type Json = Record<string, any>;

for (const namespace of ['mcp-admission', 'platform-mcp']) {
  describe(`cert-manager install paths in ${namespace} (render and server-side dry run)`, () => {
    let env: E2E;
    let root: string;
    const shell = () => ({ cwd: root, kubeconfig: env.controlPlane.kubeconfig, path: [env.controlPlane.binDir, helmDir()], home: join(env.dir, 'home') });
    before(async () => {
      env = await startE2E({ webhook: false, clusterPolicies: false });
      await mustSucceed(env.kubectl, ['apply', '--server-side', '-f', toolPath('cert-manager')]);
      await waitForEstablished(env.kubectl, ['certificates.cert-manager.io', 'issuers.cert-manager.io']);
      // A dry run stores nothing, and namespaced objects need their namespace.
      await mustSucceed(env.kubectl, ['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }) });
      root = await copyInstallTree(env.dir);
      const file = join(root, 'deploy/overlays/cert-manager/kustomization.yaml');
      await writeFile(file, (await readFile(file, 'utf8')).replace(/^namespace: mcp-admission$/m, `namespace: ${namespace}`));
    });
    after(() => env?.stop());

    it('kubectl apply -k deploy/overlays/cert-manager/ --dry-run=server', async (t) => {
      const commands = documentedCommands('cert-manager').map((c) => `${c} --dry-run=server`);
      const runs = await runCommands(commands, shell());
      t.diagnostic(`transcript:\n${transcript(runs)}`);
      for (const run of runs) assert.equal(run.code, 0, transcript(runs));
      const out = runs.map((r) => r.output).join('');
      for (const name of ['certificate.cert-manager.io/mcp-admission-webhook', 'certificate.cert-manager.io/mcp-admission-ca', 'issuer.cert-manager.io/mcp-admission-ca', 'issuer.cert-manager.io/mcp-admission-selfsigned', 'deployment.apps/mcp-admission-webhook']) {
        assert.match(out, new RegExp(`^${name.replaceAll('.', '\\.')} created \\(server dry run\\)$`, 'm'));
      }
      assert.doesNotMatch(out, /Warning/);
    });

    it('helm install --set certificates.mode=certManager --dry-run=server', async (t) => {
      const commands = documentedCommands('helm-cert-manager').map((c) =>
        `${c.replaceAll('--namespace mcp-admission', `--namespace ${namespace}`)} --dry-run=server`);
      const runs = await runCommands(commands, shell());
      t.diagnostic(`transcript (manifests cut):\n${transcript(runs).replace(/\nMANIFEST:[\s\S]*$/, '\n...\n')}`);
      for (const run of runs) assert.equal(run.code, 0, transcript(runs));
      const objects = parseAllDocuments((runs.at(-1)?.output ?? '').split('\nMANIFEST:\n')[1]?.split('\nNOTES:')[0] ?? '')
        .map((d) => d.toJS() as Json | null)
        .filter((o): o is Json => o !== null);
      const serving = objects.find((o) => o.kind === 'Certificate' && o.metadata.name === 'mcp-admission-webhook');
      assert.ok(serving, 'no serving Certificate rendered');
      assert.ok(serving.spec.dnsNames.includes(`mcp-admission-webhook.${namespace}.svc`));
      for (const config of objects.filter((o) => /WebhookConfiguration$/.test(o.kind))) {
        assert.equal(config.metadata.annotations['cert-manager.io/inject-ca-from'], `${namespace}/mcp-admission-webhook`);
      }
    });
  });
}

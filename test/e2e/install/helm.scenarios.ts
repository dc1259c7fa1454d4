import { it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { getJson, manifest } from '../../support/harness.ts';
import { runCommands, transcript } from '../../support/harness/install-commands.ts';
import { helmDir } from '../../support/helm.ts';
import { installSuite } from '../../support/install-suite.ts';
import { sseServer, type Installed } from '../../support/installed.ts';

type Json = Record<string, any>;

/**
 * helm upgrade and helm uninstall, with the README's commands for
 * `namespace`. `leftBehind`: what the README says stays after uninstall
 * because the webhook, not the chart, made it.
 */
function lifecycle(namespace: string, leftBehind: string[] = []) {
  return (installed: () => Installed): void => {
    it('helm upgrade (the README command) rolls the release and the webhook keeps answering', async (t) => {
      const { env, shell } = installed();
      const runs = await runCommands([`helm upgrade mcp-admission deploy/helm/mcp-admission --namespace ${namespace} --reuse-values`], shell);
      t.diagnostic(`transcript:\n${transcript(runs)}`);
      assert.equal(runs[0]?.code, 0, transcript(runs));
      const history = await runCommands([`helm history mcp-admission --namespace ${namespace} -o json`], shell);
      const revisions = JSON.parse(history[0]?.output ?? '[]') as Json[];
      assert.deepEqual(revisions.map((r) => [r.revision, r.status]), [[1, 'superseded'], [2, 'deployed']]);
      const after = sseServer('mcp-demo', 'after-upgrade');
      const result = await env.kubectl(['apply', '-f', '-'], { input: manifest(after) });
      assert.equal(result.code, 0, result.stderr);
      const stored = await getJson<Json>(env.kubectl, ['deployment', 'after-upgrade', '-n', 'mcp-demo']);
      assert.equal(stored.spec.strategy.rollingUpdate.maxUnavailable, 0);
    });

    it('helm uninstall leaves nothing the chart made, but the CRD (kept on purpose, documented)', async (t) => {
      const { env, shell } = installed();
      const rendered = await runCommands([`helm get manifest mcp-admission --namespace ${namespace}`], shell);
      const objects = parseAllDocuments(rendered[0]?.output ?? '').map((d) => d.toJS() as Json | null).filter((o): o is Json => o !== null);
      assert.ok(objects.length > 10, rendered[0]?.output);
      const runs = await runCommands([`helm uninstall mcp-admission --namespace ${namespace}`], shell);
      t.diagnostic(`transcript:\n${transcript(runs)}`);
      assert.equal(runs[0]?.code, 0, transcript(runs));
      const left: string[] = [];
      for (const o of objects) {
        const ns = o.metadata.namespace ? ['-n', o.metadata.namespace] : [];
        const get = await env.kubectl(['get', `${o.kind}.${String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/')[0] : ''}`.replace(/\.$/, ''), o.metadata.name, ...ns, '-o', 'name']);
        if (get.code === 0) left.push(`${o.kind}/${o.metadata.name}`);
      }
      assert.deepEqual(left, []);
      const releases = await env.kubectl(['get', 'secrets', '-n', namespace, '-l', 'owner=helm', '-o', 'name']);
      assert.equal(releases.stdout.trim(), '', 'helm release records left behind');
      // Kept on purpose: Helm never deletes crds/ (that would delete every policy).
      assert.equal((await env.kubectl(['get', 'crd', 'mcptransportpolicies.mcp-admission.dev', '-o', 'name'])).code, 0);
      // Made by the webhook at run time, so not the release's: the README's
      // Uninstall names them and the command that removes them.
      for (const object of leftBehind) {
        assert.equal((await env.kubectl(['get', object, '-n', namespace, '-o', 'name'])).code, 0, `${object} is documented as left behind`);
      }
    });
  };
}

const extraPath = [helmDir()];
const status = ['lease.coordination.k8s.io/mcp-admission-webhook-status'];
const selfManaged = [...status, 'secret/mcp-admission-webhook-tls', 'lease.coordination.k8s.io/mcp-admission-webhook-certificates'];
const inNamespace = (namespace: string) => (command: string): string =>
  command
    .replace(/^certs\/generate\.sh/, `NAMESPACE=${namespace} certs/generate.sh`)
    .replaceAll('namespace mcp-admission', `namespace ${namespace}`);

installSuite({ title: 'helm install (self-managed certificates)', path: 'helm', namespace: 'mcp-admission', extraPath, more: lifecycle('mcp-admission', selfManaged) });
installSuite({
  title: 'the same in namespace platform-mcp',
  path: 'helm',
  namespace: 'platform-mcp',
  extraPath,
  rewrite: inNamespace('platform-mcp'),
  more: lifecycle('platform-mcp', selfManaged),
});
installSuite({ title: 'helm install with a certs/generate.sh certificate', path: 'helm-certs', namespace: 'mcp-admission', extraPath, more: lifecycle('mcp-admission', status) });
installSuite({ title: 'the same in namespace platform-mcp', path: 'helm-certs', namespace: 'platform-mcp', extraPath, rewrite: inNamespace('platform-mcp') });

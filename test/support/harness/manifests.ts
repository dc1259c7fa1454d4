/**
 * The manifests under deploy/, rendered by kubectl's own kustomize (the
 * code path of `kubectl apply -k`) and applied to the harness's API server.
 */
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './controlplane.ts';
import { mustSucceed, type Kubectl } from './kubectl.ts';

/** A Kubernetes object as plain JSON. */
export type KubeObject = Record<string, any>;

/** `kubectl kustomize DIR`, parsed; DIR is absolute or relative to the repository. */
export async function renderKustomization(kubectl: Kubectl, dir: string): Promise<KubeObject[]> {
  const { stdout } = await mustSucceed(kubectl, ['kustomize', resolve(REPO_ROOT, dir)]);
  return parseAllDocuments(stdout)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

/** `kubectl apply -f -` of `objects` as one List; a no-op for none. */
export async function applyObjects(kubectl: Kubectl, objects: KubeObject[], args: string[] = []): Promise<void> {
  if (objects.length === 0) return;
  await mustSucceed(kubectl, ['apply', ...args, '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  });
}

/**
 * Installs deploy/crd and waits until its CRDs are established. Resolves to
 * false when deploy/crd is empty.
 */
export async function installCrds(kubectl: Kubectl): Promise<boolean> {
  const crds = await renderKustomization(kubectl, 'deploy/crd');
  if (crds.length === 0) return false;
  await applyObjects(kubectl, crds, ['--server-side']);
  await waitForEstablished(kubectl, crds.map((crd) => crd.metadata.name as string));
  return true;
}

/**
 * Waits until every named CRD has condition Established=True, polling
 * `kubectl get`. Not `kubectl wait --for=condition=Established`: right after
 * a create the CRD's `status.conditions` can still be null, and kubectl wait
 * then fails at once (".status.conditions accessor error: <nil>") instead of
 * waiting, which made tests fail under load.
 */
export async function waitForEstablished(kubectl: Kubectl, names: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // All of them, always a List (`get crd NAME` of one name is not).
    const { code, stdout, stderr } = await kubectl(['get', 'customresourcedefinitions', '-o', 'json']);
    const established = new Set<string>();
    if (code === 0) {
      for (const crd of (JSON.parse(stdout) as { items: KubeObject[] }).items) {
        const conditions: KubeObject[] = crd.status?.conditions ?? [];
        if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) established.add(crd.metadata.name);
      }
      if (names.every((name) => established.has(name))) return;
    }
    if (Date.now() > deadline) {
      const missing = names.filter((name) => !established.has(name));
      throw new Error(`CRDs not established within ${timeoutMs} ms: ${missing.join(', ')}${code === 0 ? '' : `\n${stderr}`}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Installs examples/cluster-default-policy.yaml, the cluster default policy
 * the README has users apply after the install. Takes a
 * few seconds right after the CRD is created: kubectl waits for the new kind
 * to show up in discovery.
 */
export async function installDefaultPolicy(kubectl: Kubectl): Promise<void> {
  await mustSucceed(kubectl, ['apply', '-f', resolve(REPO_ROOT, 'examples/cluster-default-policy.yaml')]);
}

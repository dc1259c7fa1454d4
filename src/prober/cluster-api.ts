/**
 * The few Kubernetes API calls the prober makes, behind a small interface so
 * the prober can be run against a real API server (client-node) or a fake in
 * tests. The RBAC in deploy/prober grants exactly these verbs.
 */
import {
  AppsV1Api,
  CoreV1Api,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1Service,
} from '@kubernetes/client-node';
import { MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../contract.ts';

/** `app.kubernetes.io/component=mcp-server`: the only objects the prober looks at. */
export const MCP_LABEL_SELECTOR = `${MCP_COMPONENT_LABEL}=${MCP_COMPONENT_VALUE}`;

/**
 * An annotation update: a JSON merge patch of `metadata.annotations`, guarded
 * by `resourceVersion` so a write based on a stale read fails with 409 rather
 * than recording a status computed from an old object.
 */
export interface AnnotationPatch {
  resourceVersion?: string;
  annotations: Record<string, string>;
}

/** What the prober needs from the API server. */
export interface ClusterApi {
  listServices(labelSelector: string): Promise<V1Service[]>;
  listDeployments(namespace: string): Promise<V1Deployment[]>;
  readService(namespace: string, name: string): Promise<V1Service>;
  readDeployment(namespace: string, name: string): Promise<V1Deployment>;
  patchService(namespace: string, name: string, patch: AnnotationPatch): Promise<V1Service>;
  patchDeployment(namespace: string, name: string, patch: AnnotationPatch): Promise<V1Deployment>;
  createEvent(namespace: string, event: CoreV1Event): Promise<void>;
}

function mergePatchBody(patch: AnnotationPatch): object {
  return {
    metadata: {
      ...(patch.resourceVersion ? { resourceVersion: patch.resourceVersion } : {}),
      annotations: patch.annotations,
    },
  };
}

/** {@link ClusterApi} over a KubeConfig (in-cluster or from a kubeconfig file). */
export function kubeClusterApi(kubeConfig: KubeConfig): ClusterApi {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return {
    listServices: async (labelSelector) => (await core.listServiceForAllNamespaces({ labelSelector })).items,
    listDeployments: async (namespace) => (await apps.listNamespacedDeployment({ namespace })).items,
    readService: (namespace, name) => core.readNamespacedService({ namespace, name }),
    readDeployment: (namespace, name) => apps.readNamespacedDeployment({ namespace, name }),
    patchService: (namespace, name, patch) =>
      core.patchNamespacedService({ namespace, name, body: mergePatchBody(patch) }, mergePatch),
    patchDeployment: (namespace, name, patch) =>
      apps.patchNamespacedDeployment({ namespace, name, body: mergePatchBody(patch) }, mergePatch),
    createEvent: async (namespace, event) => {
      await core.createNamespacedEvent({ namespace, body: event });
    },
  };
}

/** A watched, cached set of objects: what `makeInformer` returns, narrowed to what we use. */
export interface ObjectSource<T extends KubernetesObject> {
  on(verb: 'add' | 'update' | 'delete', callback: (object: T) => void): void;
  on(verb: 'error', callback: (err?: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): ReadonlyArray<T>;
}

/** The watched objects of `probe --watch`. */
export interface WatchSources {
  services: ObjectSource<V1Service>;
  deployments: ObjectSource<V1Deployment>;
}

/**
 * Informers on MCP-labelled Services and Deployments in all namespaces.
 * client-node's `update` callback gets the new object only, so the watcher
 * remembers what it last saw to notice `revalidate` changes.
 */
export function mcpInformers(kubeConfig: KubeConfig): WatchSources {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const services = makeInformer<V1Service>(
    kubeConfig,
    '/api/v1/services',
    () => core.listServiceForAllNamespaces({ labelSelector: MCP_LABEL_SELECTOR }),
    MCP_LABEL_SELECTOR,
  );
  const deployments = makeInformer<V1Deployment>(
    kubeConfig,
    '/apis/apps/v1/deployments',
    () => apps.listDeploymentForAllNamespaces({ labelSelector: MCP_LABEL_SELECTOR }),
    MCP_LABEL_SELECTOR,
  );
  return {
    services: services as unknown as ObjectSource<V1Service>,
    deployments: deployments as unknown as ObjectSource<V1Deployment>,
  };
}

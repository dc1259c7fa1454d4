/**
 * The few Kubernetes API calls the prober makes, behind a small interface so
 * the prober can be run against a real API server (client-node) or a fake in
 * tests. The RBAC in deploy/prober grants exactly these verbs.
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  NetworkingV1Api,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1EndpointSlice,
  type V1Ingress,
  type V1ObjectMeta,
  type V1Service,
} from '@kubernetes/client-node';
import { MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../contract.ts';
import { apiPath, type KubeClient } from '../kubernetes/kube-client.ts';

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

/** One operation of a JSON patch (RFC 6902), as the prober sends them to Events. */
export type JsonPatchOperation = { op: 'test' | 'add' | 'replace'; path: string; value: unknown };

/** What the prober needs from the API server. */
export interface ClusterApi {
  listServices(labelSelector: string): Promise<V1Service[]>;
  /** The MCP-labelled Deployments of `namespace`, or of every namespace when none is given. */
  listDeployments(namespace?: string): Promise<V1Deployment[]>;
  readService(namespace: string, name: string): Promise<V1Service>;
  readDeployment(namespace: string, name: string): Promise<V1Deployment>;
  patchService(namespace: string, name: string, patch: AnnotationPatch): Promise<V1Service>;
  patchDeployment(namespace: string, name: string, patch: AnnotationPatch): Promise<V1Deployment>;
  createEvent(namespace: string, event: CoreV1Event): Promise<void>;
  /** A JSON patch of one Event; the Event as stored after it (event-recorder.ts). */
  patchEvent(namespace: string, name: string, operations: JsonPatchOperation[]): Promise<CoreV1Event>;
  /** Every Ingress, labelled or not: the unlabelled ones to SSE servers are a finding. */
  listIngresses(): Promise<V1Ingress[]>;
  /** Every Gateway API HTTPRoute; none when the CRD is not installed. */
  listHTTPRoutes(): Promise<KubernetesObject[]>;
  /** The EndpointSlices labelled with `kubernetes.io/service-name: service`. */
  listEndpointSlices(namespace: string, service: string): Promise<V1EndpointSlice[]>;
  /**
   * The metadata of the pods in `namespace` that match both selectors: a
   * metadata-only list, so no pod spec is ever read (see pod-endpoint.ts).
   */
  listPodMetadata(namespace: string, selectors: { labelSelector: string; fieldSelector: string }): Promise<V1ObjectMeta[]>;
}

/** Asks the API server for PartialObjectMetadataList: metadata without spec or status. */
const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

function mergePatchBody(patch: AnnotationPatch): object {
  return {
    metadata: {
      ...(patch.resourceVersion ? { resourceVersion: patch.resourceVersion } : {}),
      annotations: patch.annotations,
    },
  };
}

/**
 * {@link ClusterApi} over a KubeConfig (in-cluster or from a kubeconfig
 * file), and our own client for the metadata-only pod lookups: one per
 * probed server, each on a kept-alive connection. client-node's typed calls
 * deserialize into full objects and fail on the `items: null` of an empty
 * PartialObjectMetadataList, and its plain HTTPS options keep no connection.
 */
export function kubeClusterApi(kubeConfig: KubeConfig, client: KubeClient): ClusterApi {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
  const networking = kubeConfig.makeApiClient(NetworkingV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  return {
    listServices: async (labelSelector) => (await core.listServiceForAllNamespaces({ labelSelector })).items,
    // Labelled ones only: the webhook acts on no other, and the prober reads no other pod template.
    listDeployments: async (namespace) =>
      (namespace === undefined
        ? await apps.listDeploymentForAllNamespaces({ labelSelector: MCP_LABEL_SELECTOR })
        : await apps.listNamespacedDeployment({ namespace, labelSelector: MCP_LABEL_SELECTOR })
      ).items,
    readService: (namespace, name) => core.readNamespacedService({ namespace, name }),
    readDeployment: (namespace, name) => apps.readNamespacedDeployment({ namespace, name }),
    patchService: (namespace, name, patch) =>
      core.patchNamespacedService({ namespace, name, body: mergePatchBody(patch) }, mergePatch),
    patchDeployment: (namespace, name, patch) =>
      apps.patchNamespacedDeployment({ namespace, name, body: mergePatchBody(patch) }, mergePatch),
    createEvent: async (namespace, event) => {
      await core.createNamespacedEvent({ namespace, body: event });
    },
    patchEvent: (namespace, name, operations) => core.patchNamespacedEvent({ namespace, name, body: operations }, jsonPatch),
    listIngresses: async () => (await networking.listIngressForAllNamespaces()).items,
    listHTTPRoutes: async () => {
      try {
        const list = (await custom.listClusterCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' })) as {
          items?: KubernetesObject[];
        };
        // A list leaves apiVersion and kind out of its items.
        return (list.items ?? []).map((route) => ({ ...route, apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute' }));
      } catch (err) {
        // No Gateway API CRDs, so no HTTPRoutes: nothing to report, not a failure.
        if ((err as { code?: unknown }).code === 404) return [];
        throw err;
      }
    },
    listEndpointSlices: async (namespace, service) =>
      (await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` })).items,
    listPodMetadata: async (namespace, { labelSelector, fieldSelector }) => {
      // Bounded: the field selector names one pod IP, so one pod answers.
      const list = await client.request<{ items?: Array<{ metadata?: V1ObjectMeta }> | null }>('GET', apiPath('/api/v1/namespaces', namespace, 'pods'), {
        query: { labelSelector, fieldSelector, limit: 10 },
        accept: METADATA_ONLY,
      });
      return (list.items ?? []).map((item) => item.metadata ?? {});
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

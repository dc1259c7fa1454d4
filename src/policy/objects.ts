/**
 * The parts of Deployments and Services the rules read, as loose zod shapes:
 * every field the rules touch is type-checked, every other field passes
 * through untouched. An object that fails its shape "does not match its
 * resource" and is refused before any rule runs, so rules can trust types.
 * A shape parses an object into the same JSON it was given: no defaults, no
 * transforms (test/unit/policy/objects.test.ts holds them to it).
 */
import { z } from 'zod';

const intOrString = z.union([z.number().int(), z.string()]);
const stringMap = z.record(z.string(), z.string());

export const ObjectMetaShape = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  labels: stringMap.nullish(),
  annotations: stringMap.nullish(),
  generation: z.number().optional(),
});

/** The fields every object begins with: apiVersion and kind (optional in a manifest) and metadata. */
const objectHeader = {
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMetaShape,
};

const ContainerPortShape = z.looseObject({
  containerPort: z.number().int(),
  name: z.string().optional(),
});

const ContainerShape = z.looseObject({
  name: z.string(),
  ports: z.array(ContainerPortShape).nullish(),
  readinessProbe: z.looseObject({}).nullish(),
  lifecycle: z
    .looseObject({
      preStop: z.looseObject({}).nullish(),
    })
    .nullish(),
});

export const DeploymentShape = z.looseObject({
  ...objectHeader,
  spec: z.looseObject({
    replicas: z.number().int().nullish(),
    strategy: z
      .looseObject({
        type: z.string().optional(),
        rollingUpdate: z
          .looseObject({
            maxSurge: intOrString.nullish(),
            maxUnavailable: intOrString.nullish(),
          })
          .nullish(),
      })
      .nullish(),
    template: z.looseObject({
      metadata: ObjectMetaShape.partial().nullish(),
      spec: z.looseObject({
        terminationGracePeriodSeconds: z.number().int().nullish(),
        containers: z.array(ContainerShape),
      }),
    }),
  }),
});

/**
 * What the front door reads of a labelled Deployment behind a route's
 * Service (front-door.ts `backendOf`): its metadata, for the protocol its
 * annotations declare or the prober found, and its pod template's labels,
 * to match the Service's selector. The front-door cache keeps only this.
 */
export const DeploymentFactsShape = z.looseObject({
  metadata: ObjectMetaShape,
  spec: z.looseObject({
    template: z.looseObject({
      metadata: ObjectMetaShape.partial().nullish(),
    }),
  }),
});

const ServicePortShape = z.looseObject({
  port: z.number().int(),
  name: z.string().optional(),
  targetPort: intOrString.optional(),
});

export const ServiceShape = z.looseObject({
  ...objectHeader,
  spec: z
    .looseObject({
      type: z.string().optional(),
      clusterIP: z.string().optional(),
      ports: z.array(ServicePortShape).nullish(),
      selector: stringMap.nullish(),
      sessionAffinity: z.string().optional(),
      sessionAffinityConfig: z
        .looseObject({
          clientIP: z.looseObject({ timeoutSeconds: z.number().int().nullish() }).nullish(),
        })
        .nullish(),
      externalTrafficPolicy: z.string().optional(),
    })
    // Optional, not defaulted: the type must not promise a spec the object
    // lacks, since patches are computed against the object as received.
    .optional(),
});

export type Deployment = z.infer<typeof DeploymentShape>;
export type DeploymentFacts = z.infer<typeof DeploymentFactsShape>;
export type Service = z.infer<typeof ServiceShape>;
export type Container = z.infer<typeof ContainerShape>;
export type ServicePort = z.infer<typeof ServicePortShape>;
export type ObjectMeta = z.infer<typeof ObjectMetaShape>;

/**
 * `networking.k8s.io/v1 Ingress`: the backends and the class, the parts the
 * front-door rules read (src/policy/ingress.ts).
 */
const IngressServiceBackendShape = z.looseObject({
  name: z.string(),
  port: z.looseObject({ number: z.number().int().optional(), name: z.string().optional() }).nullish(),
});
const IngressBackendShape = z.looseObject({ service: IngressServiceBackendShape.nullish() });

export const IngressShape = z.looseObject({
  ...objectHeader,
  spec: z
    .looseObject({
      ingressClassName: z.string().nullish(),
      defaultBackend: IngressBackendShape.nullish(),
      rules: z
        .array(
          z.looseObject({
            http: z.looseObject({ paths: z.array(z.looseObject({ path: z.string().optional(), backend: IngressBackendShape })) }).nullish(),
          }),
        )
        .nullish(),
    })
    .optional(),
});

/**
 * `gateway.networking.k8s.io/v1 HTTPRoute`: parents, backends and the
 * per-rule timeouts (src/policy/http-route.ts). Durations stay strings here;
 * the rules parse them (Gateway API GEP-2257).
 */
const ParentRefShape = z.looseObject({
  group: z.string().optional(),
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string(),
});
const BackendRefShape = z.looseObject({
  group: z.string().optional(),
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string(),
  port: z.number().int().optional(),
});
export const HTTPRouteShape = z.looseObject({
  ...objectHeader,
  spec: z
    .looseObject({
      parentRefs: z.array(ParentRefShape).nullish(),
      rules: z
        .array(
          z.looseObject({
            backendRefs: z.array(BackendRefShape).nullish(),
            timeouts: z.looseObject({ request: z.string().optional(), backendRequest: z.string().optional() }).nullish(),
          }),
        )
        .nullish(),
    })
    .optional(),
});

export type Ingress = z.infer<typeof IngressShape>;
export type HTTPRoute = z.infer<typeof HTTPRouteShape>;

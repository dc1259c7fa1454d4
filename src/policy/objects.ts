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
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMetaShape,
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

const ServicePortShape = z.looseObject({
  port: z.number().int(),
  name: z.string().optional(),
  targetPort: intOrString.optional(),
});

export const ServiceShape = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMetaShape,
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
export type Service = z.infer<typeof ServiceShape>;
export type Container = z.infer<typeof ContainerShape>;
export type ServicePort = z.infer<typeof ServicePortShape>;
export type ObjectMeta = z.infer<typeof ObjectMetaShape>;

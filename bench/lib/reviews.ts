/**
 * AdmissionReview bodies for the admission benchmark: the SSE Deployment of
 * `test/fixtures/deployment-sse.json` padded the way real manifests are
 * (recommended labels, env vars, a volume, security context, and the
 * `last-applied-configuration` annotation kubectl writes) to about 3 KB, and
 * the Service of `test/fixtures/service-sse.json` as it is.
 *
 * Each request gets its own uid, as the API server sends, so the client can
 * check that the answer is for the request it sent.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MCP_COMPONENT_LABEL, MCP_COMPONENT_VALUE } from '../../src/contract.ts';
import { mutateDeployment } from '../../src/policy/deployment.ts';
import type { Deployment } from '../../src/policy/objects.ts';
import { BUILT_IN_SETTINGS } from '../../src/policy/transport-settings.ts';

/** One kind of request the load generator sends. */
export interface RequestKind {
  name: string;
  path: '/mutate' | '/validate';
  /** Serialized bodies, each with a distinct uid, cycled through. */
  bodies: Buffer[];
  uids: string[];
}

type Review = {
  request: { uid: string; object: Record<string, any> };
} & Record<string, unknown>;

function fixture(name: string): Review {
  return JSON.parse(readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8')) as Review;
}

/** The Deployment fixture padded to what a real MCP server's Deployment looks like (~3 KB review). */
export function paddedDeploymentReview(): Review {
  const review = fixture('deployment-sse.json');
  const deployment = review.request.object;
  const labels = {
    app: 'weather',
    [MCP_COMPONENT_LABEL]: MCP_COMPONENT_VALUE,
    'app.kubernetes.io/name': 'weather-mcp',
    'app.kubernetes.io/instance': 'weather-prod',
    'app.kubernetes.io/version': '1.4.2',
    'app.kubernetes.io/part-of': 'assistant-tools',
    'app.kubernetes.io/managed-by': 'kubectl',
    team: 'platform-ai',
  };
  deployment.metadata.labels = labels;
  const container = deployment.spec.template.spec.containers[0];
  container.args = ['--transport', 'sse', '--port', '8080', '--log-format', 'json'];
  container.env = [
    { name: 'LOG_LEVEL', value: 'info' },
    { name: 'MCP_TRANSPORT', value: 'sse' },
    { name: 'WEATHER_API_URL', value: 'https://api.weather.example.com/v3' },
    { name: 'WEATHER_API_KEY', valueFrom: { secretKeyRef: { name: 'weather-api', key: 'token' } } },
    { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
  ];
  container.resources.limits = { cpu: '500m', memory: '256Mi' };
  container.securityContext = { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
  container.volumeMounts = [{ name: 'cache', mountPath: '/var/cache/weather' }];
  deployment.spec.template.metadata.labels = { app: 'weather', 'app.kubernetes.io/name': 'weather-mcp' };
  deployment.spec.template.spec.volumes = [{ name: 'cache', emptyDir: { sizeLimit: '64Mi' } }];
  deployment.spec.template.spec.serviceAccountName = 'weather-mcp';
  // kubectl apply stores the manifest as applied (without server defaults) in this annotation.
  const applied = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'weather', namespace: 'tools', labels: { app: 'weather', [MCP_COMPONENT_LABEL]: MCP_COMPONENT_VALUE, 'app.kubernetes.io/version': '1.4.2' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'weather' } },
      template: {
        metadata: { labels: { app: 'weather' } },
        spec: { containers: [{ name: 'server', image: container.image, ports: [{ name: 'mcp', containerPort: 8080 }] }] },
      },
    },
  };
  deployment.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'] = JSON.stringify(applied) + '\n';
  return review;
}

export function serviceReview(): Review {
  return fixture('service-sse.json');
}

function pool(name: string, path: RequestKind['path'], review: Review, count: number): RequestKind {
  const bodies: Buffer[] = [];
  const uids: string[] = [];
  for (let i = 0; i < count; i++) {
    const uid = randomUUID();
    review.request.uid = uid;
    bodies.push(Buffer.from(JSON.stringify(review)));
    uids.push(uid);
  }
  return { name, path, bodies, uids };
}

/**
 * The request mix, sent round-robin: Deployment to /mutate, the Deployment
 * as the mutating webhook left it to /validate (the API server validates the
 * mutated object, so in steady state /validate allows), Service to /mutate.
 */
export function requestMix(count = 256): RequestKind[] {
  const deployment = paddedDeploymentReview();
  const mutated = structuredClone(deployment);
  mutated.request.object = mutateDeployment(mutated.request.object as Deployment, { ...BUILT_IN_SETTINGS, sources: [] }).object;
  return [
    pool('Deployment /mutate', '/mutate', deployment, count),
    pool('Deployment /validate', '/validate', mutated, count),
    pool('Service /mutate', '/mutate', serviceReview(), count),
  ];
}

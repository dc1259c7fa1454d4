import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Annotations } from '../../../src/contract.ts';
import { mutateDeployment, validateDeployment } from '../../../src/policy/deployment.ts';
import type { Deployment } from '../../../src/policy/objects.ts';
import { BUILT_IN_SETTINGS, type TransportSettings } from '../../../src/policy/transport-settings.ts';
import { fixture } from '../../support/fixtures.ts';

/** The fixture's Deployment as the API server sends it: defaulted to RollingUpdate 25%/25%, grace 30. */
const deployment = (): Deployment => fixture('deployment-sse').request.object;
const settings = (overrides: Partial<TransportSettings> = {}): TransportSettings => ({ ...BUILT_IN_SETTINGS, sources: [], ...overrides });

/** Mutation, then validation of the result: what a user gets from the two webhooks in a row. */
function judge(object: Deployment, with_: TransportSettings = settings()) {
  const mutation = mutateDeployment(object, with_);
  const verdict = validateDeployment(mutation.object, with_);
  return {
    object: mutation.object,
    changes: mutation.changes,
    denied: verdict.denials.map((d) => d.field),
    warned: verdict.warnings.map((w) => w.field),
    denials: verdict.denials,
  };
}

const annotate = (d: Deployment, key: string, value: string) => {
  d.metadata.annotations = { ...d.metadata.annotations, [key]: value };
  return d;
};
const setStrategy = (d: Deployment, strategy: Deployment['spec']['strategy']) => {
  d.spec.strategy = strategy;
  return d;
};

interface Case {
  name: string;
  object: Deployment;
  settings?: TransportSettings;
  strategy?: unknown;
  grace?: number;
  changed: boolean;
  denied?: string[];
}

const cases: Case[] = [
  {
    name: 'defaulted SSE Deployment gets maxUnavailable 0 and the 120 s grace period',
    object: deployment(),
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
    grace: 120,
    changed: true,
  },
  {
    name: 'no strategy at all (offline manifest) becomes the safe rolling update',
    object: setStrategy(deployment(), undefined),
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
    changed: true,
  },
  {
    name: 'integer maxUnavailable 1 becomes 0, integer maxSurge 2 is kept',
    object: setStrategy(deployment(), { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 1 } }),
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } },
    changed: true,
  },
  {
    name: 'percent maxSurge 50% chosen by the user is kept',
    object: setStrategy(deployment(), { type: 'RollingUpdate', rollingUpdate: { maxSurge: '50%', maxUnavailable: '10%' } }),
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '50%', maxUnavailable: 0 } },
    changed: true,
  },
  {
    name: 'the defaulted 25% surge follows policy maxSurge',
    object: deployment(),
    settings: settings({ maxSurge: 1 }),
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    changed: true,
  },
  {
    name: 'explicit maxSurge 0 is refused, not overridden',
    object: setStrategy(deployment(), { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } }),
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
    changed: true,
    denied: ['spec.strategy.rollingUpdate.maxSurge', 'spec.strategy.rollingUpdate.maxUnavailable'],
  },
  {
    name: 'maxSurge "0%" counts as zero',
    object: setStrategy(deployment(), { type: 'RollingUpdate', rollingUpdate: { maxSurge: '0%', maxUnavailable: '25%' } }),
    changed: true,
    denied: ['spec.strategy.rollingUpdate.maxSurge', 'spec.strategy.rollingUpdate.maxUnavailable'],
  },
  {
    name: 'Recreate is refused with the fix, never rewritten',
    object: setStrategy(deployment(), { type: 'Recreate' }),
    strategy: { type: 'Recreate' },
    grace: 120,
    changed: true,
    denied: ['spec.strategy.type'],
  },
  {
    name: 'a grace period already larger than the default is kept',
    object: (() => {
      const d = setStrategy(deployment(), { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } });
      d.spec.template.spec.terminationGracePeriodSeconds = 600;
      return d;
    })(),
    grace: 600,
    changed: false,
  },
  {
    name: 'the grace annotation within bounds raises the grace period to it',
    object: annotate(deployment(), Annotations.terminationGracePeriodSeconds, '300'),
    grace: 300,
    changed: true,
  },
  {
    name: 'the grace annotation never lowers a larger grace period',
    object: (() => {
      const d = annotate(deployment(), Annotations.terminationGracePeriodSeconds, '60');
      d.spec.template.spec.terminationGracePeriodSeconds = 900;
      return d;
    })(),
    grace: 900,
    changed: true,
  },
  {
    name: 'an already safe Deployment is left exactly as it is',
    object: (() => {
      const d = setStrategy(deployment(), { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } });
      d.spec.template.spec.terminationGracePeriodSeconds = 120;
      return d;
    })(),
    changed: false,
  },
  {
    name: 'streamable-http is left alone',
    object: annotate(deployment(), Annotations.protocol, 'streamable-http'),
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    grace: 30,
    changed: false,
  },
  {
    name: 'a detected streamable-http server is left alone',
    object: annotate(deployment(), Annotations.detectedProtocol, 'streamable-http'),
    grace: 30,
    changed: false,
  },
  {
    name: 'an explicit protocol wins over the detected one',
    object: annotate(annotate(deployment(), Annotations.detectedProtocol, 'streamable-http'), Annotations.protocol, 'sse'),
    grace: 120,
    changed: true,
  },
  {
    name: 'undetectedProtocol streamable-http leaves an undetected server alone',
    object: deployment(),
    settings: settings({ undetectedProtocol: 'streamable-http' }),
    grace: 30,
    changed: false,
  },
  {
    name: 'an invalid annotation stops mutation and is reported with the unsafe fields',
    object: annotate(deployment(), Annotations.terminationGracePeriodSeconds, 'two minutes'),
    grace: 30,
    changed: false,
    denied: [
      `metadata.annotations[${Annotations.terminationGracePeriodSeconds}]`,
      'spec.strategy.rollingUpdate.maxUnavailable',
      'spec.template.spec.terminationGracePeriodSeconds',
    ],
  },
];

describe('Deployment rules', () => {
  for (const c of cases) {
    it(c.name, () => {
      const result = judge(c.object, c.settings);
      assert.equal(result.changes.length > 0, c.changed, `changes: ${result.changes.join('; ')}`);
      if (c.strategy !== undefined) assert.deepEqual(result.object.spec.strategy, c.strategy);
      if (c.grace !== undefined) assert.equal(result.object.spec.template.spec.terminationGracePeriodSeconds ?? 30, c.grace);
      assert.deepEqual(result.denied, c.denied ?? []);
      if (c.changed) assert.match(result.object.metadata.annotations?.[Annotations.applied] ?? '', /^SSE settings: /);
    });
  }

  it('works on a copy: the input object is never modified', () => {
    const input = deployment();
    const before = structuredClone(input);
    mutateDeployment(input, settings());
    assert.deepEqual(input, before);
  });

  it('is idempotent: a second pass over the result changes nothing', () => {
    for (const c of cases) {
      const first = mutateDeployment(c.object, c.settings ?? settings());
      const second = mutateDeployment(first.object, c.settings ?? settings());
      assert.deepEqual(second.changes, [], c.name);
      assert.equal(second.object, first.object, c.name);
    }
  });

  it('a re-apply that resets a value the webhook set is mended back to the very same object', () => {
    const stored = mutateDeployment(deployment(), settings()).object;
    const reapplied = structuredClone(stored);
    reapplied.spec.template.spec.terminationGracePeriodSeconds = 30;
    const mended = mutateDeployment(reapplied, settings());
    assert.deepEqual(mended.changes, ['terminationGracePeriodSeconds 30 -> 120']);
    assert.deepEqual(mended.object, stored);
  });

  it('every denial explains itself and carries a fix', () => {
    const { denials } = judge(setStrategy(deployment(), { type: 'Recreate' }), settings());
    const message = denials[0]?.message ?? '';
    assert.match(message, /cuts every open SSE stream/);
    assert.match(message, /type: RollingUpdate\n\s+rollingUpdate:\n\s+maxSurge: "25%"\n\s+maxUnavailable: 0/);
    assert.match(message, /kubectl patch deployment\/weather -n tools --type=merge -p '\{"spec":\{"strategy":\{"type":"RollingUpdate"/);
    const patchJson = /-p '(.*)'$/m.exec(message)?.[1];
    assert.deepEqual(JSON.parse(patchJson ?? ''), { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } } } });
  });

  it("each strategy denial ends with the same fix, word for word", () => {
    const fix =
      'Fix:\n  spec:\n    strategy:\n      type: RollingUpdate\n      rollingUpdate:\n        maxSurge: "25%"\n        maxUnavailable: 0\n' +
      `or: kubectl patch deployment/weather -n tools --type=merge -p '{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":0}}}}'`;
    const recreate = judge(setStrategy(deployment(), { type: 'Recreate' }), settings()).denials;
    const rolling = judge(setStrategy(deployment(), { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } }), settings()).denials;
    const strategy = [...recreate, ...rolling].filter((d) => d.field.startsWith('spec.strategy'));
    assert.deepEqual(strategy.map((d) => d.rule), ['deployment-recreate', 'deployment-max-surge-zero', 'deployment-max-unavailable']);
    for (const d of strategy) assert.ok(d.message.endsWith(`. ${fix}`), d.message);
  });
});

describe('Deployment warnings', () => {
  it('warns about one replica and a missing readiness probe on the MCP container', () => {
    const d = annotate(deployment(), Annotations.detectedProtocol, 'sse');
    d.spec.replicas = 1;
    delete d.spec.template.spec.containers[0]!.readinessProbe;
    assert.deepEqual(judge(d).warned, ['spec.replicas', 'spec.template.spec.containers[0].readinessProbe']);
  });

  it('warns that the protocol is not yet detected, and stops once it is', () => {
    const d = annotate(deployment(), Annotations.detectedProtocol, 'unknown');
    assert.ok(judge(d).warned.includes(`metadata.annotations[${Annotations.detectedProtocol}]`));
    const detected = annotate(deployment(), Annotations.detectedProtocol, 'sse');
    assert.ok(!judge(detected).warned.includes(`metadata.annotations[${Annotations.detectedProtocol}]`));
  });

  it('never blocks on a warning', () => {
    const d = deployment();
    d.spec.replicas = 1;
    assert.deepEqual(judge(d).denied, []);
  });
});

describe('the MCP container in a multi-container pod', () => {
  const withSidecar = (): Deployment => {
    const d = deployment();
    d.spec.template.spec.containers.unshift({ name: 'istio-proxy', ports: [{ name: 'http-envoy-prom', containerPort: 15090 }] } as never);
    return d;
  };

  it('is found by the port named mcp, and gets the preStop sleep', () => {
    const result = judge(withSidecar(), settings({ preStopSleepSeconds: 10 }));
    const containers = result.object.spec.template.spec.containers;
    assert.equal(containers[0]!.lifecycle, undefined);
    assert.deepEqual(containers[1]!.lifecycle, { preStop: { sleep: { seconds: 10 } } });
  });

  it('is found by the port annotation, by number', () => {
    const d = annotate(withSidecar(), Annotations.port, '15090');
    const result = judge(d, settings({ preStopSleepSeconds: 10 }));
    assert.deepEqual(result.object.spec.template.spec.containers[0]!.lifecycle, { preStop: { sleep: { seconds: 10 } } });
  });

  it('keeps a preStop hook the user wrote', () => {
    const d = withSidecar();
    d.spec.template.spec.containers[1]!.lifecycle = { preStop: { exec: { command: ['drain'] } } };
    const result = judge(d, settings({ preStopSleepSeconds: 10 }));
    assert.deepEqual(result.object.spec.template.spec.containers[1]!.lifecycle, { preStop: { exec: { command: ['drain'] } } });
  });

  it('is named in the readiness warning by its index', () => {
    const d = withSidecar();
    delete d.spec.template.spec.containers[1]!.readinessProbe;
    assert.ok(judge(d).warned.includes('spec.template.spec.containers[1].readinessProbe'));
  });

  it('a validate-mode object without preStop is refused when policy asks for one', () => {
    const verdict = validateDeployment(withSidecar(), settings({ preStopSleepSeconds: 10 }));
    assert.ok(verdict.denials.some((d) => d.field === 'spec.template.spec.containers[1].lifecycle.preStop'));
  });
});

/** Applies a JSON merge patch (RFC 7386), as `kubectl patch --type=merge` does. */
function mergePatch(target: any, patch: any): any {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

describe('one desired state: the fix validation suggests is what mutation applies', () => {
  const variants: Array<[string, () => Deployment, TransportSettings]> = [
    ['built-in settings', deployment, settings()],
    ['policy maxSurge 50%', deployment, settings({ maxSurge: '50%' })],
    ['policy maxSurge 2', deployment, settings({ maxSurge: 2 })],
    ['policy maxSurge 50%, user maxUnavailable 1', () => setStrategy(deployment(), { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } }), settings({ maxSurge: '50%' })],
    ['policy maxSurge 50%, user maxSurge 3', () => setStrategy(deployment(), { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: '25%' } }), settings({ maxSurge: '50%' })],
    ['policy grace 300', deployment, settings({ terminationGracePeriodSeconds: 300 })],
  ];
  for (const [name, make, with_] of variants) {
    it(name, () => {
      const mutated = mutateDeployment(make(), with_).object;
      let fixed: any = make();
      for (const denial of validateDeployment(make(), { ...with_, mode: 'validate' }).denials) {
        const patch = /-p '(.*)'$/m.exec(denial.message)?.[1];
        assert.ok(patch, `${denial.field} carries a kubectl patch`);
        fixed = mergePatch(fixed, JSON.parse(patch));
      }
      assert.deepEqual(fixed.spec.strategy, mutated.spec.strategy);
      assert.equal(fixed.spec.template.spec.terminationGracePeriodSeconds, mutated.spec.template.spec.terminationGracePeriodSeconds);
      assert.deepEqual(validateDeployment(fixed, with_).denials, []);
    });
  }
});

describe('a preStop sleep never outlasts the grace period in force', () => {
  /** What kube-apiserver checks (pkg/apis/core/validation: validateSleepAction), made strict: time must be left to drain. */
  function sleepsFit(d: Deployment): boolean {
    const grace = d.spec.template.spec.terminationGracePeriodSeconds ?? 30;
    return d.spec.template.spec.containers.every((c) => {
      const seconds = (c.lifecycle?.preStop as { sleep?: { seconds: number } } | undefined)?.sleep?.seconds;
      return seconds === undefined || seconds < grace;
    });
  }

  it('policy preStopSleepSeconds 200 alone (grace 120): the mutated object is one the API server accepts', () => {
    const with_ = settings({ preStopSleepSeconds: 200 });
    const result = judge(deployment(), with_);
    assert.ok(sleepsFit(result.object), JSON.stringify(result.object.spec.template.spec));
    assert.deepEqual(result.denied, []);
    assert.ok(result.warned.includes('spec.template.spec.containers[0].lifecycle.preStop'), result.warned.join(', '));
  });

  it('a grace annotation below the policy sleep: the sleep is left out and said so', () => {
    const d = annotate(deployment(), Annotations.terminationGracePeriodSeconds, '30');
    const result = judge(d, settings({ preStopSleepSeconds: 45 }));
    assert.equal(result.object.spec.template.spec.terminationGracePeriodSeconds, 30);
    assert.ok(sleepsFit(result.object));
    assert.deepEqual(result.denied, []);
  });

  it('a sleep that fits is added, and validate mode asks for that same sleep', () => {
    const with_ = settings({ preStopSleepSeconds: 100 });
    const result = judge(deployment(), with_);
    assert.deepEqual(result.object.spec.template.spec.containers[0]!.lifecycle, { preStop: { sleep: { seconds: 100 } } });
    assert.ok(sleepsFit(result.object));
    const refused = validateDeployment(deployment(), with_).denials.map((d) => d.field);
    assert.ok(refused.includes('spec.template.spec.containers[0].lifecycle.preStop'));
  });

  it('validate mode does not ask for a sleep that cannot fit', () => {
    const refused = validateDeployment(deployment(), settings({ preStopSleepSeconds: 200 })).denials.map((d) => d.field);
    assert.ok(!refused.includes('spec.template.spec.containers[0].lifecycle.preStop'), refused.join(', '));
  });
});

/**
 * What to do next with self-managed certificates, given what is stored and
 * the time: one step at a time, so the rotator (rotator.ts) can write it,
 * read back what it wrote and plan again. Pure: facts in, a step out.
 *
 * The order of a CA rotation is the one that lets no request fail (as
 * open-policy-agent/cert-controller and Kyverno do it, with the overlap made
 * explicit):
 * 1. a new CA joins the bundle beside the old one (`add-authority`);
 * 2. the bundle goes into every webhook entry (`inject-bundle`), and the
 *    API server is given `propagationMs` to see it;
 * 3. only then is a serving certificate from the new CA issued
 *    (`issue-serving`); replicas switch to it as they see the Secret;
 * 4. the old CA leaves the bundle (`retire-authorities`) only once no
 *    serving certificate it signed can still be valid: the last one it
 *    signed has expired (its notAfter is recorded at the switch as
 *    `retireAfter`). A replica that never saw the switch serves a
 *    certificate that the bundle still trusts until that moment.
 */

/** A CA certificate in the stored bundle. */
export interface AuthorityFacts {
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
}

/** The stored serving certificate. */
export interface ServingFacts {
  notAfter: Date;
  /** Fingerprint of the bundle CA that signed it; undefined when none did. */
  issuer?: string;
  /** Its subjectAltNames. */
  names: string[];
  /** False when tls.key is missing or is not the certificate's key. */
  keyMatches: boolean;
}

/** What the Secret holds, as facts. */
export interface StoredFacts {
  /** CAs in `ca.crt`, in stored order; unparseable blocks are absent. */
  authorities: AuthorityFacts[];
  /** The CA whose key `ca.key` holds; undefined when there is none. */
  signing?: string;
  serving?: ServingFacts;
  /** When the present bundle was last written into the webhook configurations, if recorded for this bundle. */
  injectedAt?: Date;
  /** Earliest time the CAs other than the signing one may leave the bundle. */
  retireAfter?: Date;
}

/** Lifetimes and thresholds, in milliseconds. */
export interface RotationPolicy {
  caLifetimeMs: number;
  /** A CA with less than this left is replaced. */
  caRenewBeforeMs: number;
  servingLifetimeMs: number;
  /** A serving certificate with less than this left is replaced. */
  servingRenewBeforeMs: number;
  /** Time the API server is given to see a new bundle before a certificate that needs it is served. */
  propagationMs: number;
  /** The subjectAltNames the serving certificate must carry. */
  hosts: string[];
}

/** The input of {@link planRotation}. */
export interface RotationInput {
  now: Date;
  /** Undefined when there is no Secret yet. */
  stored?: StoredFacts;
  /** True when every webhook entry of every managed configuration carries exactly the stored bundle. */
  bundleInjected: boolean;
  policy: RotationPolicy;
}

/** One step; `reason` is for the log. */
export type RotationStep =
  /** No Secret: a CA and a serving certificate from it, created together. */
  | { action: 'create'; reason: string }
  /** A new signing CA first in the bundle; the CAs still valid stay. */
  | { action: 'add-authority'; reason: string }
  /** Write the stored bundle into every webhook entry, then record when. */
  | { action: 'inject-bundle'; reason: string }
  /** The configurations already hold the bundle but the Secret does not say since when: record now. */
  | { action: 'record-injection'; reason: string }
  /** A new serving certificate from the signing CA; `retireAfter` is the notAfter of the one it replaces, when that came from another CA. */
  | { action: 'issue-serving'; reason: string; retireAfter?: Date }
  /** Keep only these CAs (the signing one first). */
  | { action: 'retire-authorities'; reason: string; keep: string[] }
  /** Nothing to do before `until`. */
  | { action: 'wait'; until: Date };

const later = (a: Date, b: Date): Date => (a.getTime() >= b.getTime() ? a : b);
const earliest = (dates: Date[]): Date => new Date(Math.min(...dates.map((d) => d.getTime())));

/** True when `names` carries every name in `hosts`. */
function coversHosts(names: string[], hosts: string[]): boolean {
  const have = new Set(names);
  return hosts.every((h) => have.has(h));
}

/** Decides the next step; see the module comment for the order. */
export function planRotation(input: RotationInput): RotationStep {
  const { now, stored, policy } = input;
  const t = now.getTime();
  if (!stored) return { action: 'create', reason: 'no certificate Secret yet' };

  const signing = stored.authorities.find((a) => a.fingerprint === stored.signing);
  // 1. A signing CA that is usable and not due for renewal.
  if (!signing) {
    return { action: 'add-authority', reason: stored.signing ? 'the CA key does not belong to any CA in the bundle' : 'no usable CA key stored' };
  }
  if (signing.notAfter.getTime() - t <= policy.caRenewBeforeMs) {
    return { action: 'add-authority', reason: `the CA expires at ${signing.notAfter.toISOString()}` };
  }

  // 2. The bundle in every webhook entry, and the time it went there.
  if (!input.bundleInjected) return { action: 'inject-bundle', reason: 'a webhook configuration does not carry the stored CA bundle' };
  if (!stored.injectedAt) return { action: 'record-injection', reason: 'the bundle is in place but its injection time is not recorded' };
  const propagatedAt = new Date(stored.injectedAt.getTime() + policy.propagationMs);

  // 3. The serving certificate.
  const serving = stored.serving;
  const servingProblem = !serving
    ? 'no serving certificate stored'
    : !serving.keyMatches
      ? 'the serving key does not match the serving certificate'
      : serving.issuer === undefined
        ? 'the serving certificate was not signed by any CA in the bundle'
        : serving.notAfter.getTime() <= t
          ? 'the serving certificate has expired'
          : !coversHosts(serving.names, policy.hosts)
            ? `the serving certificate does not name ${policy.hosts.join(', ')}`
            : serving.issuer !== signing.fingerprint
              ? 'the serving certificate is from the previous CA'
              : serving.notAfter.getTime() - t <= policy.servingRenewBeforeMs
                ? `the serving certificate expires at ${serving.notAfter.toISOString()}`
                : undefined;
  const waits: Date[] = [];
  if (servingProblem) {
    // A certificate that nothing can use anyway is replaced at once; one
    // that still works waits until the API server trusts its successor's CA.
    const usable = serving !== undefined && serving.keyMatches && serving.issuer !== undefined && serving.notAfter.getTime() > t;
    if (!usable || t >= propagatedAt.getTime()) {
      // The CAs besides the signing one stay until whatever they signed
      // that a replica may still hold has expired: the certificate being
      // replaced, or, when the stored one is unusable, any earlier one a
      // replica kept as its last good pair (none lives longer than a lifetime).
      const hasOthers = stored.authorities.some((a) => a.fingerprint !== signing.fingerprint);
      const held = usable && serving.issuer !== signing.fingerprint
        ? serving.notAfter
        : !usable && hasOthers
          ? new Date(t + policy.servingLifetimeMs)
          : undefined;
      return {
        action: 'issue-serving',
        reason: servingProblem,
        ...(held ? { retireAfter: stored.retireAfter ? later(stored.retireAfter, held) : held } : {}),
      };
    }
    waits.push(propagatedAt);
  } else if (serving) {
    waits.push(new Date(serving.notAfter.getTime() - policy.servingRenewBeforeMs));
  }

  // 4. Old CAs leave once nothing they signed can be served. An expired CA
  // trusts nothing and leaves at once.
  const others = stored.authorities.filter((a) => a.fingerprint !== signing.fingerprint);
  const servingFromSigning = serving?.issuer === signing.fingerprint && !servingProblem;
  if (others.length > 0 && servingFromSigning) {
    const retireAt = stored.retireAfter ?? now;
    const keep = others.filter((a) => a.notAfter.getTime() > t && t < retireAt.getTime());
    if (keep.length < others.length || stored.authorities[0]?.fingerprint !== signing.fingerprint) {
      return {
        action: 'retire-authorities',
        reason: keep.length < others.length ? 'no serving certificate from the previous CA can still be valid' : 'the signing CA goes first in the bundle',
        keep: [signing.fingerprint, ...keep.map((a) => a.fingerprint)],
      };
    }
    waits.push(earliest([retireAt, ...keep.map((a) => a.notAfter)]));
  }

  waits.push(new Date(signing.notAfter.getTime() - policy.caRenewBeforeMs));
  return { action: 'wait', until: earliest(waits) };
}

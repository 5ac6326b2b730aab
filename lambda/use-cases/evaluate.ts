/**
 * Evaluation: observations in, findings and renewal decisions out. Pure (time and randomness are
 * parameters); every judgement is delegated to the domain's policy functions, in this order:
 * expiry thresholds for everything seen → endpoint checks (drift, chain, hostname, key) → renewal
 * for managed certificates → group the same certificate across environments.
 */
import type { CertificateFacts } from '../domain/certificate';
import { endpointFindings } from '../domain/endpoint-findings';
import {
  type Finding,
  type FindingPlace,
  type IdentityMode,
  certificateIdentity,
  groupByIdentity,
  keyFingerprint,
} from '../domain/findings';
import type { RenewalPolicy } from '../domain/renewal';
import { type RenewalSubject, type RenewalVerdict, renewalVerdict } from '../domain/renewal-verdict';
import {
  DEFAULT_THRESHOLDS,
  type Threshold,
  type ThresholdScaling,
  crossedThreshold,
  expiryFinding,
} from '../domain/thresholds';
import type { CertificateState } from './certificate-state';
import { type Observation, observationEnvironment, observationLocation, observedFacts } from './scan';

export interface ManagedView {
  readonly name: string;
  readonly environments: readonly string[];
  readonly renewal: RenewalPolicy;
  readonly state?: CertificateState;
  /** Endpoints (by `host:port`) that serve this certificate. */
  readonly endpoints: readonly string[];
  /** ARI: the CA's suggested renewal window for the current version, when its issuer offers one. */
  readonly suggestedWindow?: RenewalSubject['suggestedWindow'];
  /** Its CA renews it (ACM): see `RenewalSubject.caRenews`. */
  readonly caRenews?: boolean;
}

export interface EvaluationPolicy {
  /** @default DEFAULT_THRESHOLDS */
  readonly thresholds?: readonly Threshold[];
  /** @default 2048 */
  readonly minimumKeyBits?: number;
  /** How "the same certificate" is recognised across places (the sibling sweep). @default 'name' */
  readonly identity?: IdentityMode;
  /** Day thresholds scale with each certificate's lifetime, or apply as written. @default 'absolute' */
  readonly thresholdScaling?: ThresholdScaling;
}

export type { RenewalVerdict };

export interface Evaluation {
  /** Grouped across environments. */
  readonly findings: Finding[];
  readonly renewals: RenewalVerdict[];
}

export function evaluate(
  observations: readonly Observation[],
  managed: readonly ManagedView[],
  policy: EvaluationPolicy,
  now: Date,
): Evaluation {
  const thresholds = policy.thresholds ?? DEFAULT_THRESHOLDS;
  const scaling = policy.thresholdScaling ?? 'absolute';
  const byEndpoint = new Map<string, ManagedView>();
  for (const m of managed) for (const e of m.endpoints) byEndpoint.set(e, m);

  const identities = identify(observations, byEndpoint, policy.identity ?? 'name');
  const findings: Finding[] = [];
  for (const observation of observations) {
    const environment = observationEnvironment(observation);
    const location = observationLocation(observation);
    if (observation.kind === 'inventory') {
      const finding = expiryFinding(
        observation.item.facts,
        thresholds,
        now,
        {
          environment,
          location,
          ...(observation.item.managedName ? { name: observation.item.managedName } : {}),
        },
        scaling,
      );
      if (finding) findings.push(identities.tag(finding));
      continue;
    }
    const { endpoint, result } = observation;
    const owner = byEndpoint.get(`${endpoint.host}:${endpoint.port}`);
    const name = endpoint.expects ?? owner?.name;
    const expected = expectedFingerprints(owner ?? managed.find((m) => m.name === name));
    const context = { environment, location, ...(name ? { name } : {}) };
    // Expiry thresholds come from expiryFinding (with escalation); endpointFindings' own `expired`
    // would duplicate it under the same key.
    const leaf = result.ok ? result.chain[0]?.facts : undefined;
    const expiry = leaf ? expiryFinding(leaf, thresholds, now, context, scaling) : undefined;
    const at = { endpoints: [endpoint.name] };
    if (expiry) findings.push(identities.tag({ ...expiry, ...at }));
    for (const f of endpointFindings(
      result,
      {
        ...(expected.length > 0 ? { expectedFingerprints: expected } : {}),
        ...(policy.minimumKeyBits ? { minimumKeyBits: policy.minimumKeyBits } : {}),
      },
      now,
      context,
    )) {
      // The expiry finding already says it; an untrusted chain caused only by the expired leaf is noise.
      const code = f.details.authorizationErrorCode ?? f.details.authorizationError;
      const onlyExpired = f.kind === 'untrusted-chain' && code === 'CERT_HAS_EXPIRED';
      if (expiry && (f.kind === 'expired' || onlyExpired)) continue;
      findings.push(identities.tag({ ...f, ...at }));
    }
  }

  const renewals: RenewalVerdict[] = [];
  for (const m of managed) {
    const verdict = renewalVerdict(
      {
        name: m.name,
        environments: m.environments,
        renewal: m.renewal,
        ...(m.state?.current ? { current: m.state.current } : {}),
        ...(m.suggestedWindow ? { suggestedWindow: m.suggestedWindow } : {}),
        ...(m.caRenews ? { caRenews: true } : {}),
      },
      servedBy(m, observations),
      now,
    );
    renewals.push(verdict.verdict);
    if (verdict.finding) findings.push(identities.tag(verdict.finding));
  }
  return { findings: groupByIdentity(findings, identities.places(thresholds, now, scaling)), renewals };
}

/** The identity of each observation's certificate (undefined for a failed probe), as `evaluate` sees it. */
export function observationIdentities(
  observations: readonly Observation[],
  managed: readonly ManagedView[],
  mode: IdentityMode = 'name',
): (o: Observation) => string | undefined {
  const byEndpoint = new Map<string, ManagedView>();
  for (const m of managed) for (const e of m.endpoints) byEndpoint.set(e, m);
  return identify(observations, byEndpoint, mode).of;
}

/**
 * The identity of every certificate seen (see `certificateIdentity`), and where each was seen. With
 * mode `name`, a certificate without a declared name joins the named one with the same subject and
 * names, so an unmanaged copy on another cluster is still "the same certificate".
 */
function identify(
  observations: readonly Observation[],
  byEndpoint: ReadonlyMap<string, ManagedView>,
  mode: IdentityMode,
) {
  const nameOf = (o: Observation): string | undefined =>
    o.kind === 'inventory'
      ? o.item.managedName
      : (o.endpoint.expects ?? byEndpoint.get(`${o.endpoint.host}:${o.endpoint.port}`)?.name);
  const alias = new Map<string, string>();
  if (mode === 'name') {
    for (const o of observations) {
      const facts = observedFacts(o);
      const name = nameOf(o);
      if (facts && name)
        alias.set(certificateIdentity(facts, undefined, 'subject-and-names'), `name:${name}`);
    }
  }
  const seen: { identity: string; observation: Observation; facts: CertificateFacts }[] = [];
  const byFingerprint = new Map<string, string>();
  const byObservation = new Map<Observation, string>();
  for (const o of observations) {
    const facts = observedFacts(o);
    if (!facts) continue;
    const own = certificateIdentity(facts, nameOf(o), mode);
    const identity = alias.get(own) ?? own;
    seen.push({ identity, observation: o, facts });
    byFingerprint.set(keyFingerprint(facts.fingerprintSha256), identity);
    byObservation.set(o, identity);
  }
  return {
    of: (o: Observation): string | undefined => byObservation.get(o),
    tag(finding: Finding): Finding {
      const fp = finding.certificate ? keyFingerprint(finding.certificate.fingerprintSha256) : undefined;
      const identity =
        (fp ? byFingerprint.get(fp) : undefined) ??
        (mode !== 'fingerprint' && finding.certificate?.name
          ? `name:${finding.certificate.name}`
          : undefined);
      return identity ? { ...finding, identity } : finding;
    },
    places(
      thresholds: readonly Threshold[],
      now: Date,
      scaling: ThresholdScaling,
    ): Map<string, Omit<FindingPlace, 'affected'>[]> {
      const places = new Map<string, Omit<FindingPlace, 'affected'>[]>();
      for (const { identity, observation, facts } of seen) {
        const list = places.get(identity) ?? [];
        list.push({
          environment: observationEnvironment(observation),
          location: observationLocation(observation),
          // What a host agent reports installed (see the sibling sweep in cycle.ts).
          ...(observation.kind === 'inventory' && observation.item.source === 'agent'
            ? { host: observation.item.id.split('#')[0] }
            : {}),
          status: placeStatus(facts, thresholds, now, scaling),
          fingerprintSha256: facts.fingerprintSha256,
          notAfter: facts.notAfter,
        });
        places.set(identity, list);
      }
      return places;
    },
  };
}

/** `expired 2 days ago`, `expires in 5 days` (a threshold crossed), or `ok`. */
export function placeStatus(
  facts: Pick<CertificateFacts, 'notAfter' | 'notBefore'>,
  thresholds: readonly Threshold[],
  now: Date,
  scaling: ThresholdScaling = 'absolute',
): string {
  const remaining = Date.parse(facts.notAfter) - now.getTime();
  if (remaining < 0) return `expired ${inWords(-remaining)} ago`;
  return crossedThreshold(facts, thresholds, now, scaling) ? `expires in ${inWords(remaining)}` : 'ok';
}

/** Whole days (or hours, under a day) in words: `5 days`, `1 day`, `6 hours`. */
export function inWords(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  if (days >= 1) return `${days} day${days === 1 ? '' : 's'}`;
  const hours = Math.floor(ms / 3_600_000);
  if (hours >= 1) return `${hours} hour${hours === 1 ? '' : 's'}`;
  const minutes = Math.max(1, Math.floor(ms / 60_000));
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** The current version, plus the pending one while a rollout converges (both are legitimately served). */
function expectedFingerprints(m: ManagedView | undefined): string[] {
  if (!m?.state?.current) return [];
  return [
    m.state.current.fingerprintSha256,
    ...(m.state.pending?.fingerprintSha256 ? [m.state.pending.fingerprintSha256] : []),
  ];
}

/** What the managed certificate's endpoints were seen serving in this scan. */
function servedBy(m: ManagedView, observations: readonly Observation[]): CertificateFacts[] {
  const endpoints = new Set(m.endpoints);
  return observations
    .filter((o) => o.kind === 'endpoint' && endpoints.has(`${o.endpoint.host}:${o.endpoint.port}`))
    .map(observedFacts)
    .filter((f): f is CertificateFacts => f !== undefined);
}

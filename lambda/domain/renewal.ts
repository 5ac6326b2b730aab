/**
 * When to renew a certificate, with cert-manager's semantics: by default when one third of the
 * lifetime remains, so a 90 day certificate renews 30 days before expiry and a 24 hour one 8 hours
 * before. Scaling with the lifetime is what makes this work for certificates that live hours as well
 * as years; a fixed "30 days before" would renew a 7 day certificate on issuance.
 *
 * Jitter spreads renewals of many certificates issued together. It only ever moves renewal EARLIER,
 * by up to `jitterPercentage` percent of the effective renew-before period (and never before
 * notBefore), so jitter cannot eat into the safety margin the policy asked for. The random source is
 * drawn once per call: evaluate the schedule once per certificate version and keep it, or pass
 * `stableRandom(fingerprint)`, because drawing afresh on every scan biases renewals early.
 */
import { createHash } from 'node:crypto';
import { type CertificateFacts, daysLeft } from './certificate';
import { formatDuration } from './duration';
import { InvalidInputError } from './errors';
import { type Finding, type FindingContext, certificateOf, keyFingerprint } from './findings';
import type { RandomSource } from './ports';

export interface RenewalPolicy {
  /**
   * Renew this many milliseconds before expiry. Used only when positive and shorter than the
   * certificate's lifetime; otherwise the percentage (if usable) or the default applies.
   * @default lifetime / 3
   */
  readonly renewBefore?: number;
  /**
   * Renew when this percentage of the lifetime remains. Used only when strictly between 0 and 100
   * and `renewBefore` is not used.
   * @default 33.33… (exactly one third of the lifetime)
   */
  readonly renewBeforePercentage?: number;
  /**
   * Move renewal earlier by a random amount of up to this percentage of the renew-before period,
   * 0 to 100. Needs a random source when above 0.
   * @default 0
   */
  readonly jitterPercentage?: number;
}

/** Which rule set the renew-before period. */
export type RenewalBasis = 'renew-before' | 'renew-before-percentage' | 'default';

export interface RenewalSchedule {
  /** When renewal is due, truncated to the second. */
  readonly renewAt: Date;
  readonly lifetimeMs: number;
  /** Effective period before notAfter, before jitter. */
  readonly renewBeforeMs: number;
  /** How much earlier than `notAfter - renewBeforeMs` jitter moved renewal (before truncation). */
  readonly jitterMs: number;
  readonly basis: RenewalBasis;
  /** One line when an override was given but not used, e.g. a renewBefore not shorter than the lifetime. */
  readonly note?: string;
}

export type RenewalReason = 'expired' | 'renewal-time-reached' | 'scheduled';

export interface RenewalDecision {
  readonly due: boolean;
  /** `expired` and `renewal-time-reached` are due; `scheduled` is not. */
  readonly reason: RenewalReason;
  readonly renewAt: Date;
  readonly schedule: RenewalSchedule;
  /** One line for people. */
  readonly message: string;
}

/**
 * Computes when a certificate should be renewed.
 * @throws InvalidInputError when notBefore/notAfter are not dates, jitterPercentage is outside 0–100,
 *   jitter is asked for without a random source, or the random source leaves [0, 1)
 */
export function renewalTime(
  facts: Pick<CertificateFacts, 'notBefore' | 'notAfter'>,
  policy: RenewalPolicy = {},
  random?: RandomSource,
): RenewalSchedule {
  const notBefore = parseInstant(facts.notBefore, 'notBefore');
  const notAfter = parseInstant(facts.notAfter, 'notAfter');
  // A certificate whose notAfter precedes its notBefore is never valid; treat it as zero-length so it is due.
  const lifetimeMs = Math.max(0, notAfter - notBefore);
  const { renewBeforeMs, basis, note } = effectiveRenewBefore(lifetimeMs, policy);
  const jitterMs = jitter(policy.jitterPercentage ?? 0, renewBeforeMs, lifetimeMs, random);
  const renewAt = new Date(truncateToSecond(notAfter - renewBeforeMs - jitterMs));
  return { renewAt, lifetimeMs, renewBeforeMs, jitterMs, basis, ...(note ? { note } : {}) };
}

/** Decides whether a certificate is due for renewal at `now`, with the reason. */
export function isRenewalDue(
  facts: Pick<CertificateFacts, 'notBefore' | 'notAfter'>,
  policy: RenewalPolicy,
  now: Date,
  random?: RandomSource,
): RenewalDecision {
  const schedule = renewalTime(facts, policy, random);
  const { renewAt } = schedule;
  const notAfter = Date.parse(facts.notAfter);
  const at = renewAt.toISOString();
  if (now.getTime() > notAfter) {
    // Already expired: due regardless of policy.
    return {
      due: true,
      reason: 'expired',
      renewAt,
      schedule,
      message: `expired ${formatDuration(now.getTime() - notAfter)} ago; renewal was due at ${at}`,
    };
  }
  if (now.getTime() >= renewAt.getTime()) {
    // The scheduled renewal time has come.
    return {
      due: true,
      reason: 'renewal-time-reached',
      renewAt,
      schedule,
      message: `renewal was due at ${at} (${describeBasis(schedule)}); ${formatDuration(notAfter - now.getTime())} left`,
    };
  }
  // Not yet: say when.
  return {
    due: false,
    reason: 'scheduled',
    renewAt,
    schedule,
    message: `renews at ${at}, in ${formatDuration(renewAt.getTime() - now.getTime())} (${describeBasis(schedule)})`,
  };
}

/** A `renewal-due` finding when renewal is due, once per certificate version. */
export function renewalDueFinding(
  facts: CertificateFacts,
  decision: RenewalDecision,
  now: Date,
  context: FindingContext,
): Finding | undefined {
  if (!decision.due) return undefined;
  const label = context.name ?? facts.subject;
  return {
    kind: 'renewal-due',
    severity: decision.reason === 'expired' ? 'critical' : 'info',
    certificate: certificateOf(facts, context.name),
    environments: [context.environment],
    locations: context.location !== undefined ? [context.location] : [],
    daysLeft: daysLeft(facts, now),
    message: `${label}: ${decision.message}`,
    dedupeKey: `renewal-due:${keyFingerprint(facts.fingerprintSha256)}`,
    details: {
      reason: decision.reason,
      renewAt: decision.renewAt.toISOString(),
      basis: decision.schedule.basis,
      renewBeforeMs: decision.schedule.renewBeforeMs,
      lifetimeMs: decision.schedule.lifetimeMs,
    },
  };
}

/**
 * A random source that returns the same value for the same seed (e.g. a fingerprint), so the
 * jittered renewal time of one certificate version is the same on every scan without storing it.
 */
export function stableRandom(seed: string): RandomSource {
  const digest = createHash('sha256').update(seed).digest();
  const value = digest.readUIntBE(0, 6) / 2 ** 48;
  return () => value;
}

function effectiveRenewBefore(
  lifetimeMs: number,
  policy: RenewalPolicy,
): { renewBeforeMs: number; basis: RenewalBasis; note?: string } {
  const notes: string[] = [];
  const { renewBefore, renewBeforePercentage } = policy;
  if (renewBefore !== undefined) {
    if (renewBefore > 0 && renewBefore < lifetimeMs)
      return { renewBeforeMs: renewBefore, basis: 'renew-before' };
    notes.push(
      renewBefore > 0
        ? `renewBefore ${formatDuration(renewBefore)} is not shorter than the ${formatDuration(lifetimeMs)} lifetime`
        : `renewBefore ${formatDuration(renewBefore)} is not positive`,
    );
  }
  if (renewBeforePercentage !== undefined) {
    if (renewBeforePercentage > 0 && renewBeforePercentage < 100) {
      return {
        renewBeforeMs: (lifetimeMs * renewBeforePercentage) / 100,
        basis: 'renew-before-percentage',
        ...(notes.length > 0 ? { note: `${notes.join('; ')}; using renewBeforePercentage` } : {}),
      };
    }
    notes.push(`renewBeforePercentage ${renewBeforePercentage} is not between 0 and 100`);
  }
  return {
    renewBeforeMs: lifetimeMs / 3,
    basis: 'default',
    ...(notes.length > 0 ? { note: `${notes.join('; ')}; using one third of the lifetime` } : {}),
  };
}

function jitter(
  percentage: number,
  renewBeforeMs: number,
  lifetimeMs: number,
  random?: RandomSource,
): number {
  if (!(percentage >= 0 && percentage <= 100)) {
    throw new InvalidInputError(`renewal policy: jitterPercentage ${percentage} must be between 0 and 100`);
  }
  if (percentage === 0) return 0;
  if (!random) {
    throw new InvalidInputError(`renewal policy: jitterPercentage ${percentage} needs a random source`);
  }
  const draw = random();
  if (!(draw >= 0 && draw < 1)) {
    throw new InvalidInputError(
      `renewal policy: random source returned ${draw}; expected a number in [0, 1)`,
    );
  }
  // Never earlier than notBefore: renewal cannot precede issuance.
  return Math.min(draw * (percentage / 100) * renewBeforeMs, lifetimeMs - renewBeforeMs);
}

function describeBasis(schedule: RenewalSchedule): string {
  const before = formatDuration(schedule.renewBeforeMs);
  const lifetime = formatDuration(schedule.lifetimeMs);
  switch (schedule.basis) {
    case 'renew-before':
      return `renewBefore ${before}`;
    case 'renew-before-percentage':
      return `renewBeforePercentage: ${before} of the ${lifetime} lifetime`;
    case 'default':
      return `default: ${before}, one third of the ${lifetime} lifetime`;
  }
}

function parseInstant(value: string, field: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidInputError(`certificate ${field} "${value}" is not a date`);
  return ms;
}

function truncateToSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/**
 * Alert thresholds before expiry. A threshold is crossed once the time left is at most that many
 * days; the most severe crossed threshold is the one reported. Each crossing has a deduplication key
 * per certificate version (fingerprint) and threshold, so re-running a scan never repeats an alert and
 * a renewed certificate starts afresh.
 */
import { type CertificateFacts, DAY_MS, daysLeft } from './certificate';
import { formatDuration } from './duration';
import { InvalidInputError } from './errors';
import { type Finding, type FindingContext, type Severity, certificateOf, keyFingerprint } from './findings';

/** Days left (fractions allowed, e.g. 0.25 for 6 hours), or `expired`. */
export type Threshold = number | 'expired';

/** @default [30, 14, 7, 3, 1, 'expired'] */
export const DEFAULT_THRESHOLDS: readonly Threshold[] = [30, 14, 7, 3, 1, 'expired'];

/**
 * How day thresholds apply to a certificate:
 * - `lifetime` (the configuration's default): each threshold is scaled by the certificate's lifetime
 *   over LIFETIME_REFERENCE_DAYS (never above 1), so a short-lived certificate alerts only once it is
 *   well past its normal renewal (a 30-day certificate's "30 days" threshold is 5 days, not its whole
 *   life); certificates living 180 days or more get the thresholds as written;
 * - `absolute`: thresholds are days as written, whatever the lifetime.
 * Severity and deduplication keys follow the threshold as written. CA certificates always use the
 * thresholds as written.
 */
export type ThresholdScaling = 'lifetime' | 'absolute';

/**
 * The lifetime the thresholds are written for: at or above it they apply as written. Half of it is
 * where the default renewal (a third of the lifetime left) leaves a 90-day certificate, so with the
 * default 30-day threshold, an alert means renewal is overdue by half its window.
 */
export const LIFETIME_REFERENCE_DAYS = 180;

/** The days a threshold means for this certificate under `scaling`. */
export function effectiveThresholdDays(
  days: number,
  facts: Pick<CertificateFacts, 'notAfter'> & { readonly notBefore?: string; readonly isCA?: boolean },
  scaling: ThresholdScaling = 'absolute',
): number {
  // A CA is rotated by people, with lead time, however long it lives: its thresholds stay as written.
  if (scaling === 'absolute' || facts.notBefore === undefined || facts.isCA === true) return days;
  const lifetimeDays = (Date.parse(facts.notAfter) - Date.parse(facts.notBefore)) / DAY_MS;
  if (!Number.isFinite(lifetimeDays) || lifetimeDays <= 0) return days;
  return days * Math.min(1, lifetimeDays / LIFETIME_REFERENCE_DAYS);
}

/** At or below this many days left a threshold is critical. */
export const CRITICAL_DAYS = 3;
/** At or below this many days left (and above CRITICAL_DAYS) a threshold is a warning; above, info. */
export const WARNING_DAYS = 14;

export interface ThresholdCrossing {
  readonly threshold: Threshold;
  readonly severity: Severity;
  /** Whole days left, floored; negative once expired. */
  readonly daysLeft: number;
  /** Milliseconds left; negative once expired. */
  readonly remainingMs: number;
}

/**
 * Validates and orders thresholds from configuration: day thresholds descending without duplicates,
 * `expired` last when present.
 * @throws InvalidInputError naming `path` when a threshold is not a positive number or `expired`
 */
export function normalizeThresholds(thresholds: readonly Threshold[], path = 'thresholds'): Threshold[] {
  const days = new Set<number>();
  let expired = false;
  thresholds.forEach((threshold, index) => {
    if (threshold === 'expired') expired = true;
    else if (typeof threshold === 'number' && Number.isFinite(threshold) && threshold > 0)
      days.add(threshold);
    else {
      throw new InvalidInputError(
        `${path}[${index}]: ${typeof threshold === 'number' ? threshold : JSON.stringify(threshold)} is not a positive number of days or "expired"`,
      );
    }
  });
  return [...[...days].sort((a, b) => b - a), ...(expired ? (['expired'] as const) : [])];
}

/** Severity of a threshold: expired and ≤ 3 days critical, ≤ 14 days warning, otherwise info. */
export function thresholdSeverity(threshold: Threshold): Severity {
  if (threshold === 'expired' || threshold <= CRITICAL_DAYS) return 'critical';
  if (threshold <= WARNING_DAYS) return 'warning';
  return 'info';
}

/**
 * The most severe threshold crossed at `now`, or undefined when none is. A certificate is expired
 * once `now` is after notAfter (RFC 5280 validity includes notAfter itself); without an `expired`
 * threshold an expired certificate reports the smallest day threshold.
 * @param thresholds in any order; pass DEFAULT_THRESHOLDS when configuration names none
 */
export function crossedThreshold(
  facts: Pick<CertificateFacts, 'notAfter'> & { readonly notBefore?: string; readonly isCA?: boolean },
  thresholds: readonly Threshold[],
  now: Date,
  scaling: ThresholdScaling = 'absolute',
): ThresholdCrossing | undefined {
  const notAfter = Date.parse(facts.notAfter);
  if (Number.isNaN(notAfter))
    throw new InvalidInputError(`certificate notAfter "${facts.notAfter}" is not a date`);
  const remainingMs = notAfter - now.getTime();
  const crossed = thresholds
    .filter((threshold) =>
      threshold === 'expired'
        ? remainingMs < 0
        : remainingMs <= effectiveThresholdDays(threshold, facts, scaling) * DAY_MS,
    )
    .sort(compareThresholds);
  const threshold = crossed[crossed.length - 1];
  if (threshold === undefined) return undefined;
  return { threshold, severity: thresholdSeverity(threshold), daysLeft: daysLeft(facts, now), remainingMs };
}

/** How a certificate stands by the alert thresholds: see `expiryStanding`. */
export type ExpiryStanding = 'expired' | Severity | 'ok';

/**
 * The one rule behind every expiry severity a person sees (scan findings, `status`, `inspect`, the
 * fleet report, escalation and the digest): `expired` once past notAfter, else the severity of the
 * most severe threshold crossed (`crossedThreshold`: scaled by lifetime unless `absolute`), else `ok`.
 */
export function expiryStanding(
  facts: Pick<CertificateFacts, 'notAfter'> & { readonly notBefore?: string; readonly isCA?: boolean },
  thresholds: readonly Threshold[],
  now: Date,
  scaling: ThresholdScaling = 'absolute',
): ExpiryStanding {
  if (Date.parse(facts.notAfter) < now.getTime()) return 'expired';
  return crossedThreshold(facts, thresholds, now, scaling)?.severity ?? 'ok';
}

/**
 * A day count that works like a threshold (the owner mention's `escalation.mentionAtDays`), in
 * milliseconds for this certificate: scaled by its lifetime like every threshold (see
 * `effectiveThresholdDays`); as written when the lifetime is unknown.
 */
export function thresholdMs(
  days: number,
  facts: { readonly notAfter?: string; readonly notBefore?: string; readonly isCA?: boolean },
  scaling: ThresholdScaling = 'absolute',
): number {
  if (facts.notAfter === undefined) return days * DAY_MS;
  return effectiveThresholdDays(days, { ...facts, notAfter: facts.notAfter }, scaling) * DAY_MS;
}

/**
 * Days left on the thresholds' own scale (floored; negative once expired): a certificate crosses the
 * day threshold T exactly when this is at most T. As written under `absolute`, for CAs and for
 * lifetimes of 180 days or more; a 30-day certificate with 2 days left is at 12. What a days-left
 * alarm compares with a threshold, so it agrees with the alerts.
 */
export function thresholdDaysLeft(
  facts: Pick<CertificateFacts, 'notAfter'> & { readonly notBefore?: string; readonly isCA?: boolean },
  now: Date,
  scaling: ThresholdScaling = 'absolute',
): number {
  const remainingMs = Date.parse(facts.notAfter) - now.getTime();
  return Math.floor(remainingMs / (effectiveThresholdDays(1, facts, scaling) * DAY_MS));
}

/** Orders thresholds from least to most severe: larger day counts first, `expired` last. */
export function compareThresholds(a: Threshold, b: Threshold): number {
  return thresholdRank(a) - thresholdRank(b);
}

/** True when `next` is more severe than `previous` (or nothing was reported before). */
export function escalates(previous: Threshold | undefined, next: Threshold): boolean {
  return previous === undefined || compareThresholds(next, previous) > 0;
}

/** The deduplication key of one threshold crossing: one alert per certificate version and threshold. */
export function alertKey(fingerprintSha256: string, threshold: Threshold): string {
  return `expiry:${keyFingerprint(fingerprintSha256)}:${thresholdLabel(threshold)}`;
}

/** `30d`, `0.5d`, `expired`. */
export function thresholdLabel(threshold: Threshold): string {
  return threshold === 'expired' ? 'expired' : `${threshold}d`;
}

/** An `expiring` or `expired` finding for the most severe threshold crossed, if any. */
export function expiryFinding(
  facts: CertificateFacts,
  thresholds: readonly Threshold[],
  now: Date,
  context: FindingContext,
  scaling: ThresholdScaling = 'absolute',
): Finding | undefined {
  const crossing = crossedThreshold(facts, thresholds, now, scaling);
  if (!crossing) return undefined;
  const expired = crossing.remainingMs < 0;
  const label = context.name ?? facts.subject;
  return {
    kind: expired ? 'expired' : 'expiring',
    severity: expired ? 'critical' : crossing.severity,
    certificate: certificateOf(facts, context.name),
    environments: [context.environment],
    locations: context.location !== undefined ? [context.location] : [],
    daysLeft: crossing.daysLeft,
    message: expired
      ? `${label} expired ${formatDuration(-crossing.remainingMs)} ago (${facts.notAfter})`
      : `${label} expires in ${formatDuration(crossing.remainingMs)} (${facts.notAfter}), threshold ${thresholdLabel(crossing.threshold)}${scaledNote(crossing.threshold, facts, scaling)}`,
    dedupeKey: alertKey(facts.fingerprintSha256, crossing.threshold),
    details: {
      threshold: crossing.threshold,
      remainingMs: crossing.remainingMs,
      notAfter: facts.notAfter,
    },
  };
}

/** ` (5d for this 30-day certificate)` when lifetime scaling changed the threshold, else nothing. */
function scaledNote(threshold: Threshold, facts: CertificateFacts, scaling: ThresholdScaling): string {
  if (threshold === 'expired') return '';
  const effective = effectiveThresholdDays(threshold, facts, scaling);
  if (effective === threshold) return '';
  const lifetimeDays = Math.round((Date.parse(facts.notAfter) - Date.parse(facts.notBefore)) / DAY_MS);
  return ` (${formatDuration(effective * DAY_MS)} for this ${lifetimeDays}-day certificate)`;
}

function thresholdRank(threshold: Threshold): number {
  return threshold === 'expired' ? Number.POSITIVE_INFINITY : -threshold;
}

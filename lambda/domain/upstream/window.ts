/**
 * Upstream rotation windows. A vendor announces an overlap window (old and new material both work
 * from `windowStart`) and a cutover (only the new works). Our deadline is the cutover minus a safety
 * margin: every consumer must hold the new material by then.
 *
 * Stages, decided in this order:
 * - `completed`: every consumer is ready (vacuously so with no consumers). Time no longer matters;
 *   removing the old material after cutover is the workflow's business (`cutoverPassed`).
 * - `overdue`: now is at or after the deadline and some consumer is not ready.
 * - `deadline-approaching`: a threshold before the deadline has been crossed (time to deadline at
 *   most that many days), even if the window has not opened yet.
 * - `announced`: before the window start.
 * - `window-open`: from the window start until the first threshold.
 */
import { type CertificateFacts, DAY_MS } from '../certificate';
import { formatDuration } from '../duration';
import { InvalidInputError } from '../errors';
import { type Finding, type FindingCertificate, type Severity, certificateOf } from '../findings';
import { thresholdSeverity } from '../thresholds';

export interface Announcement {
  /** Stable id of the announcement (part of every deduplication key). */
  readonly id: string;
  /** Upstream name from configuration. */
  readonly upstream: string;
  /** Overlap start, ISO 8601. */
  readonly windowStart: string;
  /** After this instant only the new material works, ISO 8601. */
  readonly cutover: string;
  /** When the old material stops existing at all, ISO 8601, if announced. */
  readonly decommission?: string;
  /** The new certificate or CA, when the announcement carries it. */
  readonly newCertificate?: Pick<
    CertificateFacts,
    'fingerprintSha256' | 'subject' | 'serialNumber' | 'notAfter'
  >;
}

export interface ConsumerReadiness {
  /** Host or destination name. */
  readonly consumer: string;
  /** Holds (and where possible proved) the new material. */
  readonly ready: boolean;
  readonly environment?: string;
  /** One line: why not ready, or how readiness was proven. */
  readonly detail?: string;
}

export interface WindowPolicy {
  /**
   * Deadline = cutover minus this many milliseconds.
   * @default 86_400_000 (1 day)
   */
  readonly safetyMarginMs?: number;
  /**
   * Days before the deadline at which to alert while any consumer is not ready.
   * @default [14, 7, 3, 1]
   */
  readonly thresholds?: readonly number[];
}

export const DEFAULT_SAFETY_MARGIN_MS = DAY_MS;
export const DEFAULT_WINDOW_THRESHOLDS: readonly number[] = [14, 7, 3, 1];

export type WindowStage = 'announced' | 'window-open' | 'deadline-approaching' | 'overdue' | 'completed';
/** Days before the deadline, or `overdue` once it has passed. */
export type WindowThreshold = number | 'overdue';

export interface WindowStatus {
  readonly announcementId: string;
  readonly upstream: string;
  readonly stage: WindowStage;
  readonly windowStart: Date;
  readonly cutover: Date;
  readonly decommission?: Date;
  readonly deadline: Date;
  readonly cutoverPassed: boolean;
  /** Until the deadline; negative once past. */
  readonly remainingMs: number;
  /** Whole days until the deadline, floored. */
  readonly daysLeft: number;
  /** Most severe threshold crossed while not completed. */
  readonly threshold?: WindowThreshold;
  /** Deduplication key of that crossing: once per announcement and threshold. */
  readonly dedupeKey?: string;
  readonly severity: Severity;
  readonly ready: readonly ConsumerReadiness[];
  readonly notReady: readonly ConsumerReadiness[];
}

/**
 * Where an announced rotation stands at `now`.
 * @throws InvalidInputError naming the announcement when its times are not dates or out of order,
 *   or when the policy's margin or thresholds are not usable
 */
export function evaluateWindow(
  announcement: Announcement,
  consumers: readonly ConsumerReadiness[],
  policy: WindowPolicy,
  now: Date,
): WindowStatus {
  const where = `announcement ${announcement.id} (${announcement.upstream})`;
  const windowStart = instant(announcement.windowStart, `${where}: windowStart`);
  const cutover = instant(announcement.cutover, `${where}: cutover`);
  const decommission =
    announcement.decommission !== undefined
      ? instant(announcement.decommission, `${where}: decommission`)
      : undefined;
  if (cutover < windowStart) {
    throw new InvalidInputError(
      `${where}: cutover ${announcement.cutover} is before windowStart ${announcement.windowStart}`,
    );
  }
  if (decommission !== undefined && decommission < cutover) {
    throw new InvalidInputError(
      `${where}: decommission ${announcement.decommission} is before cutover ${announcement.cutover}`,
    );
  }
  const margin = policy.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  if (!(Number.isFinite(margin) && margin >= 0)) {
    throw new InvalidInputError(`upstream window policy: safetyMarginMs ${margin} must be zero or more`);
  }
  const thresholds = policy.thresholds ?? DEFAULT_WINDOW_THRESHOLDS;
  thresholds.forEach((days, index) => {
    if (!(Number.isFinite(days) && days > 0)) {
      throw new InvalidInputError(
        `upstream window policy: thresholds[${index}] ${days} must be a positive number of days`,
      );
    }
  });

  const deadline = cutover - margin;
  const remainingMs = deadline - now.getTime();
  const ready = consumers.filter((consumer) => consumer.ready);
  const notReady = consumers.filter((consumer) => !consumer.ready);
  const base = {
    announcementId: announcement.id,
    upstream: announcement.upstream,
    windowStart: new Date(windowStart),
    cutover: new Date(cutover),
    ...(decommission !== undefined ? { decommission: new Date(decommission) } : {}),
    deadline: new Date(deadline),
    cutoverPassed: now.getTime() >= cutover,
    remainingMs,
    daysLeft: Math.floor(remainingMs / DAY_MS),
    ready,
    notReady,
  };

  if (notReady.length === 0) return { ...base, stage: 'completed', severity: 'info' }; // nothing left to do
  if (remainingMs <= 0) return crossed(base, 'overdue', 'overdue'); // deadline passed with consumers not ready
  const smallest = thresholds.filter((days) => remainingMs <= days * DAY_MS).sort((a, b) => a - b)[0];
  if (smallest !== undefined) return crossed(base, 'deadline-approaching', smallest); // inside a threshold
  if (now.getTime() < windowStart) return { ...base, stage: 'announced', severity: 'info' }; // window not open yet
  return { ...base, stage: 'window-open', severity: 'info' }; // open, no threshold yet
}

/** Deduplication key of a threshold crossing: once per announcement and threshold. */
export function windowKey(announcementId: string, threshold: WindowThreshold): string {
  return `upstream-window:${announcementId}:${windowThresholdLabel(threshold)}`;
}

/**
 * Findings for a crossed threshold while consumers are not ready: `upstream-window` (the deadline is
 * approaching or passed; for the upstream's owners) and `consumers-not-ready` (naming every consumer
 * that is not ready; for the consumers' owners). None before the first threshold or once completed.
 */
export function windowFindings(announcement: Announcement, status: WindowStatus): Finding[] {
  if (status.threshold === undefined || status.dedupeKey === undefined) return [];
  const label = windowThresholdLabel(status.threshold);
  const names = status.notReady.map((consumer) => consumer.consumer);
  const environments = [
    ...new Set(status.notReady.flatMap((consumer) => (consumer.environment ? [consumer.environment] : []))),
  ];
  const certificate: FindingCertificate | undefined = announcement.newCertificate
    ? certificateOf(announcement.newCertificate)
    : undefined;
  const when =
    status.remainingMs > 0
      ? `deadline ${status.deadline.toISOString()} in ${formatDuration(status.remainingMs)}`
      : `deadline ${status.deadline.toISOString()} passed ${formatDuration(-status.remainingMs)} ago`;
  const total = status.ready.length + status.notReady.length;
  const details = {
    announcementId: announcement.id,
    upstream: announcement.upstream,
    stage: status.stage,
    threshold: status.threshold,
    deadline: status.deadline.toISOString(),
    cutover: status.cutover.toISOString(),
    notReady: status.notReady.map((consumer) => ({ ...consumer })),
    readyCount: status.ready.length,
  };
  const common = {
    severity: status.severity,
    ...(certificate ? { certificate } : {}),
    environments,
    daysLeft: status.daysLeft,
    details,
  };
  return [
    {
      ...common,
      kind: 'upstream-window',
      locations: [announcement.upstream],
      message: `${announcement.upstream} rotation: ${when} (cutover ${status.cutover.toISOString()}); ${names.length} of ${total} consumers not ready`,
      dedupeKey: status.dedupeKey,
    },
    {
      ...common,
      kind: 'consumers-not-ready',
      locations: names,
      message: `${announcement.upstream} rotation: not ready: ${names.join(', ')} (${when})`,
      dedupeKey: `consumers-not-ready:${announcement.id}:${label}`,
    },
  ];
}

function windowThresholdLabel(threshold: WindowThreshold): string {
  return threshold === 'overdue' ? 'overdue' : `${threshold}d`;
}

function crossed(
  base: Omit<WindowStatus, 'stage' | 'severity' | 'threshold' | 'dedupeKey'>,
  stage: 'overdue' | 'deadline-approaching',
  threshold: WindowThreshold,
): WindowStatus {
  return {
    ...base,
    stage,
    threshold,
    dedupeKey: windowKey(base.announcementId, threshold),
    severity: threshold === 'overdue' ? 'critical' : thresholdSeverity(threshold),
  };
}

function instant(value: string, what: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidInputError(`${what} "${value}" is not a date`);
  return ms;
}

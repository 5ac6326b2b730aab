/**
 * Retrying a rotation that failed: the same issued version is tried again (no new key per attempt)
 * after an exponential backoff, 1 h · 2^(n−1) capped at 32 h (cert-manager's schedule), so a CA outage
 * or a broken host does not turn every run into a new certificate and a new message. Alerts escalate
 * with the current certificate's time left instead: one message per version and escalation level.
 */

const HOUR = 3_600_000;
/** Backoff for the n-th consecutive failure: 1 h, 2 h, 4 h … capped at 32 h. */
export function backoffAfter(failedAttempts: number): number {
  if (failedAttempts <= 0) return 0;
  return Math.min(32 * HOUR, HOUR * 2 ** (failedAttempts - 1));
}

/** When the next attempt may start, or undefined when it may start now. */
export function retryNotBefore(
  failedAttempts: number,
  lastFailureAt: string | undefined,
  now: Date,
): Date | undefined {
  if (failedAttempts <= 0 || !lastFailureAt) return undefined;
  const at = Date.parse(lastFailureAt) + backoffAfter(failedAttempts);
  return Number.isFinite(at) && at > now.getTime() ? new Date(at) : undefined;
}

/** Days-left thresholds at which a repeated failure is told again, louder. */
const ESCALATION_DAYS = [30, 14, 7, 3, 1, 0] as const;

/**
 * The escalation level of a failure from the current certificate's time left: 0 (more than 30 days)
 * up to 6 (expired). A failure of the same version is told once per level.
 */
export function escalationLevel(currentNotAfter: string | undefined, now: Date): number {
  if (!currentNotAfter) return ESCALATION_DAYS.length;
  const daysLeft = (Date.parse(currentNotAfter) - now.getTime()) / 86_400_000;
  return ESCALATION_DAYS.filter((d) => daysLeft <= d).length;
}

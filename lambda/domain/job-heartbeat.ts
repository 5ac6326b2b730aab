/**
 * certrotor's own dead man's switch: is a scheduled job (inventory, probe, upstream watch, digest)
 * overdue? Each job records when it last completed; every scheduled run checks the others. Pure: the
 * schedule, the last run and time are parameters.
 *
 * - A cron job is overdue when some occurrence since watching began is more than `graceMs` old and no
 *   run completed at or after it. The miss is named by that occurrence (`expectedBy` = occurrence +
 *   grace), so it is reported once however often the check runs.
 * - A rate job is overdue when no run completed within one period plus `graceMs` of the last run (the
 *   scheduler counts rates from the schedule's creation, which only it knows).
 */
import { latestOccurrence, parseScheduleExpression } from './schedule-expression';

export const WATCHED_JOBS = ['inventory', 'probe', 'upstream', 'digest'] as const;
export type WatchedJob = (typeof WATCHED_JOBS)[number];

export interface JobSchedule {
  readonly job: WatchedJob;
  /**
   * A network placement's own probe function (the construct's `networkPlacements[].name`), watched on
   * its own. @default the job's one function (for the probe: the one outside any VPC)
   */
  readonly placement?: string;
  /** The environments that placement's probe serves: its miss names them. @default none */
  readonly environments?: readonly string[];
  /** Scheduler expression: `rate(1 hour)`, `cron(0 8 ? * MON-FRI *)`. */
  readonly expression: string;
  /** @default UTC */
  readonly timeZone?: string;
  /** How long after its due time a run may still complete: scheduler retries plus the job's own run time. */
  readonly graceMs: number;
}

export interface JobRunRecord {
  /** Last completed run, ISO 8601; absent when it never ran since watching began. */
  readonly lastRunAt?: string;
  /** When watching began (first check or deployment); misses before it are not the job's fault. */
  readonly watchedSince: string;
}

export type OverdueDecision =
  | {
      readonly overdue: true;
      /** When the job should have completed; names the miss (`scan-missed:<key>:<expectedBy>`, see watchedJobKey). */
      readonly expectedBy: Date;
      readonly reason: string;
    }
  | { readonly overdue: false; readonly reason: string };

/**
 * The key a job's runs and misses are recorded under: the job's name, `<job>@<placement>` for a
 * network placement's own function.
 */
export function watchedJobKey(schedule: Pick<JobSchedule, 'job' | 'placement'>): string {
  return schedule.placement === undefined ? schedule.job : `${schedule.job}@${schedule.placement}`;
}

/** The job as a sentence names it: `probe`, `probe (placement Edge)`. */
function jobLabel(schedule: JobSchedule): string {
  return schedule.placement === undefined
    ? schedule.job
    : `${schedule.job} (placement ${schedule.placement})`;
}

/** Decides whether `schedule`'s job is overdue at `now` given its last recorded run. */
export function jobOverdue(schedule: JobSchedule, record: JobRunRecord, now: Date): OverdueDecision {
  const parsed = parseScheduleExpression(schedule.expression);
  const lastRun = record.lastRunAt !== undefined ? Date.parse(record.lastRunAt) : undefined;
  const since = Date.parse(record.watchedSince);
  const at = now.getTime();
  if (parsed.kind === 'rate') {
    const from = lastRun ?? since;
    const expectedBy = from + parsed.periodMs + schedule.graceMs;
    // Each expected run is anchored on the previous one, so one miss is reported once.
    if (at < expectedBy) return { overdue: false, reason: `next run due by ${iso(expectedBy)}` };
    return {
      overdue: true,
      expectedBy: new Date(expectedBy),
      reason: `${jobLabel(schedule)} has not completed since ${lastRun !== undefined ? iso(lastRun) : `watching began at ${iso(since)}`}; a run was due by ${iso(expectedBy)} (${schedule.expression})`,
    };
  }
  const occurrence = latestOccurrence(parsed, new Date(at - schedule.graceMs), schedule.timeZone ?? 'UTC');
  // The schedule has not fired (graced) since watching began.
  if (occurrence === undefined || occurrence.getTime() < since)
    return { overdue: false, reason: 'no run due since watching began' };
  if (lastRun !== undefined && lastRun >= occurrence.getTime())
    return {
      overdue: false,
      reason: `ran at ${iso(lastRun)}, after the run due at ${occurrence.toISOString()}`,
    };
  const expectedBy = occurrence.getTime() + schedule.graceMs;
  return {
    overdue: true,
    expectedBy: new Date(expectedBy),
    reason: `${jobLabel(schedule)} was due at ${occurrence.toISOString()} (${schedule.expression}) and has not completed since ${lastRun !== undefined ? iso(lastRun) : 'watching began'}`,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `ProbeHeartbeat`, `InventoryHeartbeat`, `UpstreamHeartbeat`, `DigestHeartbeat`: one per completed run. */
export function heartbeatMetricName(job: WatchedJob): string {
  return `${job.charAt(0).toUpperCase()}${job.slice(1)}Heartbeat`;
}

/**
 * What runs when, from configuration: the schedule of every enabled scheduled job (inventory, probe,
 * upstream, and the digest when it is on) with its time zone and the grace a late run gets. One answer
 * for the CDK schedules and heartbeat alarms (lib/constructs/scheduled-jobs.ts) and the jobs' own
 * Scan Missed check (handlers/support/heartbeat.ts).
 */
import type { CertrotorConfig } from '../configuration';
import type { JobSchedule, WatchedJob } from '../../domain/job-heartbeat';

/** The longest a job function runs (its Lambda timeout is at most this). */
export const LONGEST_RUN_MS = 15 * 60_000;

/**
 * The schedules of every enabled job, from configuration. Grace: the scheduler's retry window
 * (`schedules.retry.maximumEventAge`) plus the longest a job function runs.
 */
export function watchedJobSchedules(
  config: Pick<CertrotorConfig, 'schedules' | 'notifications'>,
  /** The CDK construct's `schedules` prop: expressions per job, and a default time zone. */
  overrides: Partial<Record<WatchedJob, string>> & { readonly timeZone?: string } = {},
): JobSchedule[] {
  const s = config.schedules;
  const graceMs = s.retry.maximumEventAge + LONGEST_RUN_MS;
  const jobs: JobSchedule[] = [];
  for (const job of ['inventory', 'probe', 'upstream'] as const) {
    const schedule = s[job];
    if (!schedule.enabled) continue;
    jobs.push({
      job,
      expression: overrides[job] ?? schedule.expression,
      timeZone: schedule.timeZone ?? overrides.timeZone ?? s.timeZone,
      graceMs,
    });
  }
  const digest = config.notifications.digest;
  if (digest.enabled) {
    jobs.push({
      job: 'digest',
      expression: overrides.digest ?? digest.schedule,
      timeZone: digest.timeZone ?? overrides.timeZone ?? s.timeZone,
      graceMs,
    });
  }
  return jobs;
}

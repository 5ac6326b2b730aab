/**
 * The dead man's switch, as the scheduled jobs run it: each job records when it completed
 * (`recordJobRun`), and each run checks the other jobs against their schedules (`checkMissedJobs`),
 * publishing one `Scan Missed` event per miss. The metric alarms (missing heartbeat data breaches)
 * catch the case where nothing runs at all; this catches one job silently stopping while others run,
 * and says which one in Slack. Each network placement's probe function is a job of its own here
 * (`withPlacementProbes`), recorded as `probe@<placement>`: one placement's probe stopping while the
 * others run is a Scan Missed naming that placement and its environments.
 */
import { describeError } from '../domain/errors';
import { buildEvent } from '../domain/events';
import {
  type JobSchedule,
  type JobRunRecord,
  type WatchedJob,
  jobOverdue,
  watchedJobKey,
} from '../domain/job-heartbeat';
import {
  ConditionFailedError,
  type Clock,
  type EventPublisher,
  type OutgoingEvent,
  type StateStore,
} from '../domain/ports';

/** One document per job, keyed by job name (`probe@<placement>` for a placement's probe). */
export const HEARTBEATS_COLLECTION = 'heartbeats';
/** Claimed misses, keyed by the Scan Missed deduplication key. */
export const MISSES_COLLECTION = 'missed-runs';

const MISS_RETAIN_MS = 400 * 86_400_000;

/** Records that `job` (in `placement`, for a placement's probe) completed at `now`; keeps when watching began. */
export async function recordJobRun(
  store: StateStore,
  job: WatchedJob,
  now: Date,
  placement?: string,
): Promise<void> {
  const key = watchedJobKey({ job, ...(placement !== undefined ? { placement } : {}) });
  const existing = await store.get<JobRunRecord>(HEARTBEATS_COLLECTION, key, now);
  const record: JobRunRecord = {
    watchedSince: existing?.value.watchedSince ?? now.toISOString(),
    lastRunAt: now.toISOString(),
  };
  await store.put(HEARTBEATS_COLLECTION, key, record, now);
}

/** The schedules of every enabled job: the configuration view (lambda/config/views/schedules.ts). */
export { watchedJobSchedules } from '../config/views/schedules';

/** A network placement's probe function: its name and the environments it probes. */
export interface ProbePlacement {
  readonly name: string;
  readonly environments: readonly string[];
}

/** `schedules` and, after the probe's, one schedule per placement probe (same expression, own record). */
export function withPlacementProbes(
  schedules: readonly JobSchedule[],
  placements: readonly ProbePlacement[],
): JobSchedule[] {
  return schedules.flatMap((schedule) =>
    schedule.job === 'probe' && schedule.placement === undefined
      ? [
          schedule,
          ...placements.map((p) => ({ ...schedule, placement: p.name, environments: [...p.environments] })),
        ]
      : [schedule],
  );
}

export interface MissedJobsDeps {
  readonly store: StateStore;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
}

export interface MissedJobsReport {
  /** Scan Missed events published by this check (each miss once). */
  readonly events: readonly OutgoingEvent[];
  /** One line per job that could not be checked or whose event could not be published. */
  readonly failures: readonly string[];
}

/**
 * Checks every job but `self` (a job, or `probe@<placement>`: see watchedJobKey) against its schedule;
 * publishes `Scan Missed` once per miss (claimed with a conditional put; released again when publishing
 * fails, so the next check retries). Never throws.
 */
export async function checkMissedJobs(
  deps: MissedJobsDeps,
  schedules: readonly JobSchedule[],
  self?: string,
): Promise<MissedJobsReport> {
  const now = deps.clock();
  const events: OutgoingEvent[] = [];
  const failures: string[] = [];
  for (const schedule of schedules) {
    const key = watchedJobKey(schedule);
    if (key === self) continue;
    try {
      const record = await watchRecord(deps.store, key, now);
      const decision = jobOverdue(schedule, record, now);
      if (!decision.overdue) continue;
      const expectedBy = decision.expectedBy.toISOString();
      const dedupeKey = `scan-missed:${key}:${expectedBy}`;
      try {
        await deps.store.put(
          MISSES_COLLECTION,
          dedupeKey,
          { job: key, expectedBy, reportedAt: now.toISOString() },
          now,
          { ifAbsent: true, expiresAt: new Date(now.getTime() + MISS_RETAIN_MS) },
        );
      } catch (error) {
        if (error instanceof ConditionFailedError) continue;
        throw error;
      }
      const event = buildEvent(
        'Scan Missed',
        {
          dedupeKey,
          severity: 'error',
          occurredAt: now.toISOString(),
          environments: [...(schedule.environments ?? [])],
          summary: decision.reason.slice(0, 500),
          schedule: schedule.job,
          ...(schedule.placement !== undefined ? { placement: schedule.placement } : {}),
          expectedBy,
          ...(record.lastRunAt !== undefined ? { lastRunAt: record.lastRunAt } : {}),
        },
        now,
      );
      const published = await deps.publisher.publish([event]).catch((error: unknown) => ({
        published: 0,
        failed: [{ event, error: describeError(error) }],
      }));
      if (published.failed.length > 0) {
        await deps.store.delete(MISSES_COLLECTION, dedupeKey).catch(() => undefined);
        failures.push(`publishing Scan Missed for ${key}: ${published.failed[0]!.error}`);
        continue;
      }
      events.push(event);
    } catch (error) {
      failures.push(`checking ${key}: ${describeError(error)}`);
    }
  }
  return { events, failures };
}

/** The job's record (by watchedJobKey); the first check starts watching it (a new deployment is not a miss). */
async function watchRecord(store: StateStore, job: string, now: Date): Promise<JobRunRecord> {
  const existing = await store.get<JobRunRecord>(HEARTBEATS_COLLECTION, job, now);
  if (existing) return existing.value;
  const record: JobRunRecord = { watchedSince: now.toISOString() };
  try {
    await store.put(HEARTBEATS_COLLECTION, job, record, now, { ifAbsent: true });
    return record;
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    return (await store.get<JobRunRecord>(HEARTBEATS_COLLECTION, job, now))?.value ?? record;
  }
}

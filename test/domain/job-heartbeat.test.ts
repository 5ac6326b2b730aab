import { type JobSchedule, jobOverdue } from '../../lambda/domain/job-heartbeat';

const HOUR = 3_600_000;
const hourlyProbe: JobSchedule = { job: 'probe', expression: 'rate(1 hour)', graceMs: HOUR };
const weekdayDigest: JobSchedule = {
  job: 'digest',
  expression: 'cron(0 8 ? * MON-FRI *)',
  timeZone: 'Europe/Paris',
  graceMs: HOUR,
};
const SINCE = '2026-03-01T00:00:00Z';

describe('jobOverdue', () => {
  it.each([
    [
      'A rate job that ran within its period',
      hourlyProbe,
      '2026-03-04T09:30:00Z',
      '2026-03-04T10:00:00Z',
      false,
      undefined,
    ],
    [
      'A rate job still inside period plus grace',
      hourlyProbe,
      '2026-03-04T08:10:00Z',
      '2026-03-04T10:09:00Z',
      false,
      undefined,
    ],
    [
      'A rate job past period plus grace',
      hourlyProbe,
      '2026-03-04T08:10:00Z',
      '2026-03-04T10:11:00Z',
      true,
      '2026-03-04T10:10:00.000Z',
    ],
    [
      'A rate job that keeps missing, named by the same miss',
      hourlyProbe,
      '2026-03-04T08:10:00Z',
      '2026-03-05T10:11:00Z',
      true,
      '2026-03-04T10:10:00.000Z',
    ],
    [
      'A rate job that never ran, counted from when watching began',
      hourlyProbe,
      undefined,
      '2026-03-01T02:00:01Z',
      true,
      '2026-03-01T02:00:00.000Z',
    ],
    [
      'A cron job that ran after its occurrence',
      weekdayDigest,
      '2026-03-04T07:00:40Z',
      '2026-03-04T12:00:00Z',
      false,
      undefined,
    ],
    [
      'A cron job inside its grace',
      weekdayDigest,
      '2026-03-03T07:00:40Z',
      '2026-03-04T07:30:00Z',
      false,
      undefined,
    ],
    [
      'A cron job that missed this morning',
      weekdayDigest,
      '2026-03-03T07:00:40Z',
      '2026-03-04T08:30:00Z',
      true,
      '2026-03-04T08:00:00.000Z',
    ],
    [
      'A cron job on a weekend after Friday ran',
      weekdayDigest,
      '2026-03-06T07:00:40Z',
      '2026-03-08T12:00:00Z',
      false,
      undefined,
    ],
    [
      'A cron job that missed Friday, checked on Sunday',
      weekdayDigest,
      '2026-03-05T07:00:40Z',
      '2026-03-08T12:00:00Z',
      true,
      '2026-03-06T08:00:00.000Z',
    ],
  ])('%s', (_name, schedule, lastRunAt, now, overdue, expectedBy) => {
    // Act
    const decision = jobOverdue(
      schedule,
      { watchedSince: SINCE, ...(lastRunAt !== undefined ? { lastRunAt } : {}) },
      new Date(now),
    );

    // Assess
    expect(decision.overdue).toBe(overdue);
    expect(decision.overdue ? decision.expectedBy.toISOString() : undefined).toBe(expectedBy);
  });

  it('does not blame a cron job for occurrences before watching began', () => {
    // Act
    const decision = jobOverdue(
      weekdayDigest,
      { watchedSince: '2026-03-04T10:00:00Z' },
      new Date('2026-03-04T12:00:00Z'),
    );

    // Assess
    expect(decision).toEqual({ overdue: false, reason: 'no run due since watching began' });
  });

  it('says what was due and since when in the reason', () => {
    const decision = jobOverdue(
      hourlyProbe,
      { watchedSince: SINCE, lastRunAt: '2026-03-04T08:10:00Z' },
      new Date('2026-03-04T12:00:00Z'),
    );
    expect(decision.reason).toBe(
      'probe has not completed since 2026-03-04T08:10:00.000Z; a run was due by 2026-03-04T10:10:00.000Z (rate(1 hour))',
    );
  });
});

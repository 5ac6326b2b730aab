import { type CertrotorConfig, validateConfig } from '../../lambda/config/configuration';
import type { EventPublisher, OutgoingEvent, PublishReport } from '../../lambda/domain/ports';
import {
  checkMissedJobs,
  recordJobRun,
  watchedJobSchedules,
  withPlacementProbes,
} from '../../lambda/use-cases/job-heartbeats';
import { type RawConfig, buildConfig } from '../builders/config';
import { MemoryStateStore } from '../fakes/memory-state-store';

const HOUR = 3_600_000;
const START = new Date('2026-03-02T00:00:00Z');
const at = (hours: number) => new Date(START.getTime() + hours * HOUR);

class RecordingPublisher implements EventPublisher {
  readonly name = 'recording';
  readonly published: OutgoingEvent[] = [];
  failNext = false;

  async publish(events: readonly OutgoingEvent[]): Promise<PublishReport> {
    if (this.failNext) {
      this.failNext = false;
      return { published: 0, failed: events.map((event) => ({ event, error: 'bus unavailable' })) };
    }
    this.published.push(...events);
    return { published: events.length, failed: [] };
  }
}

function config(edit: (c: RawConfig) => void = () => {}): CertrotorConfig {
  return validateConfig(buildConfig(edit), 'test configuration');
}

describe('watchedJobSchedules', () => {
  it('watches every enabled job with the scheduler retry window and a run time as grace', () => {
    // Act
    const schedules = watchedJobSchedules(
      config((c) => {
        c.schedules = {
          timeZone: 'Europe/Paris',
          upstream: { enabled: false },
          retry: { maximumEventAge: '1h' },
        };
        c.notifications.digest = { enabled: true, schedule: 'cron(0 8 ? * MON-FRI *)' };
      }),
    );

    // Assess
    expect(schedules).toEqual([
      { job: 'inventory', expression: 'rate(1 day)', timeZone: 'Europe/Paris', graceMs: 75 * 60_000 },
      { job: 'probe', expression: 'rate(1 hour)', timeZone: 'Europe/Paris', graceMs: 75 * 60_000 },
      {
        job: 'digest',
        expression: 'cron(0 8 ? * MON-FRI *)',
        timeZone: 'Europe/Paris',
        graceMs: 75 * 60_000,
      },
    ]);
  });
});

describe('checkMissedJobs', () => {
  const schedules = watchedJobSchedules(config());

  it('reports a job that stopped once per miss, and not the job doing the check', async () => {
    // Prepare: everything ran at the start; then only the probe keeps running
    const store = new MemoryStateStore();
    const publisher = new RecordingPublisher();
    for (const job of ['inventory', 'probe', 'upstream'] as const) await recordJobRun(store, job, START);
    const check = (hours: number) =>
      checkMissedJobs({ store, publisher, clock: () => at(hours) }, schedules, 'probe');

    // Act
    for (let hour = 1; hour <= 30; hour++) {
      await recordJobRun(store, 'probe', at(hour));
      await check(hour);
    }

    // Assess: upstream (6 hours + 75 minutes of grace) is missed once; inventory (1 day) once
    expect(publisher.published.map((e) => [e.detailType, e.detail.schedule, e.detail.expectedBy])).toEqual([
      ['Scan Missed', 'upstream', '2026-03-02T07:15:00.000Z'],
      ['Scan Missed', 'inventory', '2026-03-03T01:15:00.000Z'],
    ]);
    expect(publisher.published[0]!.detail).toMatchObject({
      dedupeKey: 'scan-missed:upstream:2026-03-02T07:15:00.000Z',
      severity: 'error',
      lastRunAt: START.toISOString(),
    });
  });

  it('does not report jobs that never ran until a full period after watching began', async () => {
    // Prepare
    const store = new MemoryStateStore();
    const publisher = new RecordingPublisher();

    // Act
    const first = await checkMissedJobs({ store, publisher, clock: () => at(0) }, schedules, 'probe');
    const soon = await checkMissedJobs({ store, publisher, clock: () => at(5) }, schedules, 'probe');
    const later = await checkMissedJobs({ store, publisher, clock: () => at(8) }, schedules, 'probe');

    // Assess
    expect([first.events.length, soon.events.length]).toEqual([0, 0]);
    expect(later.events.map((e) => e.detail.schedule)).toEqual(['upstream']);
    expect(later.events[0]!.detail.lastRunAt).toBeUndefined();
  });

  it('retries a miss whose event could not be published', async () => {
    // Prepare
    const store = new MemoryStateStore();
    const publisher = new RecordingPublisher();
    await recordJobRun(store, 'upstream', START);
    await recordJobRun(store, 'inventory', START);
    publisher.failNext = true;

    // Act
    const failed = await checkMissedJobs({ store, publisher, clock: () => at(8) }, schedules, 'probe');
    const retried = await checkMissedJobs({ store, publisher, clock: () => at(9) }, schedules, 'probe');

    // Assess
    expect(failed.failures).toEqual(['publishing Scan Missed for upstream: bus unavailable']);
    expect(retried.events.map((e) => e.detail.schedule)).toEqual(['upstream']);
  });

  it("reports a network placement's probe that stopped while the others run, naming the placement and its environments", async () => {
    // Prepare: the default probe and placement Edge's probe ran at the start; then only the default one runs
    const store = new MemoryStateStore();
    const publisher = new RecordingPublisher();
    const probes = withPlacementProbes(schedules, [
      { name: 'Edge', environments: ['edge', 'edge-eu'] },
    ]).filter((s) => s.job === 'probe');
    await recordJobRun(store, 'probe', START);
    await recordJobRun(store, 'probe', START, 'Edge');

    // Act
    const reports = [];
    for (let hour = 1; hour <= 4; hour++) {
      await recordJobRun(store, 'probe', at(hour));
      reports.push(await checkMissedJobs({ store, publisher, clock: () => at(hour) }, probes, 'probe'));
    }

    // Assess: one hour plus 75 minutes of grace after its last run, once
    expect(probes.map((s) => [s.job, s.placement])).toEqual([
      ['probe', undefined],
      ['probe', 'Edge'],
    ]);
    expect(reports.map((r) => r.events.length)).toEqual([0, 0, 1, 0]);
    expect(publisher.published.map((e) => e.detail)).toEqual([
      expect.objectContaining({
        dedupeKey: 'scan-missed:probe@Edge:2026-03-02T02:15:00.000Z',
        schedule: 'probe',
        placement: 'Edge',
        environments: ['edge', 'edge-eu'],
        lastRunAt: START.toISOString(),
        summary: expect.stringMatching(/^probe \(placement Edge\) has not completed since/),
      }),
    ]);
  });

  it("does not report a placement's probe from its own check, and a placement's probe reports the default one", async () => {
    // Prepare: only placement Edge's probe keeps running
    const store = new MemoryStateStore();
    const publisher = new RecordingPublisher();
    const probes = withPlacementProbes(schedules, [{ name: 'Edge', environments: ['edge'] }]).filter(
      (s) => s.job === 'probe',
    );
    await recordJobRun(store, 'probe', START);

    // Act
    for (let hour = 1; hour <= 3; hour++) {
      await recordJobRun(store, 'probe', at(hour), 'Edge');
      await checkMissedJobs({ store, publisher, clock: () => at(hour) }, probes, 'probe@Edge');
    }

    // Assess
    expect(publisher.published.map((e) => [e.detail.dedupeKey, e.detail.placement])).toEqual([
      ['scan-missed:probe:2026-03-02T02:15:00.000Z', undefined],
    ]);
  });
});

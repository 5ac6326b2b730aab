/**
 * What every scheduled job does when it completes: emit its heartbeat metric (the alarms treat a
 * missing heartbeat as breaching), record the run in the state table, and check the other jobs
 * against their schedules (a `Scan Missed` event per miss). Never fails the job: a problem here is
 * logged, and the heartbeat alarm still fires if the job really stopped.
 */
import type { CertrotorConfig } from '../../config/configuration';
import { describeError } from '../../domain/errors';
import { type WatchedJob, heartbeatMetricName } from '../../domain/job-heartbeat';
export { heartbeatMetricName };
import type { MetricPoint } from '../../use-cases/deadline-metrics';
import { watchedJobSchedules } from '../../config/views/schedules';
import { checkMissedJobs, recordJobRun, withPlacementProbes } from '../../use-cases/job-heartbeats';
import { watchedJobKey } from '../../domain/job-heartbeat';
import { probePlacement, probePlacements } from './probe-environments';
import {
  type AwsClients,
  type HandlerEnvironment,
  eventPublisher,
  logger,
  metrics,
  stateStore,
} from './runtime';

export async function completeScheduledJob(
  job: WatchedJob,
  config: CertrotorConfig,
  env: HandlerEnvironment,
  clients: AwsClients,
  /** The probe's network placement: its heartbeat is its own metric (dimension `placement`). */
  placement: string | undefined = job === 'probe' ? probePlacement() : undefined,
): Promise<void> {
  if (placement === undefined) metrics.addMetric(heartbeatMetricName(job), 'Count', 1);
  else {
    const single = metrics.singleMetric();
    single.addDimension('placement', placement);
    single.addMetric(heartbeatMetricName(job), 'Count', 1);
  }
  const store = stateStore(env, clients);
  const clock = () => new Date();
  // A placement's probe records its own run (`probe@<placement>`): one probe running must not hide
  // another stopping, and each one's miss names its placement.
  try {
    await recordJobRun(store, job, clock(), placement);
  } catch (error) {
    logger.error('could not record the job run', { job, placement, error: describeError(error) });
  }
  const report = await checkMissedJobs(
    { store, publisher: eventPublisher(env, clients), clock },
    withPlacementProbes(watchedJobSchedules(config, scheduleOverrides(env)), placementsToWatch()),
    watchedJobKey({ job, ...(placement !== undefined ? { placement } : {}) }),
  );
  for (const event of report.events)
    logger.warn('scheduled job missed', { detail: event.detail as Record<string, unknown> });
  for (const failure of report.failures) logger.error('dead man switch check failed', { failure });
  if (report.events.length > 0) metrics.addMetric('ScansMissed', 'Count', report.events.length);
}

/** Emits metric points (e.g. `announcementDeadlineMetrics`) through the shared EMF metrics. */
export function publishMetricPoints(points: readonly MetricPoint[]): void {
  for (const point of points) {
    const dimensions = Object.entries(point.dimensions);
    if (dimensions.length === 0) {
      metrics.addMetric(point.name, point.unit, point.value);
      continue;
    }
    const single = metrics.singleMetric();
    for (const [name, value] of dimensions) single.addDimension(name, value);
    single.addMetric(point.name, point.unit, point.value);
  }
}

/** The placement probes the construct created (CERTROTOR_PROBE_PLACEMENTS); a bad value watches none of them. */
function placementsToWatch(): ReturnType<typeof probePlacements> {
  try {
    return probePlacements();
  } catch (error) {
    logger.error('placement probes are not watched', { error: describeError(error) });
    return [];
  }
}

/** The CDK construct's `schedules` prop, passed to every function so the check sees what runs. */
function scheduleOverrides(
  env: HandlerEnvironment,
): Partial<Record<WatchedJob, string>> & { timeZone?: string } {
  if (!env.CERTROTOR_SCHEDULES) return {};
  try {
    return JSON.parse(env.CERTROTOR_SCHEDULES) as Partial<Record<WatchedJob, string>> & { timeZone?: string };
  } catch (error) {
    logger.error('CERTROTOR_SCHEDULES is not JSON; using the configured schedules', {
      error: describeError(error),
    });
    return {};
  }
}

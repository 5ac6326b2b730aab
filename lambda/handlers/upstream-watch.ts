/**
 * Upstream watcher: runs on its schedule (poll feeds, observe every upstream endpoint, deliver
 * announced material to consumers during the overlap, assess readiness, publish what is new) and on
 * AWS Health scheduled-change events from the `aws.health` rule, which become announcements of the
 * upstreams whose `aws-health` feed selects them. One failing upstream never stops the others; the
 * run reports each failure, emits days-to-deadline metrics and its heartbeat.
 */
import { HttpFeedFetcher } from '../adapters/net/feeds';
import { NodeClientAuthProber } from '../adapters/net/mtls-handshake';
import { type HealthSubscription, healthAnnouncements } from '../domain/aws-health';
import type { CertrotorConfig } from '../config/configuration';
import { describeError } from '../domain/errors';
import { SCAN_PROBLEMS_METRIC } from '../domain/health-metrics';
import type { AnnouncementDraft } from '../domain/upstream/announcement';
import { announcementDeadlineMetrics } from '../use-cases/deadline-metrics';
import type { ScanFailure } from '../use-cases/scan';
import { watchUpstreams } from '../use-cases/upstream/watch';
import { upstreamSpecs } from '../wiring/upstreams';
import { ownershipLookup } from '../config/views/ownership';
import { completeScheduledJob, publishMetricPoints } from './support/heartbeat';
import { rotationDeps } from './support/rotation-deps';
import {
  AwsClients,
  eventPublisher,
  loadConfiguration,
  logger,
  metrics,
  parseEnvironment,
  stateStore,
} from './support/runtime';
import { instrumented } from './support/instrumented';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

export interface UpstreamWatchSummary {
  readonly trigger: 'schedule' | 'aws.health';
  readonly upstreams: number;
  readonly announcements: number;
  readonly events: number;
  readonly failures: readonly ScanFailure[];
}

async function run(event: unknown): Promise<UpstreamWatchSummary> {
  const fromHealth = isRecord(event) && event.source === 'aws.health';
  try {
    const config = await loadConfiguration(env);
    const failures: ScanFailure[] = [];
    const drafts: AnnouncementDraft[] = [];
    if (fromHealth) {
      try {
        drafts.push(...healthAnnouncements(event, healthSubscriptions(config)));
      } catch (error) {
        failures.push({ what: 'AWS Health event', error: describeError(error) });
      }
    }
    const rotation = rotationDeps(config, env, clients);
    const resolved = await upstreamSpecs(config, rotation.destinations);
    const specs = resolved.specs;
    failures.push(...resolved.failures);
    const clock = () => new Date();
    const report = await watchUpstreams(
      {
        state: stateStore(env, clients),
        bundles: rotation.bundles,
        destinations: rotation.destinations,
        prober: rotation.prober,
        clientAuth: new NodeClientAuthProber(),
        feeds: new HttpFeedFetcher(),
        clock,
        publisher: eventPublisher(env, clients),
        ownership: ownershipLookup(config),
      },
      // An AWS Health event records its announcement and assesses readiness at once; the schedule
      // does the rest (feeds, delivery) so one event never waits on every feed.
      { upstreams: specs, drafts, ...(fromHealth ? { distribute: false } : {}) },
    );
    failures.push(...report.failures);
    const statuses = report.upstreams.flatMap((u) => u.announcements);
    publishMetricPoints(announcementDeadlineMetrics(statuses, clock()));
    // Only when not zero: a metric costs for each hour it receives data; the alarm fills no data with 0.
    if (report.events.length > 0) metrics.addMetric('UpstreamEventsPublished', 'Count', report.events.length);
    if (failures.length > 0) metrics.addMetric(SCAN_PROBLEMS_METRIC, 'Count', failures.length);
    for (const failure of failures) logger.warn('upstream watch problem', { failure });
    if (!fromHealth) await completeScheduledJob('upstream', config, env, clients);
    return {
      trigger: fromHealth ? 'aws.health' : 'schedule',
      upstreams: specs.length,
      announcements: statuses.length,
      events: report.events.length,
      failures,
    };
  } finally {
    metrics.publishStoredMetrics();
  }
}

function healthSubscriptions(config: CertrotorConfig): HealthSubscription[] {
  return config.upstreams.flatMap((u) =>
    u.feeds.flatMap((f) =>
      f.kind === 'aws-health'
        ? [
            {
              upstream: u.name,
              ...(f.services ? { services: f.services } : {}),
              ...(f.eventTypeCodes ? { eventTypeCodes: f.eventTypeCodes } : {}),
              ...(f.region ? { region: f.region } : {}),
            },
          ]
        : [],
    ),
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export const handler = instrumented(run);

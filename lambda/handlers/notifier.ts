/**
 * certrotor events (EventBridge rule on the catalogue's detail types) → Slack. The webhook URL is read
 * from Secrets Manager (only this function may read those secrets) and never logged. Deduplicated per
 * event key in the state table; a retryable delivery failure fails the invocation so Lambda retries
 * it and, finally, parks it in the dead-letter queue (with an alarm).
 */
import { makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { eventIdempotency } from '../adapters/aws/event-idempotency';
import type { CertrotorConfig } from '../config/configuration';
import { parseEvent } from '../domain/events';
import { CertrotorError, OperationError, describeError } from '../domain/errors';
import { operatorChannel, planEventNotifications } from '../domain/notifications/routing';
import type { Notifier } from '../domain/ports';
import { type Silence, liveSilences, silencesFromConfig } from '../domain/silences';
import { COLLECTIONS } from '../use-cases/certificate-state';
import { holdForDigest } from '../use-cases/notify/digest';
import { NotificationDispatcher } from '../use-cases/notify/notify';
import {
  AwsClients,
  loadConfiguration,
  logger,
  metrics,
  parseEnvironment,
  stateStore,
} from './support/runtime';
import { slackNotifier } from './support/slack-channels';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);
/**
 * Notifiers for the channels this event needs, and only those: a channel whose webhook secret is
 * missing or unreadable must not stop messages to every other channel. A needed channel that cannot
 * be built fails the invocation (Lambda retries, then the dead-letter queue keeps the event); the
 * operator channel is best effort, as the dispatcher's fallback only.
 */
async function notifiers(
  config: CertrotorConfig,
  needed: ReadonlySet<string>,
  operator: string | undefined,
): Promise<Map<string, Notifier>> {
  const found = new Map<string, Notifier>();
  for (const channel of config.notifications.channels) {
    if (!needed.has(channel.name) && channel.name !== operator) continue;
    try {
      found.set(channel.name, await slackNotifier(config, clients, channel));
    } catch (error) {
      const problem =
        error instanceof CertrotorError
          ? error
          : new OperationError('read webhook', channel.name, describeError(error));
      if (needed.has(channel.name)) throw problem;
      logger.error('operator channel unavailable', { channel: channel.name, error: problem.message });
      metrics.addMetric('NotificationProblems', 'Count', 1);
    }
  }
  return found;
}

/**
 * Silences from the configuration and those stored in the table (`certrotor silence --backend aws`).
 * A table that cannot be read leaves only the configured ones: a silence must never block an alert.
 */
async function activeSilences(config: CertrotorConfig, now: Date): Promise<Silence[]> {
  const configured = silencesFromConfig(config.silences);
  try {
    const stored = await stateStore(env, clients).list<Silence>(COLLECTIONS.silences, now);
    return liveSilences([...configured, ...stored.map((i) => i.value)], now);
  } catch (error) {
    logger.warn('stored silences unreadable; using configured ones only', { error: describeError(error) });
    return liveSilences(configured, now);
  }
}

/**
 * EventBridge delivers at least once: a redelivered event (same `id`) returns the recorded result
 * instead of running again. Records live in the state table (their own partition), hold only the
 * event id's hash and the counts returned, and expire with the table's TTL. A failed invocation
 * leaves no record, so Lambda's retry runs for real; per-message deduplication below still guards a
 * finding re-published under a new event id.
 */
const idempotency = eventIdempotency(clients, { tableName: env.CERTROTOR_TABLE_NAME, partition: 'notifier' });

export const handler = makeIdempotent(notify, idempotency);

/** `_context` is the Lambda context: Powertools reads the remaining time from it to bound the in-progress record. */
async function notify(
  raw: unknown,
  _context?: unknown,
): Promise<{ sent: number; duplicates: number; failed: number }> {
  const now = new Date();
  const config = await loadConfiguration(env);
  const event = parseEvent(raw);
  const plan = planEventNotifications([event], config, await activeSilences(config, now), now);
  for (const e of plan.unrouted) logger.warn('event has no channel', { detailType: e.detailType });
  const operator = operatorChannel(config.notifications);
  const byChannel = await notifiers(config, new Set(plan.send.map((d) => d.channel)), operator);
  const dispatcher = new NotificationDispatcher({
    notifierFor: (channel) => byChannel.get(channel),
    ...(operator && byChannel.get(operator) ? { fallback: byChannel.get(operator)! } : {}),
    onProblem: (problem) => {
      logger.error('notification problem', {
        kind: problem.kind,
        channel: problem.channel,
        error: problem.error,
      });
      metrics.addMetric('NotificationProblems', 'Count', 1);
    },
    dedupe: { store: stateStore(env, clients), clock: () => new Date() },
    clock: () => new Date(),
  });
  // Routine alerts wait for the channel's digest (the digest function sends it on schedule). Failing to
  // store one fails the invocation, so Lambda retries it instead of losing it.
  if (plan.held.length > 0) await holdForDigest(stateStore(env, clients), plan.held, config, now);
  const report = await dispatcher.dispatch(plan.send);
  metrics.addMetric('NotificationsSent', 'Count', report.sent);
  metrics.publishStoredMetrics();
  logger.info('notified', {
    detailType: event.detailType,
    sent: report.sent,
    duplicates: report.duplicates,
    failed: report.failed,
    held: plan.held.length,
    inhibited: plan.inhibited.length,
  });
  if (report.retryable.length > 0) {
    throw new Error(
      `${report.retryable.length} notification(s) not delivered yet (${event.detailType}); retried, then dead-lettered`,
    );
  }
  return { sent: report.sent, duplicates: report.duplicates, failed: report.failed };
}

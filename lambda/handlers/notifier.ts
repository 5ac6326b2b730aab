/**
 * certrotor events (EventBridge rule on the catalogue's detail types) → Slack, through the notification
 * outbox: the event's messages are recorded as pending in the state table before anything is sent,
 * then every pending message (this event's and any an earlier invocation left) is sent within a bound
 * (`notifications.delivery.commandWait`, within the invocation's time left). The webhook URL is read
 * from Secrets Manager (only this function may read those secrets) and never logged. One message per
 * channel and event key, however often the event arrives. A message of this event still pending for a
 * transient reason fails the invocation, so Lambda retries it (the retry drains the outbox again) and
 * finally parks the event in the dead-letter queue, with an alarm; the message itself stays in the
 * outbox and the next invocation or digest run delivers it. A channel refusing for good (400/403/404/
 * 410) dead-letters at once with one operator alert and does not fail the invocation.
 */
import { outboxPolicy } from '../config/views/delivery';
import { makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { eventIdempotency } from '../adapters/aws/event-idempotency';
import type { CertrotorConfig } from '../config/configuration';
import { parseEvent } from '../domain/events';
import { CertrotorError, OperationError, describeError } from '../domain/errors';
import { operatorChannel } from '../domain/notifications/routing';
import type { Notifier } from '../domain/ports';
import { OUTBOX_COLLECTION, type OutboxItem, drainOutbox, pendingItems } from '../use-cases/notify/outbox';
import { recordNotifications } from '../use-cases/notify/record';
import { activeSilences } from './support/notification-recording';
import {
  AwsClients,
  eventPublisher,
  loadConfiguration,
  logger,
  metrics,
  parseEnvironment,
  stateStore,
} from './support/runtime';
import { slackNotifier } from './support/slack-channels';
import { instrumented } from './support/instrumented';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);
/**
 * Notifiers for the channels this event needs and those with messages waiting in the outbox: a
 * channel whose webhook secret is missing or unreadable must not stop messages to every other
 * channel. A needed channel that cannot be built fails the invocation (its messages stay in the
 * outbox; Lambda retries, then the dead-letter queue keeps the event); the operator channel and the
 * channels with older messages are best effort.
 */
async function notifiers(
  config: CertrotorConfig,
  needed: ReadonlySet<string>,
  operator: string | undefined,
  waiting: ReadonlySet<string>,
): Promise<Map<string, Notifier>> {
  const found = new Map<string, Notifier>();
  for (const channel of config.notifications.channels) {
    if (!needed.has(channel.name) && channel.name !== operator && !waiting.has(channel.name)) continue;
    try {
      // The outbox retries (with its backoff kept across invocations): one request per attempt here.
      found.set(channel.name, await slackNotifier(config, clients, channel, { maxAttempts: 1 }));
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
 * EventBridge delivers at least once: a redelivered event (same `id`) returns the recorded result
 * instead of running again. Records live in the state table (their own partition), hold only the
 * event id's hash and the counts returned, and expire with the table's TTL. A failed invocation
 * leaves no record, so Lambda's retry runs for real; per-message deduplication below still guards a
 * finding re-published under a new event id.
 */
const idempotency = eventIdempotency(clients, { tableName: env.CERTROTOR_TABLE_NAME, partition: 'notifier' });

export const handler = instrumented(makeIdempotent(notify, idempotency));

/** `context` is the Lambda context: Powertools reads the remaining time from it, and so does the drain. */
async function notify(
  raw: unknown,
  context?: { getRemainingTimeInMillis?: () => number },
): Promise<{ sent: number; duplicates: number; failed: number }> {
  const now = new Date();
  const config = await loadConfiguration(env);
  // `{ "job": "outbox" }` (a schedule) only sends what earlier invocations left in the outbox.
  const sweep = typeof raw === 'object' && raw !== null && (raw as { job?: unknown }).job === 'outbox';
  const event = sweep ? undefined : parseEvent(raw);
  const store = stateStore(env, clients);
  // The same recording as the CLI and the scan jobs (inhibition, silences, digest, resolution
  // watches); an event a scan job already recorded, or summarised in an incident, is not sent again.
  // Recorded before anything is sent; failing to record fails the invocation (Lambda retries it).
  const plan =
    event === undefined
      ? { send: [], held: 0, inhibited: 0, silenced: 0, unrouted: [], recorded: 0, duplicates: 0 }
      : await recordNotifications(
          { store, config, silences: await activeSilences(config, store, now), now },
          [event],
        );
  for (const e of plan.unrouted) logger.warn('event has no channel', { detailType: e.detailType });
  const itemOf = (d: { channel: string; dedupeKey: string }) =>
    store.get<OutboxItem>(OUTBOX_COLLECTION, `${d.channel}:${d.dedupeKey}`, new Date());
  const deliveredBefore = new Set<string>();
  for (const d of plan.send)
    if ((await itemOf(d))?.value.status === 'delivered') deliveredBefore.add(d.dedupeKey);
  const operator = operatorChannel(config.notifications);
  const waiting = new Set(
    (await pendingItems({ store, clock: () => new Date() })).map((i) => i.value.channel),
  );
  const needed = new Set(plan.send.map((d) => d.channel));
  const byChannel = await notifiers(config, needed, operator, waiting);
  const delivery = config.notifications.delivery;
  const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
  const budget = Math.max(1000, Math.min(delivery.commandWait, remaining - 5000));
  const deadline = Date.now() + budget;
  const publisher = eventPublisher(env, clients);
  const report = await drainOutbox(
    {
      store,
      clock: () => new Date(),
      notifierFor: (channel) => byChannel.get(channel),
      ...(operator !== undefined ? { operatorChannel: operator } : {}),
      publish: (events) => publisher.publish(events),
      deadline: () => deadline,
      ...(config.notifications.runbookBaseUrl !== undefined
        ? { runbookBaseUrl: config.notifications.runbookBaseUrl }
        : {}),
      onProblem: (problem) => logger.warn('notification outbox', { problem }),
      onDeadLetter: (info) => {
        logger.error('notification problem', {
          kind: info.permanent ? 'permanent' : 'undelivered',
          channel: info.channel,
          error: info.error,
          messages: info.keys.length,
        });
        metrics.addMetric('NotificationProblems', 'Count', 1);
      },
    },
    outboxPolicy(config),
  );
  // This event's messages: delivered, refused for good (dead-lettered, the operator told), or still pending.
  let sent = 0;
  let duplicates = 0;
  let refused = 0;
  let retryable = 0;
  for (const d of plan.send) {
    const item = await itemOf(d);
    if (deliveredBefore.has(d.dedupeKey)) duplicates++;
    else if (!item || item.value.status === 'delivered') sent++;
    else if (item.value.permanent) refused++;
    else retryable++;
  }
  // Only when something went out: a metric is billed for every hour it receives data, and the
  // outbox sweep runs every 5 minutes.
  if (report.delivered > 0) metrics.addMetric('NotificationsSent', 'Count', report.delivered);
  metrics.publishStoredMetrics();
  logger.info('notified', {
    detailType: event?.detailType ?? 'outbox sweep',
    sent,
    recorded: plan.recorded,
    duplicates: plan.duplicates,
    deliveredFromOutbox: report.delivered,
    pending: report.pending,
    held: plan.held,
    inhibited: plan.inhibited,
    silenced: plan.silenced,
  });
  if (retryable > 0) {
    throw new Error(
      `${retryable} notification(s) not delivered yet (${event?.detailType ?? 'outbox sweep'}): ${report.reasons.join('; ')}; kept in the outbox and retried`,
    );
  }
  return { sent: event === undefined ? report.delivered : sent, duplicates, failed: refused };
}

/**
 * The digest sender, run by its EventBridge Scheduler schedule (`notifications.digest.schedule`): sends
 * each channel the routine alerts the notifier held since the last digest, one message per channel and
 * occurrence (a retried or repeated invocation never sends a second one). Then records its heartbeat
 * and checks the other scheduled jobs (dead man's switch).
 */
import { outboxPolicy } from '../config/views/delivery';
import { operatorChannel } from '../domain/notifications/routing';
import { digestChannels, sendDueDigests } from '../use-cases/notify/digest';
import { OutboxDispatcher, drainOutbox } from '../use-cases/notify/outbox';
import { completeScheduledJob } from './support/heartbeat';
import {
  AwsClients,
  loadConfiguration,
  logger,
  metrics,
  parseEnvironment,
  stateStore,
  eventPublisher,
} from './support/runtime';
import { slackNotifiers } from './support/slack-channels';
import { instrumented } from './support/instrumented';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

async function run(): Promise<{ sent: number; channels: number; failed: number }> {
  try {
    const config = await loadConfiguration(env);
    if (!config.notifications.digest.enabled) {
      logger.info('digest disabled in configuration');
      return { sent: 0, channels: 0, failed: 0 };
    }
    const operator = operatorChannel(config.notifications);
    const store = stateStore(env, clients);
    // The digest is recorded in the outbox (one item per channel and occurrence), then the outbox is
    // drained: this digest and anything earlier invocations left pending.
    const report = await sendDueDigests(
      { store, clock: () => new Date(), dispatcher: new OutboxDispatcher(store, () => new Date()) },
      config,
    );
    const { notifiers, problems } = await slackNotifiers(
      config,
      clients,
      new Set([...digestChannels(config), ...config.notifications.channels.map((c) => c.name)]),
      { maxAttempts: 1 },
    );
    for (const problem of problems) logger.error('notification channel unavailable', { problem });
    const delivery = config.notifications.delivery;
    const deadline = Date.now() + Math.max(1000, delivery.commandWait);
    const publisher = eventPublisher(env, clients);
    const drained = await drainOutbox(
      {
        store,
        clock: () => new Date(),
        notifierFor: (channel) => notifiers.get(channel),
        ...(operator !== undefined ? { operatorChannel: operator } : {}),
        publish: (events) => publisher.publish(events),
        deadline: () => deadline,
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
    const failed = report.channels.filter((c) => c.status === 'failed');
    metrics.addMetric('DigestsSent', 'Count', report.sent);
    logger.info('digests', {
      recorded: report.sent,
      deliveredFromOutbox: drained.delivered,
      pending: drained.pending,
      reasons: drained.reasons,
      channels: report.channels.map((c) => ({ channel: c.channel, status: c.status, items: c.items })),
    });
    await completeScheduledJob('digest', config, env, clients);
    if (failed.length > 0) {
      // The claims were released: a retry of this invocation records them again.
      throw new Error(
        `digest not delivered to ${failed.map((f) => `${f.channel} (${f.error ?? 'failed'})`).join(', ')}`,
      );
    }
    return { sent: report.sent, channels: report.channels.length, failed: 0 };
  } finally {
    metrics.publishStoredMetrics();
  }
}

export const handler = instrumented(run);

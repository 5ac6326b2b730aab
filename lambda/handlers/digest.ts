/**
 * The digest sender, run by its EventBridge Scheduler schedule (`notifications.digest.schedule`): sends
 * each channel the routine alerts the notifier held since the last digest, one message per channel and
 * occurrence (a retried or repeated invocation never sends a second one). Then records its heartbeat
 * and checks the other scheduled jobs (dead man's switch).
 */
import { operatorChannel } from '../domain/notifications/routing';
import { digestChannels, sendDueDigests } from '../use-cases/notify/digest';
import { NotificationDispatcher } from '../use-cases/notify/notify';
import { completeScheduledJob } from './support/heartbeat';
import {
  AwsClients,
  loadConfiguration,
  logger,
  metrics,
  parseEnvironment,
  stateStore,
} from './support/runtime';
import { slackNotifiers } from './support/slack-channels';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

export async function handler(): Promise<{ sent: number; channels: number; failed: number }> {
  try {
    const config = await loadConfiguration(env);
    if (!config.notifications.digest.enabled) {
      logger.info('digest disabled in configuration');
      return { sent: 0, channels: 0, failed: 0 };
    }
    const operator = operatorChannel(config.notifications);
    const channels = new Set(digestChannels(config));
    const { notifiers, problems } = await slackNotifiers(
      config,
      clients,
      new Set([...channels, ...(operator ? [operator] : [])]),
    );
    for (const problem of problems) logger.error('notification channel unavailable', { problem });
    const fallback = operator ? notifiers.get(operator) : undefined;
    const dispatcher = new NotificationDispatcher({
      notifierFor: (channel) => notifiers.get(channel),
      clock: () => new Date(),
      ...(fallback ? { fallback } : {}),
      onProblem: (problem) => {
        logger.error('notification problem', {
          kind: problem.kind,
          channel: problem.channel,
          error: problem.error,
        });
        metrics.addMetric('NotificationProblems', 'Count', 1);
      },
    });
    const report = await sendDueDigests(
      { store: stateStore(env, clients), clock: () => new Date(), dispatcher },
      config,
    );
    const failed = report.channels.filter((c) => c.status === 'failed');
    metrics.addMetric('DigestsSent', 'Count', report.sent);
    logger.info('digests', {
      sent: report.sent,
      channels: report.channels.map((c) => ({ channel: c.channel, status: c.status, items: c.items })),
    });
    await completeScheduledJob('digest', config, env, clients);
    if (failed.length > 0) {
      // The claims were released: a retry of this invocation sends them.
      throw new Error(
        `digest not delivered to ${failed.map((f) => `${f.channel} (${f.error ?? 'failed'})`).join(', ')}`,
      );
    }
    return { sent: report.sent, channels: report.channels.length, failed: 0 };
  } finally {
    metrics.publishStoredMetrics();
  }
}

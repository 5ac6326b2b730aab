/**
 * Slack notifiers for configured channels in the deployed service: each webhook URL is read from its
 * Secrets Manager secret once per container and never logged.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SlackWebhookNotifier } from '../../adapters/net/slack-webhook';
import type { CertrotorConfig } from '../../domain/config';
import { describeError } from '../../domain/errors';
import type { Notifier } from '../../domain/ports';
import type { AwsClients } from './runtime';

const webhooks = new Map<string, Promise<string>>();

function webhookUrl(clients: AwsClients, secretId: string): Promise<string> {
  let url = webhooks.get(secretId);
  if (!url) {
    url = clients
      .get(SecretsManagerClient)
      .send(new GetSecretValueCommand({ SecretId: secretId }))
      .then((r) => (r.SecretString ?? '').trim());
    url.catch(() => webhooks.delete(secretId));
    webhooks.set(secretId, url);
  }
  return url;
}

/**
 * Notifiers for the named channels; a channel whose secret is missing or unreadable is left out and
 * reported in `problems` (the dispatcher then reports its deliveries as having no channel).
 */
export async function slackNotifiers(
  config: CertrotorConfig,
  clients: AwsClients,
  names: ReadonlySet<string>,
): Promise<{ notifiers: Map<string, Notifier>; problems: string[] }> {
  const notifiers = new Map<string, Notifier>();
  const problems: string[] = [];
  for (const channel of config.notifications.channels) {
    if (!names.has(channel.name)) continue;
    const secretId = channel.webhook.secretId;
    if (secretId === undefined) {
      problems.push(
        `notifications.channels.${channel.name}.webhook.secretId: required by the deployed service`,
      );
      continue;
    }
    try {
      notifiers.set(
        channel.name,
        new SlackWebhookNotifier({
          webhookUrl: await webhookUrl(clients, secretId),
          name: channel.name,
          minIntervalMs: Math.round(1000 / config.notifications.delivery.messagesPerSecond),
          maxAttempts: config.notifications.delivery.maxAttempts,
          timeoutMs: config.notifications.delivery.timeout,
        }),
      );
    } catch (error) {
      problems.push(`channel ${channel.name}: reading webhook secret ${secretId}: ${describeError(error)}`);
    }
  }
  return { notifiers, problems };
}

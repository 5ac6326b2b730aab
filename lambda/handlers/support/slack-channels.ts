/**
 * Slack notifiers for configured channels in the deployed service: each webhook URL is read from its
 * Secrets Manager secret through Powertools Parameters (reused for its max age) and never logged.
 */
import { webhookSettings } from '../../config/views/delivery';
import { SecretsManagerWebhookUrls } from '../../adapters/aws/webhook-secrets';
import { SlackWebhookNotifier } from '../../adapters/net/slack-webhook';
import type { ChannelConfig, CertrotorConfig } from '../../config/configuration';
import { ConfigurationError, OperationError, describeError } from '../../domain/errors';
import type { Notifier } from '../../domain/ports';
import type { AwsClients } from './runtime';

/** One reader per client pool, so each webhook secret is cached for its max age across invocations. */
const webhookUrls = new WeakMap<AwsClients, SecretsManagerWebhookUrls>();

/**
 * The stack creates each webhook secret under a generated name (two stacks never collide) and maps
 * the configured name to it in CERTROTOR_WEBHOOK_SECRETS; a name it did not create is used as is.
 */
function deployedSecretId(secretId: string): string {
  try {
    const map = JSON.parse(process.env.CERTROTOR_WEBHOOK_SECRETS ?? '{}') as Record<string, string>;
    return map[secretId] ?? secretId;
  } catch {
    return secretId;
  }
}

function webhookUrl(clients: AwsClients, configuredSecretId: string): Promise<string> {
  let urls = webhookUrls.get(clients);
  if (!urls) {
    urls = new SecretsManagerWebhookUrls(clients);
    webhookUrls.set(clients, urls);
  }
  return urls.url(deployedSecretId(configuredSecretId));
}

/**
 * The notifier of one channel. Throws a ConfigurationError when the channel has no secret, an
 * OperationError naming the channel and its secret when the secret cannot be read.
 */
export async function slackNotifier(
  config: CertrotorConfig,
  clients: AwsClients,
  channel: ChannelConfig,
  overrides: { readonly maxAttempts?: number } = {},
): Promise<Notifier> {
  const secretId = channel.webhook.secretId;
  if (secretId === undefined) {
    throw new ConfigurationError('configuration', [
      `notifications.channels.${channel.name}.webhook.secretId: required by the deployed service`,
    ]);
  }
  let url: string;
  try {
    url = await webhookUrl(clients, secretId);
  } catch (error) {
    throw new OperationError(
      'read webhook',
      `notification channel ${channel.name} (secret ${secretId})`,
      describeError(error),
      { cause: error },
    );
  }
  return new SlackWebhookNotifier({
    webhookUrl: url,
    name: channel.name,
    ...webhookSettings(config),
    maxAttempts: overrides.maxAttempts ?? config.notifications.delivery.maxAttempts,
  });
}

/**
 * Notifiers for the named channels; a channel whose secret is missing or unreadable is left out and
 * reported in `problems` (the dispatcher then reports its deliveries as having no channel).
 */
export async function slackNotifiers(
  config: CertrotorConfig,
  clients: AwsClients,
  names: ReadonlySet<string>,
  overrides: { readonly maxAttempts?: number } = {},
): Promise<{ notifiers: Map<string, Notifier>; problems: string[] }> {
  const notifiers = new Map<string, Notifier>();
  const problems: string[] = [];
  for (const channel of config.notifications.channels) {
    if (!names.has(channel.name)) continue;
    try {
      notifiers.set(channel.name, await slackNotifier(config, clients, channel, overrides));
    } catch (error) {
      problems.push(describeError(error));
    }
  }
  return { notifiers, problems };
}

/**
 * Slack notifiers for configured channels in the deployed service: each webhook URL is read from its
 * SSM SecureString parameter (or Secrets Manager secret) through Powertools Parameters (reused for its
 * max age) and never logged.
 */
import { webhookSettings } from '../../config/views/delivery';
import { type WebhookLocation, WebhookUrls } from '../../adapters/aws/webhook-secrets';
import { SlackWebhookNotifier } from '../../adapters/net/slack-webhook';
import type { ChannelConfig, CertrotorConfig } from '../../config/configuration';
import { ConfigurationError, OperationError, describeError } from '../../domain/errors';
import type { Notifier } from '../../domain/ports';
import type { AwsClients } from './runtime';

/** One reader per client pool, so each webhook URL is cached for its max age across invocations. */
const webhookUrls = new WeakMap<AwsClients, WebhookUrls>();

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

function webhookUrl(clients: AwsClients, location: WebhookLocation): Promise<string> {
  let urls = webhookUrls.get(clients);
  if (!urls) {
    urls = new WebhookUrls(clients);
    webhookUrls.set(clients, urls);
  }
  return urls.url('secretId' in location ? { secretId: deployedSecretId(location.secretId) } : location);
}

/**
 * The notifier of one channel. Throws a ConfigurationError when the channel has neither a parameter
 * nor a secret, an OperationError naming the channel and where its URL is kept when that cannot be read.
 */
export async function slackNotifier(
  config: CertrotorConfig,
  clients: AwsClients,
  channel: ChannelConfig,
  overrides: { readonly maxAttempts?: number } = {},
): Promise<Notifier> {
  const { parameter, secretId } = channel.webhook;
  const location: WebhookLocation | undefined =
    parameter !== undefined ? { parameter } : secretId !== undefined ? { secretId } : undefined;
  if (location === undefined) {
    throw new ConfigurationError('configuration', [
      `notifications.channels.${channel.name}.webhook: the deployed service needs parameter (an SSM SecureString parameter) or secretId`,
    ]);
  }
  let url: string;
  try {
    url = await webhookUrl(clients, location);
  } catch (error) {
    throw new OperationError(
      'read webhook',
      `notification channel ${channel.name} (${'parameter' in location ? `parameter ${location.parameter}` : `secret ${location.secretId}`})`,
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
 * Notifiers for the named channels; a channel whose parameter or secret is missing or unreadable is left out and
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

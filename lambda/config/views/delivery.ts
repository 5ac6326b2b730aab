/**
 * Notification delivery settings as the outbox and the Slack webhook adapter take them: the one
 * mapping of `notifications.delivery` for the CLI, the notifier and the digest Lambdas.
 */
import type { CertrotorConfig } from '../configuration';
import type { OutboxPolicy } from '../../use-cases/notify/outbox';

type WithDelivery = Pick<CertrotorConfig, 'notifications'>;

/** Pacing, backoff and give-up time of the durable outbox. */
export function outboxPolicy(config: WithDelivery): OutboxPolicy {
  const delivery = config.notifications.delivery;
  return {
    minIntervalMs: 1000 / delivery.messagesPerSecond,
    retryDelayMs: delivery.retryDelay,
    maxRetryDelayMs: delivery.maxRetryDelay,
    giveUpAfterMs: delivery.giveUpAfter,
  };
}

/** Per-webhook pacing and request timeout of the Slack adapter (the outbox does the retrying). */
export function webhookSettings(config: WithDelivery): { minIntervalMs: number; timeoutMs: number } {
  const delivery = config.notifications.delivery;
  return { minIntervalMs: 1000 / delivery.messagesPerSecond, timeoutMs: delivery.timeout };
}

/**
 * Slack webhook URLs kept in Secrets Manager, read through Powertools Parameters: each is cached for
 * `maxAgeSeconds` (so a webhook replaced after a leak is picked up within that time, not at the next
 * container), a failed read is not cached, and the URL is never logged.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsClientProvider } from './clients';

/** How long a webhook URL is reused before Secrets Manager is read again. */
export const WEBHOOK_MAX_AGE_SECONDS = 300;

export class SecretsManagerWebhookUrls {
  private readonly provider: SecretsProvider;

  constructor(
    clients: AwsClientProvider,
    private readonly maxAgeSeconds = WEBHOOK_MAX_AGE_SECONDS,
  ) {
    // The pool's client: traced, with the pool's region and endpoint.
    this.provider = new SecretsProvider({ awsSdkV3Client: clients.get(SecretsManagerClient) });
  }

  /** The webhook URL stored (trimmed) in `secretId`; rejects when the secret cannot be read. */
  async url(secretId: string): Promise<string> {
    const value = await this.provider.get(secretId, { maxAge: this.maxAgeSeconds });
    return (typeof value === 'string' ? value : '').trim();
  }
}

/**
 * Slack webhook URLs kept in SSM Parameter Store SecureString parameters (standard tier: free) or in
 * Secrets Manager secrets ($0.40 a month each), read through Powertools Parameters: each is cached for
 * `maxAgeSeconds` (so a webhook replaced after a leak is picked up within that time, not at the next
 * container), a failed read is not cached, and the URL is never logged.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { AwsClientProvider } from './clients';

/** How long a webhook URL is reused before its parameter or secret is read again. */
export const WEBHOOK_MAX_AGE_SECONDS = 300;

/** Where one webhook URL is kept: an SSM parameter or a Secrets Manager secret (name or ARN each). */
export type WebhookLocation = { readonly parameter: string } | { readonly secretId: string };

const trimmed = (value: unknown) => (typeof value === 'string' ? value : '').trim();

/** Webhook URLs in SecureString parameters, decrypted on read. */
export class ParameterStoreWebhookUrls {
  private readonly provider: SSMProvider;

  constructor(
    clients: AwsClientProvider,
    private readonly maxAgeSeconds = WEBHOOK_MAX_AGE_SECONDS,
  ) {
    // The pool's client: traced, with the pool's region and endpoint.
    this.provider = new SSMProvider({ awsSdkV3Client: clients.get(SSMClient) });
  }

  /** The webhook URL stored (trimmed) in `parameter`; rejects when the parameter cannot be read. */
  async url(parameter: string): Promise<string> {
    return trimmed(await this.provider.get(parameter, { decrypt: true, maxAge: this.maxAgeSeconds }));
  }
}

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
    return trimmed(await this.provider.get(secretId, { maxAge: this.maxAgeSeconds }));
  }
}

/** Both readers on one client pool; each is created on first use. */
export class WebhookUrls {
  private parameters?: ParameterStoreWebhookUrls;
  private secrets?: SecretsManagerWebhookUrls;

  constructor(
    private readonly clients: AwsClientProvider,
    private readonly maxAgeSeconds = WEBHOOK_MAX_AGE_SECONDS,
  ) {}

  url(location: WebhookLocation): Promise<string> {
    if ('parameter' in location) {
      this.parameters ??= new ParameterStoreWebhookUrls(this.clients, this.maxAgeSeconds);
      return this.parameters.url(location.parameter);
    }
    this.secrets ??= new SecretsManagerWebhookUrls(this.clients, this.maxAgeSeconds);
    return this.secrets.url(location.secretId);
  }
}

/**
 * Slack webhook URLs kept in Secrets Manager. Each secret is read once per container and cached (a
 * failed read is forgotten, so the next invocation tries again); the URL is never logged.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsClientProvider } from './clients';

export class SecretsManagerWebhookUrls {
  private readonly urls = new Map<string, Promise<string>>();

  constructor(private readonly clients: AwsClientProvider) {}

  /** The webhook URL stored (trimmed) in `secretId`; rejects when the secret cannot be read. */
  url(secretId: string): Promise<string> {
    let url = this.urls.get(secretId);
    if (!url) {
      url = this.clients
        .get(SecretsManagerClient)
        .send(new GetSecretValueCommand({ SecretId: secretId }))
        .then((r) => (r.SecretString ?? '').trim());
      url.catch(() => this.urls.delete(secretId));
      this.urls.set(secretId, url);
    }
    return url;
  }
}

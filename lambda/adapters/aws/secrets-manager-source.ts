/**
 * Secrets Manager as an inventory source: the certificates held in secrets (PEM or certrotor bundles).
 */
import { type SecretsManagerClient, paginateListSecrets } from '@aws-sdk/client-secrets-manager';
import type { CertificateFacts } from '../../domain/certificate';
import { describeError } from '../../domain/errors';
import type { CertificateSource, InventoryItem } from '../../domain/ports';
import { scrubPrivateKeys } from '../../domain/secret';
import { describeAwsError } from './clients';
import { CERTIFICATE_TAG, STAGE_CURRENT, parseLeaf, readVersion } from './secrets-manager';

export interface SecretsManagerSourceOptions {
  readonly client: SecretsManagerClient;
  /** Environment the discovered certificates belong to. */
  readonly environment: string;
  /** Tag that marks a certificate secret; its value is the managed certificate name. @default certrotor:certificate */
  readonly tagKey?: string;
  /** Parallel GetSecretValue calls. @default 8 */
  readonly concurrency?: number;
  /** Told about each tagged secret skipped (no current version, not a certificate), with a one-line reason. */
  readonly onSkip?: (secret: string, reason: string) => void;
}

/** Inventory of certificates held in secrets tagged `certrotor:certificate`. */
export class SecretsManagerSource implements CertificateSource {
  readonly name = 'secrets-manager';
  private readonly options: SecretsManagerSourceOptions;

  constructor(options: SecretsManagerSourceOptions) {
    this.options = options;
  }

  async discover(): Promise<InventoryItem[]> {
    const { client } = this.options;
    const tagKey = this.options.tagKey ?? CERTIFICATE_TAG;
    const region = await client.config.region();
    const tagged: { arn: string; name: string; managedName: string }[] = [];
    try {
      for await (const page of paginateListSecrets(
        { client },
        { Filters: [{ Key: 'tag-key', Values: [tagKey] }], IncludePlannedDeletion: false },
      )) {
        for (const secret of page.SecretList ?? []) {
          if (secret.ARN === undefined || secret.DeletedDate !== undefined) continue;
          const tag = secret.Tags?.find((t) => t.Key === tagKey)?.Value;
          tagged.push({
            arn: secret.ARN,
            name: secret.Name ?? secret.ARN,
            managedName: tag || (secret.Name ?? ''),
          });
        }
      }
    } catch (error) {
      throw describeAwsError('ListSecrets', `secrets tagged ${tagKey} in ${region}`, error);
    }
    const items = await mapLimit(tagged, this.options.concurrency ?? 8, (secret) =>
      this.item(secret, region),
    );
    return items.filter((item): item is InventoryItem => item !== undefined);
  }

  private async item(
    secret: { arn: string; name: string; managedName: string },
    region: string,
  ): Promise<InventoryItem | undefined> {
    const read = await readVersion(this.options.client, secret.arn, { stage: STAGE_CURRENT });
    if (read === undefined) {
      this.options.onSkip?.(secret.name, `no ${STAGE_CURRENT} version`);
      return undefined;
    }
    let facts: CertificateFacts;
    try {
      facts = parseLeaf(certificateText(read.secretString), `secret ${secret.name}`);
    } catch (error) {
      this.options.onSkip?.(secret.name, scrubPrivateKeys(describeError(error)));
      return undefined;
    }
    return {
      id: secret.arn,
      source: this.name,
      environment: this.options.environment,
      location: `secretsmanager:${region}:${secret.name}`,
      facts,
      ...(secret.managedName !== '' ? { managedName: secret.managedName } : {}),
      status: STAGE_CURRENT,
    };
  }
}

/** A certrotor JSON document's certificate, or the secret itself when it is plain PEM. */
function certificateText(secretString: string): string {
  if (!secretString.trimStart().startsWith('{')) return secretString;
  try {
    const doc = JSON.parse(secretString) as { certificatePem?: unknown };
    if (typeof doc.certificatePem === 'string') return doc.certificatePem;
  } catch {
    // fall through: reported as not a certificate, without quoting the text
  }
  return '';
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * The agent's view of Secrets Manager: the version a host should hold is the one labelled
 * AWSCURRENT (or AWSPENDING, for agents that take part in verifying a rotation before promotion).
 * Returns a reference that SecretsManagerBundleStore.get reads; the key never leaves the store here.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DesiredVersion } from '../../domain/host-agent';
import type { DesiredVersionSource } from '../../domain/ports';
import { describeAwsError, isAwsError } from './clients';
import { DEFAULT_SECRET_PREFIX, STAGE_CURRENT, STAGE_PENDING, parseSecretBundle } from './secrets-manager';

export interface SecretsManagerDesiredSourceOptions {
  readonly client: SecretsManagerClient;
  /** Secret for a certificate. @default `certrotor/<name>` */
  readonly secretNameFor?: (certificate: string) => string;
  /** Which label the agent follows. @default AWSCURRENT */
  readonly stage?: typeof STAGE_CURRENT | typeof STAGE_PENDING;
}

export class SecretsManagerDesiredSource implements DesiredVersionSource {
  readonly name = 'secrets-manager';
  private readonly client: SecretsManagerClient;
  private readonly secretNameFor: (certificate: string) => string;
  private readonly stage: string;

  constructor(options: SecretsManagerDesiredSourceOptions) {
    this.client = options.client;
    this.secretNameFor = options.secretNameFor ?? ((name) => `${DEFAULT_SECRET_PREFIX}${name}`);
    this.stage = options.stage ?? STAGE_CURRENT;
  }

  async desired(_host: string, certificate: string): Promise<DesiredVersion | undefined> {
    const secretId = this.secretNameFor(certificate);
    let out;
    try {
      out = await this.client.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionStage: this.stage }),
      );
    } catch (error) {
      if (isAwsError(error, 'ResourceNotFoundException')) return undefined;
      throw describeAwsError('GetSecretValue', secretId, error);
    }
    if (out.SecretString === undefined || out.VersionId === undefined) return undefined;
    // Parsed only for its public facts; the bundle (and key) is read again by the bundle store.
    const bundle = parseSecretBundle(out.SecretString, `${secretId} ${this.stage}`);
    return {
      certificate,
      version: bundle.version,
      fingerprintSha256: bundle.facts.fingerprintSha256,
      bundle: {
        name: bundle.name,
        version: bundle.version,
        location: `${out.ARN ?? secretId}#${out.VersionId}`,
      },
    };
  }
}

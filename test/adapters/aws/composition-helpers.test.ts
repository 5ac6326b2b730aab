/**
 * The small AWS adapters composition roots use instead of importing the SDK themselves: the host
 * agent's stores and the Slack webhook URLs (SSM SecureString parameters, Secrets Manager secrets),
 * against the emulator.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { awsAgentStores } from '../../../lambda/adapters/aws/agent-stores';
import { AwsClientPool, createAwsClient } from '../../../lambda/adapters/aws/clients';
import { createStateTable } from '../../../lambda/adapters/aws/dynamodb-state-store';
import {
  ParameterStoreWebhookUrls,
  SecretsManagerWebhookUrls,
  WebhookUrls,
} from '../../../lambda/adapters/aws/webhook-secrets';
import { buildBundleVersions } from '../../builders/bundles';
import { buildCa } from '../../builders/certificates';
import { useMoto } from '../../support/moto';

const moto = useMoto();

describe('AWS composition helpers', () => {
  it('gives the agent a state table and a bundle store whose secrets carry the configured prefix', async () => {
    // Prepare
    const tableName = `agent-stores-${randomUUID().slice(0, 8)}`;
    await createStateTable(createAwsClient(DynamoDBClient, moto.clientConfig()), tableName);
    const name = `web-${randomUUID().slice(0, 8)}`;
    const [bundle] = await buildBundleVersions(1, { issuer: await buildCa(), name });
    const stores = awsAgentStores(new AwsClientPool(moto.clientConfig()), {
      secretPrefix: 'certrotor-test/',
      tableName,
    });

    // Act
    const ref = await stores.bundles.put(bundle!);
    await stores.state.put('hosts', 'web-1#api', { ok: true }, new Date());
    const readBack = await stores.bundles.get(ref);
    const stored = await stores.state.get<{ ok: boolean }>('hosts', 'web-1#api', new Date());

    // Assess
    expect(ref.location).toContain(`certrotor-test/${name}`);
    expect(readBack.certificatePem).toBe(bundle!.certificatePem);
    expect(stored?.value).toEqual({ ok: true });
  });

  it('reads a webhook URL trimmed, reuses it for its max age, and tries again after a failed read', async () => {
    // Prepare
    const secretId = `webhook-${randomUUID().slice(0, 8)}`;
    const pool = new AwsClientPool(moto.clientConfig());
    const secrets = createAwsClient(SecretsManagerClient, moto.clientConfig());
    const urls = new SecretsManagerWebhookUrls(pool);

    // Act
    const missing = urls.url(secretId);
    await expect(missing).rejects.toThrow();
    await secrets.send(
      new CreateSecretCommand({ Name: secretId, SecretString: ' https://hooks.example.test/T1/B1/x \n' }),
    );

    // Assess
    await expect(urls.url(secretId)).resolves.toBe('https://hooks.example.test/T1/B1/x');
    // A webhook replaced after a leak: reused within the max age, read again once it has passed.
    await secrets.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: 'https://hooks.example.test/T1/B1/y' }),
    );
    await expect(urls.url(secretId)).resolves.toBe('https://hooks.example.test/T1/B1/x');
    await expect(new SecretsManagerWebhookUrls(pool, 0).url(secretId)).resolves.toBe(
      'https://hooks.example.test/T1/B1/y',
    );
  });

  it('reads a webhook URL from a SecureString parameter decrypted and trimmed, reuses it for its max age, and tries again after a failed read', async () => {
    // Prepare
    const name = `/certrotor-test/slack/${randomUUID().slice(0, 8)}`;
    const pool = new AwsClientPool(moto.clientConfig());
    const ssm = createAwsClient(SSMClient, moto.clientConfig());
    const urls = new ParameterStoreWebhookUrls(pool);

    // Act
    await expect(urls.url(name)).rejects.toThrow();
    await ssm.send(
      new PutParameterCommand({
        Name: name,
        Type: 'SecureString',
        Value: ' https://hooks.example.test/T1/B2/x \n',
      }),
    );

    // Assess
    await expect(urls.url(name)).resolves.toBe('https://hooks.example.test/T1/B2/x');
    await ssm.send(
      new PutParameterCommand({
        Name: name,
        Type: 'SecureString',
        Value: 'https://hooks.example.test/T1/B2/y',
        Overwrite: true,
      }),
    );
    await expect(urls.url(name)).resolves.toBe('https://hooks.example.test/T1/B2/x');
    await expect(new ParameterStoreWebhookUrls(pool, 0).url(name)).resolves.toBe(
      'https://hooks.example.test/T1/B2/y',
    );
  });

  it('reads each webhook from where the channel keeps it: a parameter or a secret', async () => {
    // Prepare
    const suffix = randomUUID().slice(0, 8);
    const pool = new AwsClientPool(moto.clientConfig());
    await createAwsClient(SSMClient, moto.clientConfig()).send(
      new PutParameterCommand({
        Name: `/certrotor-test/p-${suffix}`,
        Type: 'SecureString',
        Value: 'https://hooks.example.test/P',
      }),
    );
    await createAwsClient(SecretsManagerClient, moto.clientConfig()).send(
      new CreateSecretCommand({
        Name: `certrotor-test/s-${suffix}`,
        SecretString: 'https://hooks.example.test/S',
      }),
    );
    const urls = new WebhookUrls(pool);

    // Act
    const fromParameter = await urls.url({ parameter: `/certrotor-test/p-${suffix}` });
    const fromSecret = await urls.url({ secretId: `certrotor-test/s-${suffix}` });

    // Assess
    expect({ fromParameter, fromSecret }).toEqual({
      fromParameter: 'https://hooks.example.test/P',
      fromSecret: 'https://hooks.example.test/S',
    });
  });
});

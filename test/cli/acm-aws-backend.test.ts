/**
 * `certrotor rotate --backend aws` through the built binary (dist/certrotor.js) with an `acm` issuer
 * (ACM exportable public certificates), everything in a moto server of this suite's own: the request
 * with export enabled, the validation CNAMEs in Route 53, the export, the state and the issuance
 * record in DynamoDB, the bundle sealed with a KMS key (the deployed service's CERTROTOR_KMS_KEY_ID),
 * delivery to a Secrets Manager destination (the aws backend's destinations have no TLS host of
 * their own; test/cli/acm-rotate.test.ts delivers to real TLS hosts through the local backend).
 *
 * moto (5.2.5) issues a requested certificate after MOTO_ACM_VALIDATION_WAIT seconds (2 here)
 * without resolving the CNAMEs, and never renews it: a second rotation is refused as real ACM's
 * would be before its renewal.
 */
import { spawn } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ACMClient, DescribeCertificateCommand, ListCertificatesCommand } from '@aws-sdk/client-acm';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { DynamoDbStateStore, createStateTable } from '../../lambda/adapters/aws/dynamodb-state-store';
import { parseSecretBundle } from '../../lambda/adapters/aws/secrets-manager';
import { ACM_ISSUANCE_COLLECTION, type AcmIssuanceRecord } from '../../lambda/domain/acm-issuance';
import { readCertificateState } from '../../lambda/use-cases/certificate-state';
import { FAKE_CREDENTIALS, MOTO_REGION, type RunningMoto, awsClientConfig, startMoto } from '../support/moto';
import { createTempDirs } from '../support/temp-dir';

jest.setTimeout(120_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const CERT = 'api';
const NAME = 'api.example.test';
const temp = createTempDirs();
let moto: RunningMoto;

beforeAll(async () => {
  const previous = process.env.MOTO_ACM_VALIDATION_WAIT;
  process.env.MOTO_ACM_VALIDATION_WAIT = '2';
  try {
    moto = await startMoto();
  } finally {
    if (previous === undefined) delete process.env.MOTO_ACM_VALIDATION_WAIT;
    else process.env.MOTO_ACM_VALIDATION_WAIT = previous;
  }
});

afterAll(async () => {
  await moto?.stop();
  await temp.cleanup();
});

function client<C>(Client: new (config: ReturnType<typeof awsClientConfig>) => C): C {
  return createAwsClient(Client as never, { ...awsClientConfig(moto.endpoint), maxAttempts: 1 }) as C;
}

async function rotate(configFile: string, kmsKeyId: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'rotate',
      CERT,
      '--config',
      configFile,
      '--backend',
      'aws',
      '--endpoint-url',
      moto.endpoint,
      '--region',
      MOTO_REGION,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NO_COLOR: '1',
        CERTROTOR_KMS_KEY_ID: kmsKeyId,
        AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, out };
}

describe('certrotor rotate --backend aws with an acm issuer (built binary, moto)', () => {
  it('requests an exportable certificate, validates it through Route 53, records it in DynamoDB and delivers the exported certificate and key to Secrets Manager', async () => {
    const root = await temp.make('cli-acm-aws');
    const table = `certrotor-acm-${Date.now()}`;
    await createStateTable(client(DynamoDBClient), table);
    await client(EventBridgeClient)
      .send(new CreateEventBusCommand({ Name: 'certrotor' }))
      .catch(() => undefined);
    const kmsKeyId = (
      await client(KMSClient).send(new CreateKeyCommand({ Description: 'certrotor test key' }))
    ).KeyMetadata!.KeyId!;
    const zone = await client(Route53Client).send(
      new CreateHostedZoneCommand({ Name: 'example.test', CallerReference: `acm-aws-${Date.now()}` }),
    );
    const zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
    const secretId = 'app/acm-tls';
    const configFile = join(root, 'certrotor.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        version: 1,
        environments: [{ name: 'prod' }],
        issuers: [{ name: 'public', kind: 'acm', validation: { route53: { hostedZoneId: zoneId } } }],
        destinations: [{ name: 'app-secret', kind: 'secrets-manager', environment: 'prod', secretId }],
        certificates: [
          {
            name: CERT,
            commonName: NAME,
            dnsNames: [NAME],
            keySpec: 'RSA_2048',
            issuer: 'public',
            destinations: ['app-secret'],
          },
        ],
        aws: { tableName: table },
      }),
    );

    const first = await rotate(configFile, kmsKeyId);
    expect(first.out).toMatch(new RegExp(`rotation ${CERT} v[0-9a-f]+: SUCCEEDED`));
    expect(first.code).toBe(0);

    const state = new DynamoDbStateStore({ client: client(DynamoDBClient), tableName: table });
    const record = (await state.get<AcmIssuanceRecord>(
      ACM_ISSUANCE_COLLECTION,
      `public/${CERT}`,
      new Date(),
    ))!.value;
    const detail = (
      await client(ACMClient).send(new DescribeCertificateCommand({ CertificateArn: record.certificateArn }))
    ).Certificate!;
    expect(detail.Options?.Export).toBe('ENABLED');
    const secret = await client(SecretsManagerClient).send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
    );
    const delivered = parseSecretBundle(secret.SecretString!, secretId);
    const leaf = new X509Certificate(delivered.certificatePem);
    expect(leaf.serialNumber.replace(/^0+/, '')).toBe(BigInt(detail.Serial!).toString(16).toUpperCase());
    const publicKey = createPublicKey(createPrivateKey(delivered.privateKey.reveal()));
    expect(publicKey.equals(leaf.publicKey)).toBe(true);
    const current = (await readCertificateState(state, CERT, new Date()))?.value.current;
    expect(current?.fingerprintSha256).toBe(leaf.fingerprint256);
    const records = await client(Route53Client).send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }),
    );
    expect((records.ResourceRecordSets ?? []).filter((r) => r.Type === 'CNAME')).toHaveLength(1);
    // Nothing in the table or the output holds a key in the clear (the bundle is KMS-envelope-encrypted).
    const items = (await client(DynamoDBClient).send(new ScanCommand({ TableName: table }))).Items ?? [];
    expect(JSON.stringify(items)).not.toContain('PRIVATE KEY');
    expect(first.out).not.toContain('PRIVATE KEY');

    const again = await rotate(configFile, kmsKeyId);
    expect(again.code).not.toBe(0);
    expect(again.out).toContain('ACM has not renewed it yet');
    expect(
      (await client(ACMClient).send(new ListCertificatesCommand({}))).CertificateSummaryList,
    ).toHaveLength(1);
  });
});

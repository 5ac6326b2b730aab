/**
 * `certrotor rotate --backend aws` through the built binary (dist/certrotor.js) with an ACME issuer:
 * a real ACME server (Pebble v2.10.3, test/support/pebble.ts), DNS-01 through moto's Route 53 (a
 * pass-through proxy mirrors the zone's TXT records into pebble-challtestsrv, the resolver Pebble
 * asks: test/support/route53-mirror.ts), the state and the ACME order journal in moto's DynamoDB,
 * the account key a Secrets Manager secret, order keys sealed with a moto KMS key (the deployed
 * service's CERTROTOR_KMS_KEY_ID), delivery to a Secrets Manager destination.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ACME_ORDER_KEY_COLLECTION } from '../../lambda/adapters/aws/acme-journal';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { DynamoDbStateStore, createStateTable } from '../../lambda/adapters/aws/dynamodb-state-store';
import { parseSecretBundle } from '../../lambda/adapters/aws/secrets-manager';
import { readCertificateState } from '../../lambda/use-cases/certificate-state';
import { MOTO_REGION, useMoto } from '../support/moto';
import { type Pebble, startPebble } from '../support/pebble';
import { type Route53Mirror, startRoute53Mirror } from '../support/route53-mirror';
import { createTempDirs } from '../support/temp-dir';
import { buildCertificate } from '../builders/certificates';

jest.setTimeout(120_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const CERT = 'api';
const NAME = 'api.example.test';

const moto = useMoto();
const temp = createTempDirs();
let pebble: Pebble | undefined;
let mirror: Route53Mirror | undefined;
let run = 0;

afterEach(async () => {
  await mirror?.close();
  mirror = undefined;
  await pebble?.stop();
  pebble = undefined;
  await temp.cleanup();
});

interface Setup {
  readonly root: string;
  readonly configFile: string;
  readonly extraCaFile: string;
  readonly table: string;
  readonly secretId: string;
  readonly zoneId: string;
  readonly kmsKeyId: string;
  readonly pebble: Pebble;
}

const clients = () => {
  const config = { ...moto.clientConfig(), maxAttempts: 1 };
  return {
    dynamodb: createAwsClient(DynamoDBClient, config),
    secrets: createAwsClient(SecretsManagerClient, config),
    route53: createAwsClient(Route53Client, config),
    kms: createAwsClient(KMSClient, config),
    events: createAwsClient(EventBridgeClient, config),
  };
};

async function setUp(): Promise<Setup> {
  run++;
  const root = await temp.make('cli-acme-aws');
  pebble = await startPebble(root);
  const aws = clients();
  const table = `certrotor-acme-${run}-${Date.now()}`;
  await createStateTable(aws.dynamodb, table);
  await aws.events.send(new CreateEventBusCommand({ Name: 'certrotor' })).catch(() => undefined);
  const kmsKeyId = (await aws.kms.send(new CreateKeyCommand({ Description: 'certrotor test key' })))
    .KeyMetadata!.KeyId!;
  const zone = await aws.route53.send(
    new CreateHostedZoneCommand({ Name: 'example.test', CallerReference: `acme-aws-${run}-${Date.now()}` }),
  );
  const zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
  const extraCaFile = join(root, 'extra-ca.pem');
  writeFileSync(extraCaFile, pebble.caPem);
  const secretId = `app/acme-tls-${run}`;
  const configFile = join(root, 'certrotor.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }],
      issuers: [
        {
          name: 'pebble',
          kind: 'acme',
          directoryUrl: pebble.directoryUrl,
          email: 'ops@example.test',
          profile: 'default',
          challenge: { type: 'dns-01', route53: { hostedZoneId: zoneId } },
        },
      ],
      destinations: [{ name: 'app-secret', kind: 'secrets-manager', environment: 'prod', secretId }],
      certificates: [
        {
          name: CERT,
          commonName: NAME,
          dnsNames: [NAME],
          keySpec: 'EC_P256',
          issuer: 'pebble',
          validity: '90d',
          destinations: ['app-secret'],
        },
      ],
      aws: { tableName: table },
    }),
  );
  return { root, configFile, extraCaFile, table, secretId, zoneId, kmsKeyId, pebble };
}

function certrotor(
  setup: Setup,
  endpoint: string,
  ...argv: string[]
): ChildProcess & { done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(
    process.execPath,
    [
      CLI,
      ...argv,
      '--config',
      setup.configFile,
      '--backend',
      'aws',
      '--endpoint-url',
      endpoint,
      '--region',
      MOTO_REGION,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NO_COLOR: '1',
        NODE_EXTRA_CA_CERTS: setup.extraCaFile,
        CERTROTOR_KMS_KEY_ID: setup.kmsKeyId,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const done = new Promise<{ code: number | null; out: string }>((r) =>
    child.once('exit', (code) => r({ code, out })),
  );
  return Object.assign(child, { done });
}

async function currentCertificate(setup: Setup): Promise<X509Certificate> {
  const value = await clients().secrets.send(
    new GetSecretValueCommand({ SecretId: setup.secretId, VersionStage: 'AWSCURRENT' }),
  );
  return new X509Certificate(parseSecretBundle(value.SecretString!, setup.secretId).certificatePem);
}

function stateOf(setup: Setup): DynamoDbStateStore {
  return new DynamoDbStateStore({ client: clients().dynamodb, tableName: setup.table });
}

async function pendingVersion(setup: Setup): Promise<string | undefined> {
  const state = (await readCertificateState(stateOf(setup), CERT, new Date()))?.value;
  return state?.pending?.version ?? state?.current?.version;
}

async function orderUrl(setup: Setup, key: string): Promise<string | undefined> {
  return (await stateOf(setup).get<{ orderUrl: string }>('acme-orders', key, new Date()))?.value.orderUrl;
}

async function tableItems(setup: Setup): Promise<Record<string, unknown>[]> {
  return (await clients().dynamodb.send(new ScanCommand({ TableName: setup.table }))).Items ?? [];
}

describe('certrotor rotate --backend aws with an ACME issuer (built binary, Pebble, moto)', () => {
  it('issues from Pebble over DNS-01 through Route 53, journals the order in DynamoDB, keeps the account key as a secret and delivers to Secrets Manager', async () => {
    const setup = await setUp();
    mirror = await startRoute53Mirror(moto.endpoint, setup.zoneId, setup.pebble);

    const rotated = await certrotor(setup, mirror.url, 'rotate', CERT).done;

    expect(rotated.out).toMatch(new RegExp(`rotation ${CERT} v[0-9a-f]+: SUCCEEDED`));
    expect(rotated.code).toBe(0);
    expect(rotated.out).not.toContain('PRIVATE KEY');
    // DNS-01 through Route 53: the record written, then removed again.
    expect(mirror.actions).toEqual([`UPSERT _acme-challenge.${NAME}.`, `DELETE _acme-challenge.${NAME}.`]);
    const left = await clients().route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: setup.zoneId }),
    );
    expect((left.ResourceRecordSets ?? []).filter((r) => r.Type === 'TXT')).toEqual([]);
    // The delivered certificate is Pebble's, chaining to Pebble's root.
    const current = await currentCertificate(setup);
    expect(current.subjectAltName).toContain(`DNS:${NAME}`);
    expect(current.issuer).toMatch(/Pebble Intermediate CA/);
    expect(current.checkIssued(new X509Certificate(await setup.pebble.intermediatePem()))).toBe(true);
    // The order journal: the order URL in the state table, the order's key sealed beside it.
    const version = await pendingVersion(setup);
    expect(await orderUrl(setup, `${CERT}-${version}`)).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/my-order\//);
    const items = await tableItems(setup);
    const sealed = items.filter((i) => (i.pk as { S: string }).S === ACME_ORDER_KEY_COLLECTION);
    expect(sealed).toHaveLength(1);
    expect(sealed[0]).toMatchObject({ algorithm: { S: 'AES-256-GCM' }, certificate: { S: CERT } });
    expect(JSON.stringify(items)).not.toContain('PRIVATE KEY');
    // The account key: a secret of its own under the certrotor prefix.
    const account = await clients().secrets.send(
      new DescribeSecretCommand({ SecretId: 'certrotor/acme/pebble/account-key' }),
    );
    expect(account.Tags).toContainEqual({ Key: 'certrotor:acme-account', Value: 'pebble' });
  });

  it('does not issue twice when the binary is killed between the authorization and finalising the order', async () => {
    const setup = await setUp();
    const target: { victim?: ChildProcess } = {};
    // Once the DNS-01 record is cleaned up (the authorization is valid, the order not yet finalised),
    // the CLI is killed before it hears back.
    mirror = await startRoute53Mirror(moto.endpoint, setup.zoneId, setup.pebble, {
      afterChange: async (action) => {
        const victim = target.victim;
        if (action !== 'DELETE' || !victim || victim.exitCode !== null) return;
        const exited = new Promise((r) => victim.once('exit', r));
        victim.kill('SIGKILL');
        await exited;
      },
    });

    const first = certrotor(setup, mirror.url, 'rotate', CERT);
    target.victim = first;
    const killed = await first.done;
    expect(killed.code).toBeNull(); // SIGKILL
    expect(killed.out).not.toMatch(/SUCCEEDED/);
    const version = await pendingVersion(setup);
    const placed = await orderUrl(setup, `${CERT}-${version}`);
    expect(placed).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/my-order\//);
    const described = await clients()
      .secrets.send(new DescribeSecretCommand({ SecretId: setup.secretId }))
      .catch(() => undefined);
    expect(described).toBeUndefined(); // nothing delivered
    expect(mirror.actions).toEqual([`UPSERT _acme-challenge.${NAME}.`, `DELETE _acme-challenge.${NAME}.`]);

    target.victim = undefined;
    const second = await certrotor(setup, mirror.url, 'rotate', CERT).done;

    expect(second.out).toMatch(new RegExp(`rotation ${CERT} ${version}: SUCCEEDED`));
    expect(second.code).toBe(0);
    // The same order, resumed: no second order, no challenge answered again.
    expect(await orderUrl(setup, `${CERT}-${version}`)).toBe(placed);
    expect(mirror.actions).toEqual([`UPSERT _acme-challenge.${NAME}.`, `DELETE _acme-challenge.${NAME}.`]);
    const sealed = (await tableItems(setup)).filter(
      (i) => (i.pk as { S: string }).S === ACME_ORDER_KEY_COLLECTION,
    );
    expect(sealed).toHaveLength(1);
    expect((await currentCertificate(setup)).issuer).toMatch(/Pebble Intermediate CA/);
  });

  it("holds a renewal whose chain leads to no root in the issuer's trustFile, before anything is delivered", async () => {
    const setup = await setUp();
    mirror = await startRoute53Mirror(moto.endpoint, setup.zoneId, setup.pebble);
    expect((await certrotor(setup, mirror.url, 'rotate', CERT).done).code).toBe(0);
    const delivered = (await currentCertificate(setup)).fingerprint256;
    // The consumers of the certificate's endpoint trust another root than Pebble's.
    const trustFile = join(setup.root, 'consumers-trust.pem');
    writeFileSync(
      trustFile,
      (await buildCertificate({ commonName: 'Consumers Root', isCA: true, daysLeft: 300 })).certificatePem,
    );
    const document = JSON.parse(readFileSync(setup.configFile, 'utf8')) as {
      issuers: Record<string, unknown>[];
      certificates: Record<string, unknown>[];
      endpoints?: unknown[];
    };
    document.issuers[0]!.trustFile = trustFile;
    document.endpoints = [{ name: 'api', environment: 'prod', host: '127.0.0.1', port: 9, servername: NAME }];
    document.certificates[0]!.endpoints = ['api'];
    writeFileSync(setup.configFile, JSON.stringify(document));
    // Pebble stamps validity to the second, and a renewal must expire later than the version it
    // replaces (checked first): let the second of the first issuance pass.
    const nextSecond = Math.floor(Date.now() / 1000) * 1000 + 1_050;
    await new Promise((resolve) => setTimeout(resolve, nextSecond - Date.now()));

    const held = await certrotor(setup, mirror.url, 'rotate', CERT).done;

    expect(held.code).not.toBe(0);
    expect(held.out).toMatch(
      /renewal held before distribution: the new chain \(root CN=Pebble Root CA \w+\) leads to no root the endpoints' consumers trust/,
    );
    expect(held.out).not.toContain('PRIVATE KEY');
    expect((await currentCertificate(setup)).fingerprint256).toBe(delivered);
  });
});

/**
 * The CLI with `--backend aws`, end to end against the AWS emulator: a private CA in emulated ACM PCA
 * issues, the state lives in DynamoDB, the certificate is distributed through a Secrets Manager
 * secret that starts out holding an older certificate, events go to EventBridge.
 *
 * The cases run in order on one emulator: each rotation builds on the one before it.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import { ACMPCAClient } from '@aws-sdk/client-acm-pca';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { createStateTable } from '../../lambda/adapters/aws/dynamodb-state-store';
import { parseSecretBundle, serializeBundle } from '../../lambda/adapters/aws/secrets-manager';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import type { CertificateBundle } from '../../lambda/domain/ports';
import { containsPrivateKey } from '../../lambda/domain/secret';
import { buildBundle } from '../builders/bundles';
import { buildCa } from '../builders/certificates';
import { type EmulatedCa, createRootCa } from '../support/emulated-pca';
import { MOTO_REGION, useMoto } from '../support/moto';
import { createTempDirs } from '../support/temp-dir';

const moto = useMoto();
const temp = createTempDirs();
const ROOT = join(__dirname, '..', '..');
const TABLE = 'certrotor-cli-state';
const SECRET = 'app/api-tls';
const CA_NAME = 'certrotor cli test private CA';

let secrets: SecretsManagerClient;
let ca: EmulatedCa;
let seeded: CertificateBundle;
let configFile: string;

interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function certrotor(...argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: process.env,
    cwd: ROOT,
    clock: () => new Date(),
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const awsFlags = () => ['--backend', 'aws', '--endpoint-url', moto.endpoint, '--region', MOTO_REGION];

/** The secret's staging labels, label → the certificate that version holds. */
async function labelled(): Promise<Record<string, string>> {
  const described = await secrets.send(new DescribeSecretCommand({ SecretId: SECRET }));
  const byLabel: Record<string, string> = {};
  for (const [versionId, labels] of Object.entries(described.VersionIdsToStages ?? {})) {
    const value = await secrets.send(new GetSecretValueCommand({ SecretId: SECRET, VersionId: versionId }));
    const bundle = parseSecretBundle(value.SecretString!, SECRET);
    for (const label of labels) byLabel[label] = bundle.facts.fingerprintSha256;
  }
  return byLabel;
}

async function currentCertificate(): Promise<X509Certificate> {
  const value = await secrets.send(
    new GetSecretValueCommand({ SecretId: SECRET, VersionStage: 'AWSCURRENT' }),
  );
  return new X509Certificate(parseSecretBundle(value.SecretString!, SECRET).certificatePem);
}

/**
 * The emulated CA stamps validity to the second, and a new version must expire later than the
 * current one: let the second of the last issuance pass.
 */
async function pastIssuanceSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1_100));
}

function rotationOf(run: CliRun): { status: string; newFingerprint: string; previousFingerprint?: string } {
  return (JSON.parse(run.out) as { rotation: { status: string; newFingerprint: string } }).rotation;
}

beforeAll(async () => {
  const config = { ...moto.clientConfig(), maxAttempts: 1 };
  secrets = createAwsClient(SecretsManagerClient, config);
  ca = await createRootCa(createAwsClient(ACMPCAClient, config), CA_NAME);
  await createStateTable(createAwsClient(DynamoDBClient, config), TABLE);
  await createAwsClient(EventBridgeClient, config).send(new CreateEventBusCommand({ Name: 'certrotor' }));
  // What the application reads today: an older certificate, five days from expiry.
  const oldCa = await buildCa({ commonName: 'previous CA' });
  seeded = await buildBundle({
    name: 'api',
    version: 'seed',
    issuer: oldCa,
    dnsNames: ['api.internal'],
    daysLeft: 5,
  });
  await secrets.send(
    new CreateSecretCommand({
      Name: SECRET,
      SecretString: serializeBundle(seeded),
      Tags: [
        { Key: 'certrotor:managed', Value: 'true' },
        { Key: 'certrotor:certificate', Value: 'api' },
      ],
    }),
  );
  // An imported ACM certificate close to expiry, for the inventory.
  const expiring = await buildBundle({
    name: 'legacy',
    issuer: oldCa,
    dnsNames: ['legacy.internal'],
    daysLeft: 3,
  });
  await createAwsClient(ACMClient, config).send(
    new ImportCertificateCommand({
      Certificate: Buffer.from(expiring.certificatePem),
      PrivateKey: Buffer.from(expiring.privateKey.reveal()),
      CertificateChain: Buffer.from(expiring.chainPem),
    }),
  );
  const dir = await temp.make('aws-backend');
  configFile = join(dir, 'certrotor.json');
  await writeFile(
    configFile,
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }],
      sources: [
        { name: 'acm-prod', kind: 'acm', environment: 'prod', region: MOTO_REGION },
        { name: 'secrets-prod', kind: 'secrets-manager', environment: 'prod' },
      ],
      issuers: [{ name: 'private-ca', kind: 'acm-pca', certificateAuthorityArn: ca.arn }],
      destinations: [{ name: 'app-secret', kind: 'secrets-manager', environment: 'prod', secretId: SECRET }],
      certificates: [
        {
          name: 'api',
          dnsNames: ['api.internal'],
          issuer: 'private-ca',
          validity: '30d',
          destinations: ['app-secret'],
        },
      ],
      aws: { tableName: TABLE },
    }),
  );
});

afterAll(() => temp.cleanup());

describe('certrotor with --backend aws', () => {
  it('refuses a malformed --endpoint-url with one line naming it', async () => {
    const run = await certrotor(
      'status',
      '--config',
      configFile,
      '--backend',
      'aws',
      '--endpoint-url',
      'not a url',
    );

    expect(run.code).not.toBe(0);
    expect(run.err.split('\n')).toEqual([
      'certrotor: --endpoint-url "not a url": is not a URL (e.g. http://127.0.0.1:5000)',
    ]);
  });

  it('rotates the Secrets Manager certificate through the emulated private CA and promotes it', async () => {
    const run = await certrotor('rotate', 'api', '--config', configFile, '--json', ...awsFlags());

    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const rotation = rotationOf(run);
    expect(rotation.status).toBe('succeeded');
    const current = await currentCertificate();
    expect(current.fingerprint256).toBe(rotation.newFingerprint);
    expect(current.issuer).toContain(`CN=${CA_NAME}`);
    expect(current.verify(new X509Certificate(ca.certificatePem).publicKey)).toBe(true);
    expect(await labelled()).toEqual({
      AWSCURRENT: rotation.newFingerprint,
      AWSPREVIOUS: seeded.facts.fingerprintSha256,
    });
    expect(containsPrivateKey(run.out)).toBe(false);
  });

  it('rotates again: the first rotation becomes AWSPREVIOUS and no AWSPENDING is left', async () => {
    const first = (await currentCertificate()).fingerprint256;
    await pastIssuanceSecond();

    const run = await certrotor('rotate', 'api', '--config', configFile, ...awsFlags());

    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/rotation api \S+: SUCCEEDED/);
    expect(run.out).toMatch(/verified\s+app-secret\/app\/api-tls/);
    const second = (await currentCertificate()).fingerprint256;
    expect(second).not.toBe(first);
    expect(await labelled()).toEqual({ AWSCURRENT: second, AWSPREVIOUS: first });
  });

  it('scans ACM and Secrets Manager and reports the certificate close to expiry', async () => {
    const run = await certrotor('scan', '--config', configFile, ...awsFlags());

    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/findings \(\d+, \d+ new\):/);
    expect(run.out).toMatch(/legacy\.internal/);
    expect(run.out).not.toMatch(/failures/);
  });

  it('shows the managed certificate and what the inventory saw in status', async () => {
    const run = await certrotor('status', '--config', configFile, ...awsFlags());

    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const current = await currentCertificate();
    const row = run.out.split('\n').find((line) => line.includes('managed (app-secret)'));
    expect(row).toMatch(/^prod\s+managed \(app-secret\)\s+api\s+(\S+)\s+\d+\s+current v\S+$/);
    expect(current.fingerprint256.replace(/:/g, '')).toContain(/api\s+(\S+)/.exec(row!)![1]);
    expect(run.out).toMatch(/^prod\s+acm:us-east-1\s+.*CN=legacy\.internal\s+\S+\s+2\s+seen /m);
    expect(run.out).toMatch(/^prod\s+secretsmanager:us-east-1:app\/api-tls\s+api\s/m);
  });

  it('watches the private CA certificate itself: the scan records it and status lists it', async () => {
    const run = await certrotor('status', '--config', configFile, ...awsFlags());

    expect(run.code).toBe(0);
    const fingerprint = new X509Certificate(ca.certificatePem).fingerprint256.replace(/:/g, '');
    const row = run.out.split('\n').find((line) => line.includes(ca.arn));
    const columns =
      /^prod\s+(\S+)\s+CN=certrotor cli test private CA, O=certrotor tests\s+(\S+)\s+\d+\s+seen /.exec(
        row ?? '',
      );
    expect(columns?.[1]).toBe(ca.arn);
    expect(fingerprint).toContain(columns![2]);
  });

  it('plans the next rotation of the managed certificate within its horizon', async () => {
    const run = await certrotor('plan', '--config', configFile, '--horizon', '400d', ...awsFlags());

    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/within 400d \(until .+\):/);
    // Said as of now, in the future tense.
    expect(run.out).toMatch(/^ {2}(rotate api\s+.*renewal due in \d+ days|issue api\s+.*issue it now)/m);
    expect(run.out).toMatch(/^ {2}(will expire|expired)\s+.*CN=legacy\.internal will expire in \d+ days/m);
  });

  it('runs one scheduled cycle against AWS and rotates nothing that is not due', async () => {
    const before = await labelled();

    const run = await certrotor('run', '--config', configFile, '--json', ...awsFlags());

    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect((JSON.parse(run.out) as { rotations: unknown[] }).rotations).toEqual([]);
    expect(await labelled()).toEqual(before);
  });

  it('takes credentials and region from the named --profile', async () => {
    const dir = await temp.make('aws-profile');
    await writeFile(
      join(dir, 'credentials'),
      '[emulator]\naws_access_key_id = AKIAIOSFODNN7PROFILE\naws_secret_access_key = fake-profile-secret\n',
    );
    await writeFile(join(dir, 'config'), `[profile emulator]\nregion = ${MOTO_REGION}\n`);
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_CONFIG_FILE: join(dir, 'config'),
    });
    // The profile is the only source of credentials and region here.
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])
      delete process.env[name];
    try {
      const base = ['status', '--config', configFile, '--backend', 'aws', '--endpoint-url', moto.endpoint];

      const known = await certrotor(...base, '--profile', 'emulator');
      const unknown = await certrotor(...base, '--profile', 'nobody');

      expect(known.err).toBe('');
      expect(known.code).toBe(0);
      expect(known.out).toMatch(/managed \(app-secret\)/);
      expect(unknown.code).not.toBe(0);
      expect(unknown.err.split('\n')).toHaveLength(1);
      expect(unknown.err).toMatch(
        /^certrotor: --backend aws: no AWS region \(profile nobody names none, or does not exist\)/,
      );
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });

  it('rotates through the built binary too', async () => {
    const before = (await currentCertificate()).fingerprint256;
    await promisify(execFile)(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs'), '--quiet'], {
      cwd: ROOT,
    });
    await pastIssuanceSecond();

    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'dist', 'certrotor.js'), 'rotate', 'api', '--config', configFile, ...awsFlags()],
      { cwd: ROOT, env: process.env },
    );

    expect(stdout).toMatch(/rotation api \S+: SUCCEEDED/);
    const after = (await currentCertificate()).fingerprint256;
    expect(await labelled()).toEqual({ AWSCURRENT: after, AWSPREVIOUS: before });
  });
});

describe('certrotor upstream with --backend aws', () => {
  it('records announcements and vendor client certificates where the deployed upstream watcher reads them', async () => {
    // Prepare: a configuration with an upstream (its endpoint is not reachable from here)
    const dir = await temp.make('aws-upstream');
    const file = join(dir, 'certrotor.json');
    await writeFile(
      file,
      JSON.stringify({
        version: 1,
        environments: [{ name: 'prod' }],
        upstreams: [{ name: 'vendor', endpoints: [{ host: '127.0.0.1', port: 1, environment: 'prod' }] }],
        aws: { tableName: TABLE },
      }),
    );
    const vendorCa = await buildCa({ commonName: 'Vendor client CA' });
    const client = await buildBundle({
      name: 'vendor-client',
      issuer: vendorCa,
      commonName: 'customer-7',
      dnsNames: [],
      extendedKeyUsage: ['clientAuth'],
      daysLeft: 300,
      lifetimeDays: 365,
    });
    await writeFile(join(dir, 'client.pem'), client.certificatePem);
    await writeFile(join(dir, 'client.key'), client.privateKey.reveal(), { mode: 0o600 });
    const soon = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

    // Act
    const announced = await certrotor(
      'upstream',
      'announce',
      'vendor',
      '--window-start',
      soon(-1),
      '--cutover',
      soon(20),
      '--note',
      'VEND-1 client CA rotation',
      '--config',
      file,
      ...awsFlags(),
    );
    const imported = await certrotor(
      'upstream',
      'import-client-cert',
      'vendor',
      '--cert',
      join(dir, 'client.pem'),
      '--key',
      join(dir, 'client.key'),
      '--json',
      '--config',
      file,
      ...awsFlags(),
    );
    const status = await certrotor('upstream', 'status', '--json', '--config', file, ...awsFlags());

    // Assess: the announcement is in the table, the key in Secrets Manager, status reads both
    expect(announced.code).toBe(0);
    expect(imported.err).toBe('');
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.out)).toMatchObject({
      fingerprintSha256: client.facts.fingerprintSha256,
      announcement: expect.stringMatching(/^vendor:manual:/),
    });
    const stored = await secrets.send(new GetSecretValueCommand({ SecretId: 'certrotor/vendor-client' }));
    expect(parseSecretBundle(stored.SecretString!, 'certrotor/vendor-client').facts.fingerprintSha256).toBe(
      client.facts.fingerprintSha256,
    );
    const [entry] = (
      JSON.parse(status.out) as {
        upstreams: { upstream: string; announcements: { title: string; stage: string }[] }[];
      }
    ).upstreams;
    expect(entry).toMatchObject({
      upstream: 'vendor',
      announcements: [{ title: 'VEND-1 client CA rotation', stage: 'completed' }], // no consumers to wait for
    });
    expect(containsPrivateKey(announced.out + imported.out + status.out + imported.err)).toBe(false);
  });
});

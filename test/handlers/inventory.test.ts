/**
 * The scheduled inventory Lambda against the emulator: certificates imported into ACM and secrets
 * tagged as certificates in Secrets Manager are read, judged against the alert thresholds, recorded in
 * the state table, and new findings published to the certrotor bus (a rule copies them to a queue).
 */
import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { CERTIFICATE_TAG } from '../../lambda/adapters/aws/secrets-manager';
import { COLLECTIONS } from '../../lambda/use-cases/certificate-state';
import { type BuiltCertificate, buildCa, buildCertificate } from '../builders/certificates';
import { useMoto } from '../support/moto';
import { useTempDirs } from '../support/temp-dir';
import {
  type BusSink,
  type CapturedOutput,
  busWithSink,
  captureOutput,
  createTable,
  loadHandler,
  stateStore,
  writeConfig,
} from './support/handler-harness';

type InventoryModule = typeof import('../../lambda/handlers/inventory');

const moto = useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-inventory-test';

let output: CapturedOutput;
let ca: BuiltCertificate;
let sink: BusSink;
let configFile: string;
let inventory: InventoryModule['handler'];
const published: unknown[] = [];
const certificates: Record<'acmSoon' | 'acmHealthy' | 'secretSoon', BuiltCertificate> = {} as never;

const fingerprintHex = async (c: BuiltCertificate) =>
  new (await import('node:crypto')).X509Certificate(c.certificatePem).fingerprint256.replace(/:/g, '');

beforeAll(async () => {
  output = captureOutput();
  ca = await buildCa();
  // Year-long certificates: the thresholds apply as written (shorter lifetimes scale them).
  certificates.acmSoon = await buildCertificate({
    commonName: 'shop.example.com',
    daysLeft: 10,
    lifetimeDays: 365,
    issuer: ca,
  });
  certificates.acmHealthy = await buildCertificate({
    commonName: 'www.example.com',
    daysLeft: 80,
    issuer: ca,
  });
  certificates.secretSoon = await buildCertificate({
    commonName: 'billing.internal',
    daysLeft: 5,
    lifetimeDays: 365,
    issuer: ca,
  });

  const acm = createAwsClient(ACMClient, moto.clientConfig());
  for (const c of [certificates.acmSoon, certificates.acmHealthy]) {
    await acm.send(
      new ImportCertificateCommand({
        Certificate: Buffer.from(c.certificatePem),
        PrivateKey: Buffer.from(c.privateKey.reveal()),
        CertificateChain: Buffer.from(c.chainPem),
      }),
    );
  }
  const secrets = createAwsClient(SecretsManagerClient, moto.clientConfig());
  await secrets.send(
    new CreateSecretCommand({
      Name: 'staging/billing-tls',
      SecretString: JSON.stringify({
        certificatePem: certificates.secretSoon.certificatePem,
        chainPem: certificates.secretSoon.chainPem,
        privateKeyPem: certificates.secretSoon.privateKey.reveal(),
      }),
      Tags: [{ Key: CERTIFICATE_TAG, Value: 'billing' }],
    }),
  );
  await secrets.send(new CreateSecretCommand({ Name: 'staging/db-password', SecretString: 'hunter2' }));

  await createTable(TABLE);
  sink = await busWithSink('certrotor-inventory-test-bus');
  configFile = await writeConfig(await temp.make('inventory'), {
    version: 1,
    environments: [{ name: 'prod' }, { name: 'staging' }],
    sources: [
      { name: 'acm-prod', kind: 'acm', environment: 'prod' },
      { name: 'tagged-secrets', kind: 'secrets-manager', environment: 'staging' },
    ],
  });
  ({ handler: inventory } = await loadHandler<InventoryModule>('inventory', {
    configFile,
    table: TABLE,
    bus: sink.bus,
  }));
});

afterAll(() => output?.restore());

describe('the inventory handler', () => {
  it('reads every ACM certificate and every tagged secret, and reports nothing failed', async () => {
    const result = await inventory();

    expect(result).toMatchObject({ observations: 3, newFindings: 2, failures: [] });
  });

  it('publishes one Certificate Expiring event per certificate that crossed a threshold, naming where it is', async () => {
    const events = await sink.drain();
    published.push(...events);

    const expiring = events.filter((e) => e['detail-type'] === 'Certificate Expiring');
    expect(expiring).toHaveLength(2);
    const about = (cn: string) =>
      expiring.find((e) => (e.detail.certificate as { subject: string }).subject.includes(`CN=${cn}`))
        ?.detail;
    expect(about('shop.example.com')).toMatchObject({
      environments: ['prod'],
      threshold: 14,
      dedupeKey: `expiry:${await fingerprintHex(certificates.acmSoon)}:14d`,
      locations: [{ environment: 'prod', location: 'acm:us-east-1' }],
    });
    expect(about('billing.internal')).toMatchObject({
      environments: ['staging'],
      threshold: 7,
      certificate: expect.objectContaining({ name: 'billing' }),
      locations: [{ environment: 'staging', location: 'secretsmanager:us-east-1:staging/billing-tls' }],
    });
    expect(about('www.example.com')).toBeUndefined();
    expect(events.every((e) => e.source === 'certrotor')).toBe(true);
  });

  it('records the alerted findings and what it observed in the state table', async () => {
    const now = new Date();

    const alerts = await stateStore(TABLE).list(COLLECTIONS.alerts, now);
    const observations = await stateStore(TABLE).list<{ fingerprintSha256?: string }>(
      COLLECTIONS.observations,
      now,
    );

    expect(alerts.map((a) => a.id)).toEqual(
      expect.arrayContaining([
        `expiry:${await fingerprintHex(certificates.acmSoon)}:14d`,
        `expiry:${await fingerprintHex(certificates.secretSoon)}:7d`,
      ]),
    );
    // One row per certificate (keyed by environment, source and ARN), not one per region.
    const ids = observations.map((o) => o.id).sort();
    expect(ids).toHaveLength(3);
    expect(ids.filter((id) => id.startsWith('prod|acm-prod|arn:aws:acm:us-east-1:'))).toHaveLength(2);
    expect(
      ids.filter((id) => /^staging\|secrets-manager\|arn:aws:secretsmanager:.*staging\/billing-tls/.test(id)),
    ).toHaveLength(1);
  });

  it('publishes nothing new when it runs again (findings are deduplicated across runs)', async () => {
    const result = await inventory();

    expect(result).toMatchObject({ observations: 3, newFindings: 0, failures: [] });
    expect(await sink.drain()).toEqual([]);
  });

  it('never writes key material to the bus, the state table or its logs', async () => {
    const table = JSON.stringify(await stateStore(TABLE).list(COLLECTIONS.observations, new Date()));

    expect(published).not.toHaveLength(0);
    expect(JSON.stringify(published)).not.toMatch(/PRIVATE KEY|-----BEGIN/);
    expect(output.text()).not.toMatch(/PRIVATE KEY/);
    expect(table).not.toMatch(/PRIVATE KEY/);
  });
});

describe('the inventory handler when one source is unreachable', () => {
  let isolated: InventoryModule['handler'];

  beforeAll(async () => {
    // ACM alone answers from a closed loopback port; Secrets Manager stays on the emulator.
    // Port 1: nothing listens there, and no parallel suite can take it.
    process.env.AWS_ENDPOINT_URL_ACM = 'http://127.0.0.1:1';
    ({ handler: isolated } = await loadHandler<InventoryModule>('inventory', {
      configFile,
      table: TABLE,
      bus: sink.bus,
    }));
  });

  afterAll(() => {
    delete process.env.AWS_ENDPOINT_URL_ACM;
  });

  it('still reads the other sources and reports the failed one by name', async () => {
    const result = await isolated();

    expect(result.observations).toBe(1);
    expect(result.failures).toEqual([
      { what: 'source acm-prod', error: expect.stringContaining('ListCertificates') },
    ]);
    expect(
      output.records().filter((r) => r.message === 'scan problem' && r.what === 'source acm-prod'),
    ).toHaveLength(1);
  });
});

/**
 * ACM's own expiry events through the acm-expiry-event Lambda: the envelope EventBridge delivers for
 * "ACM Certificate Approaching Expiration", evaluated with certrotor's thresholds against ACM in the
 * emulator, deduplicated with the scheduled inventory's findings through the state table.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CERTIFICATE_TAG } from '../../lambda/adapters/aws/secrets-manager';
import { COLLECTIONS } from '../../lambda/use-cases/certificate-state';
import { type BuiltCertificate, buildCa, buildCertificate } from '../builders/certificates';
import { MOTO_ACCOUNT_ID, useMoto } from '../support/moto';
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

type AcmEventModule = typeof import('../../lambda/handlers/acm-expiry-event');
type InventoryModule = typeof import('../../lambda/handlers/inventory');

const moto = useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-acm-event-test';

let output: CapturedOutput;
let sink: BusSink;
let ca: BuiltCertificate;
let configFile: string;
let onAcmEvent: AcmEventModule['handler'];
let inventory: InventoryModule['handler'];

/** The event exactly as EventBridge delivers ACM's expiry notice to a Lambda target. */
function acmExpiryEvent(arn: string, daysToExpiry: number, region = 'us-east-1') {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'ACM Certificate Approaching Expiration',
    source: 'aws.acm',
    account: MOTO_ACCOUNT_ID,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [arn],
    detail: { DaysToExpiry: daysToExpiry, CommonName: 'example' },
  };
}

async function importIntoAcm(commonName: string, daysLeft: number): Promise<{ arn: string; hex: string }> {
  // Year-long: the thresholds apply as written (shorter lifetimes scale them).
  const certificate = await buildCertificate({ commonName, daysLeft, lifetimeDays: 365, issuer: ca });
  const { CertificateArn } = await createAwsClientAcm().send(
    new ImportCertificateCommand({
      Certificate: Buffer.from(certificate.certificatePem),
      PrivateKey: Buffer.from(certificate.privateKey.reveal()),
      CertificateChain: Buffer.from(certificate.chainPem),
    }),
  );
  const hex = new X509Certificate(certificate.certificatePem).fingerprint256.replace(/:/g, '');
  return { arn: CertificateArn!, hex };
}

function createAwsClientAcm(): ACMClient {
  return new ACMClient(moto.clientConfig());
}

beforeAll(async () => {
  output = captureOutput();
  ca = await buildCa();
  await createTable(TABLE);
  sink = await busWithSink('certrotor-acm-event-test-bus');
  configFile = await writeConfig(await temp.make('acm-event'), {
    version: 1,
    environments: [{ name: 'prod' }, { name: 'staging' }],
    sources: [
      { name: 'acm-prod', kind: 'acm', environment: 'prod', region: 'us-east-1' },
      { name: 'tagged-secrets', kind: 'secrets-manager', environment: 'staging' },
    ],
  });
  const setup = { configFile, table: TABLE, bus: sink.bus };
  ({ handler: onAcmEvent } = await loadHandler<AcmEventModule>('acm-expiry-event', setup));
  ({ handler: inventory } = await loadHandler<InventoryModule>('inventory', setup));
});

afterAll(() => output?.restore());

describe('the ACM expiry event handler', () => {
  it('evaluates the ACM sources of the event region and publishes the finding with certrotor thresholds', async () => {
    const { arn, hex } = await importIntoAcm('shop.example.com', 10);

    const result = await onAcmEvent(acmExpiryEvent(arn, 10));

    expect(result).toEqual({ observations: 1, newFindings: 1, failures: [], covered: true });
    const events = await sink.drain();
    expect(events.map((e) => [e['detail-type'], e.detail.dedupeKey])).toEqual([
      ['Certificate Expiring', `expiry:${hex}:14d`],
    ]);
    expect(await stateStore(TABLE).get(COLLECTIONS.alerts, `expiry:${hex}:14d`, new Date())).toBeDefined();
  });

  it('does not repeat a finding the scheduled inventory already reported', async () => {
    const { arn } = await importIntoAcm('cart.example.com', 6);
    const scheduled = await inventory();
    const fromInventory = await sink.drain();

    const result = await onAcmEvent(acmExpiryEvent(arn, 6));

    expect(scheduled.newFindings).toBe(1);
    expect(fromInventory).toHaveLength(1);
    expect(result).toMatchObject({ newFindings: 0, failures: [] });
    expect(await sink.drain()).toEqual([]);
  });

  it('is a no-op when EventBridge delivers the same ACM event twice', async () => {
    const { arn } = await importIntoAcm('pay.example.com', 2);
    const event = acmExpiryEvent(arn, 2);

    const first = await onAcmEvent(event);
    const second = await onAcmEvent(event);

    expect([first.newFindings, second.newFindings]).toEqual([1, 0]);
    expect(await sink.drain()).toHaveLength(1);
  });

  it('reads only ACM, and does not count as a scheduled inventory run for the dead man switch', async () => {
    const before = output.records().length;
    await new SecretsManagerClient(moto.clientConfig()).send(
      new CreateSecretCommand({
        Name: 'staging/tagged-tls',
        SecretString: (await buildCertificate({ daysLeft: 3, issuer: ca })).certificatePem,
        Tags: [{ Key: CERTIFICATE_TAG, Value: 'tagged' }],
      }),
    );
    const { arn } = await importIntoAcm('docs.example.com', 40);

    const result = await onAcmEvent(acmExpiryEvent(arn, 40));

    expect(result).toMatchObject({ observations: 4, newFindings: 0 });
    const logged = output.records().slice(before);
    expect(logged.some((r) => r.message === 'scan finished')).toBe(true);
    expect(JSON.stringify(logged)).not.toMatch(/InventoryHeartbeat/);
  });

  it('reports an event from a region no ACM source covers instead of dropping it silently', async () => {
    const before = output.records().length;
    const arn = `arn:aws:acm:ap-south-1:${MOTO_ACCOUNT_ID}:certificate/${randomUUID()}`;

    const result = await onAcmEvent(acmExpiryEvent(arn, 12, 'ap-south-1'));

    expect(result).toEqual({ observations: 0, newFindings: 0, failures: [], covered: false });
    expect(output.records().slice(before)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'WARN',
          message: 'ACM event from a region no acm source covers',
          region: 'ap-south-1',
          certificates: [arn],
        }),
      ]),
    );
  });

  it('rejects an event that is not from ACM, naming the field', async () => {
    const event = { ...acmExpiryEvent('arn:aws:acm:us-east-1:1:certificate/x', 3), source: 'aws.health' };

    await expect(onAcmEvent(event)).rejects.toThrow(/ACM event: source: /);
  });
});

describe('the ACM expiry event handler when ACM cannot be read', () => {
  let isolated: AcmEventModule['handler'];

  beforeAll(async () => {
    // Port 1: nothing listens there, and no parallel suite can take it.
    process.env.AWS_ENDPOINT_URL_ACM = 'http://127.0.0.1:1';
    ({ handler: isolated } = await loadHandler<AcmEventModule>('acm-expiry-event', {
      configFile,
      table: TABLE,
      bus: sink.bus,
    }));
  });

  afterAll(() => {
    delete process.env.AWS_ENDPOINT_URL_ACM;
  });

  it('fails the invocation naming the source, so Lambda retries the event', async () => {
    const arn = `arn:aws:acm:us-east-1:${MOTO_ACCOUNT_ID}:certificate/${randomUUID()}`;

    await expect(isolated(acmExpiryEvent(arn, 5))).rejects.toThrow(
      new RegExp(`evaluate ACM expiry event ${arn}: source acm-prod: .*ListCertificates`),
    );
  });
});

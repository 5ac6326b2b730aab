/**
 * The deployed inventory job watches the CA of every ACM PCA issuer (AWS sends no event for a private
 * CA nearing expiry): the emulated CA, valid for a year, crosses a 400-day threshold and is published
 * as Certificate Expiring; a configured CA that does not exist is one failure, not an abort.
 */
import { ACMPCAClient } from '@aws-sdk/client-acm-pca';
import { X509Certificate } from 'node:crypto';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { type EmulatedCa, createRootCa } from '../support/emulated-pca';
import { MOTO_ACCOUNT_ID, MOTO_REGION, useMoto } from '../support/moto';
import { useTempDirs } from '../support/temp-dir';
import {
  type BusSink,
  type CapturedOutput,
  busWithSink,
  captureOutput,
  createTable,
  loadHandler,
  writeConfig,
} from './support/handler-harness';

type InventoryModule = typeof import('../../lambda/handlers/inventory');

const moto = useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-inventory-ca-test';
const MISSING_CA = `arn:aws:acm-pca:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:certificate-authority/00000000-0000-0000-0000-000000000000`;

let output: CapturedOutput;
let sink: BusSink;
let ca: EmulatedCa;
let inventory: InventoryModule['handler'];

beforeAll(async () => {
  output = captureOutput();
  ca = await createRootCa(
    createAwsClient(ACMPCAClient, { ...moto.clientConfig(), maxAttempts: 1 }),
    'certrotor deployed inventory CA',
  );
  await createTable(TABLE);
  sink = await busWithSink('certrotor-inventory-ca-test-bus');
  const configFile = await writeConfig(await temp.make('inventory-ca'), {
    version: 1,
    environments: [{ name: 'prod' }, { name: 'staging' }],
    issuers: [
      { name: 'private-ca', kind: 'acm-pca', certificateAuthorityArn: ca.arn },
      { name: 'gone-ca', kind: 'acm-pca', certificateAuthorityArn: MISSING_CA },
    ],
    destinations: [{ name: 'app-secret', kind: 'secrets-manager', environment: 'prod', secretId: 'app/tls' }],
    certificates: [
      { name: 'api', dnsNames: ['api.internal'], issuer: 'private-ca', destinations: ['app-secret'] },
    ],
    notifications: { thresholds: [400] },
  });
  ({ handler: inventory } = await loadHandler<InventoryModule>('inventory', {
    configFile,
    table: TABLE,
    bus: sink.bus,
  }));
});

afterAll(() => output?.restore());

describe('the inventory handler watching private CAs', () => {
  it('publishes Certificate Expiring for a CA within the threshold and names the CA that could not be read', async () => {
    // Act
    const result = await inventory();
    const events = await sink.drain();

    // Assess
    expect(result).toMatchObject({
      observations: 1,
      newFindings: 1,
      failures: [
        {
          what: 'source issuer:gone-ca',
          error: expect.stringContaining(`acm-pca:DescribeCertificateAuthority ${MISSING_CA}`),
        },
      ],
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      'detail-type': 'Certificate Expiring',
      detail: {
        environments: ['prod'],
        threshold: 400,
        certificate: expect.objectContaining({
          fingerprintSha256: new X509Certificate(ca.certificatePem).fingerprint256,
        }),
        locations: [{ environment: 'prod', location: ca.arn }],
      },
    });
  });
});

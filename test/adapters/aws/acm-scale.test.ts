/**
 * 10,000 certificates in the emulator: the ACM source lists them with a handful of paginated calls,
 * fetches each body once, and on the next run makes no per-certificate call at all.
 */
import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import { AcmSource } from '../../../lambda/adapters/aws/acm';
import { createAwsClient } from '../../../lambda/adapters/aws/clients';
import type { CertificateBundle } from '../../../lambda/domain/ports';
import { buildBundle } from '../../builders/bundles';
import { buildCa } from '../../builders/certificates';
import { countCalls } from '../../support/aws-call-counter';
import { useMoto } from '../../support/moto';

const CERTIFICATES = 10_000;
/** ACM's largest ListCertificates page. */
const PAGE = 1000;

jest.setTimeout(300_000);

const moto = useMoto();
let acm: ACMClient;

afterAll(() => moto.reset());

/** ImportCertificate accepts the same body many times (a new ARN each), so a few bodies suffice. */
async function seed(count: number, bodies: readonly CertificateBundle[], concurrency = 16): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const body = bodies[next++ % bodies.length]!;
      await acm.send(
        new ImportCertificateCommand({
          Certificate: Buffer.from(body.certificatePem),
          PrivateKey: Buffer.from(body.privateKey.reveal()),
          CertificateChain: Buffer.from(body.chainPem),
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

describe('ACM inventory at 10,000 certificates', () => {
  beforeAll(async () => {
    acm = createAwsClient(ACMClient, moto.clientConfig());
    const ca = await buildCa();
    // EC bodies: the emulator parses every imported key, and RSA keys cost it several times more.
    const bodies = await Promise.all(
      (['EC_P256', 'EC_P384', 'EC_P256', 'EC_P384'] as const).map((keySpec, i) =>
        buildBundle({ issuer: ca, keySpec, dnsNames: [`host-${i}.internal`], daysLeft: 20 + i }),
      ),
    );
    await seed(CERTIFICATES, bodies);
  });

  it('lists every certificate with paginated calls, not one call per certificate', async () => {
    const source = new AcmSource({ client: acm, environment: 'prod', region: 'us-east-1' });
    const calls = countCalls(acm);

    const items = await source.discover();

    expect(items).toHaveLength(CERTIFICATES);
    expect(calls.of('ListCertificatesCommand')).toBeLessThanOrEqual(Math.ceil(CERTIFICATES / PAGE) + 1);
    expect(calls.of('DescribeCertificateCommand')).toBe(0);
    // The first run reads each body once: fingerprints and serials are not in the summary.
    expect(calls.of('GetCertificateCommand')).toBe(CERTIFICATES);
    expect(new Set(items.map((i) => i.facts.curve))).toEqual(new Set(['P-256', 'P-384']));

    calls.reset();
    const again = await source.discover();

    expect(again).toHaveLength(CERTIFICATES);
    expect(calls.snapshot()).toEqual({ ListCertificatesCommand: calls.of('ListCertificatesCommand') });
    expect(calls.of('ListCertificatesCommand')).toBeLessThanOrEqual(Math.ceil(CERTIFICATES / PAGE) + 1);
    expect(source.lastDiscovery).toMatchObject({ getCertificateCalls: 0, cacheHits: CERTIFICATES });
  });
});

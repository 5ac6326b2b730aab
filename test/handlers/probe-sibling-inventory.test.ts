/**
 * The deployed probe job's sibling sweep reads the inventory sources again: the real probe handler
 * (as the default probe runs it) against the emulator. The inventory job recorded a certificate in
 * ACM; ACM's copy was replaced since; an endpoint in another environment serves an expired copy of
 * the same certificate. The probe run's finding names the ACM place with what ACM holds now, read in
 * that same run, and a sibling source that fails is one reported failure, not an aborted run.
 */
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Server, createServer } from 'node:tls';
import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { COLLECTIONS } from '../../lambda/use-cases/certificate-state';
import { type BuiltCertificate, buildCa, buildCertificate } from '../builders/certificates';
import { useMoto } from '../support/moto';
import { useTempDirs } from '../support/temp-dir';
import {
  type CapturedOutput,
  type ReceivedEvent,
  busWithSink,
  captureOutput,
  createTable,
  loadHandler,
  stateStore,
  writeConfig,
} from './support/handler-harness';

type ProbeModule = typeof import('../../lambda/handlers/probe');
type InventoryModule = typeof import('../../lambda/handlers/inventory');

const moto = useMoto();
const temp = useTempDirs();
const DAY = 86_400_000;

let output: CapturedOutput;
const servers: Server[] = [];

beforeAll(() => {
  output = captureOutput();
});

afterAll(async () => {
  output?.restore();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A TLS server on loopback presenting `certificate` to every client. */
async function serve(certificate: BuiltCertificate): Promise<number> {
  const server = createServer({
    cert: certificate.certificatePem + certificate.chainPem,
    key: certificate.privateKey.reveal(),
  });
  server.on('secureConnection', (socket) => socket.end());
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as { port: number }).port;
}

const fingerprint = (c: BuiltCertificate) => new X509Certificate(c.certificatePem).fingerprint256;

interface Scenario {
  readonly table: string;
  readonly recorded: BuiltCertificate;
  readonly replacement: BuiltCertificate;
  readonly probeRun: Awaited<ReturnType<ProbeModule['handler']>>;
  readonly expired: ReceivedEvent[];
}

/**
 * Recorded by an inventory run: ACM (prod) holds `name` expiring in 4 days. Then ACM's copy is
 * replaced (same ARN) by one valid 300 days, staging serves an expired copy, and the probe runs.
 * `prepareProbe` runs in the probe handler's module registry (to make a source fail).
 */
async function scenario(label: string, prepareProbe?: () => Promise<void>): Promise<Scenario> {
  const now = Date.now();
  const name = `${label}.internal.example`;
  const ca = await buildCa({ commonName: `${label} CA`, now: new Date(now - 400 * DAY) });
  const build = (notAfter: number) =>
    buildCertificate({ issuer: ca, commonName: name, notAfter: new Date(notAfter), lifetimeDays: 365 });
  const recorded = await build(now + 4 * DAY + 3_600_000);
  const replacement = await build(now + 300 * DAY);
  const acm = createAwsClient(ACMClient, moto.clientConfig());
  const { CertificateArn } = await acm.send(
    new ImportCertificateCommand({
      Certificate: Buffer.from(recorded.certificatePem),
      PrivateKey: Buffer.from(recorded.privateKey.reveal()),
      CertificateChain: Buffer.from(recorded.chainPem),
    }),
  );

  const directory = await temp.make(`probe-sibling-${label}`);
  const caFile = join(directory, 'ca.pem');
  await writeFile(caFile, ca.certificatePem);
  const table = `certrotor-probe-sibling-${label}`;
  await createTable(table);
  const sink = await busWithSink(`certrotor-probe-sibling-${label}-bus`);
  const staging = await serve(await build(now - 2 * DAY));
  const configFile = await writeConfig(directory, {
    version: 1,
    environments: [{ name: 'prod' }, { name: 'staging' }],
    sources: [
      { name: 'acm-prod', kind: 'acm', environment: 'prod' },
      { name: 'tagged-secrets', kind: 'secrets-manager', environment: 'prod' },
    ],
    endpoints: [
      {
        name: 'orders-staging',
        environment: 'staging',
        host: '127.0.0.1',
        port: staging,
        servername: name,
        caFile,
      },
    ],
    probe: { timeout: '2s' },
  });
  const setup = { configFile, table, bus: sink.bus };
  const inventory = await loadHandler<InventoryModule>('inventory', setup);
  expect(await inventory.handler()).toMatchObject({ failures: [] });
  await sink.drain();

  // Since the inventory run, ACM's copy was replaced in place (a renewal imported under its ARN).
  await acm.send(
    new ImportCertificateCommand({
      CertificateArn,
      Certificate: Buffer.from(replacement.certificatePem),
      PrivateKey: Buffer.from(replacement.privateKey.reveal()),
      CertificateChain: Buffer.from(replacement.chainPem),
    }),
  );

  const probe = await loadHandler<ProbeModule>('probe', setup, prepareProbe);
  const probeRun = await probe.handler();
  const expired = (await sink.drain()).filter((e) => e['detail-type'] === 'Certificate Expired');
  return { table, recorded, replacement, probeRun, expired };
}

/** The ACM places (every certificate ACM lists) as the state table holds them after the probe run. */
async function acmObservations(table: string) {
  const stored = await stateStore(table).list<{
    location: string;
    notAfter?: string;
    fingerprintSha256?: string;
  }>(COLLECTIONS.observations, new Date());
  return stored.map((i) => i.value).filter((v) => v.location === 'acm:us-east-1');
}

describe("the probe job's sibling sweep over the inventory", () => {
  let run: Scenario;

  beforeAll(async () => {
    run = await scenario('renewed');
  });

  it('names the ACM place with what ACM holds now, read in the same probe run, not what the inventory job recorded', () => {
    expect(run.probeRun.failures).toEqual([]);
    expect(run.expired).toHaveLength(1);
    const detail = run.expired[0]!.detail as {
      summary: string;
      locations: { environment: string; location: string }[];
    };
    expect(detail.summary).toMatch(/; also in prod: ok$/);
    expect(detail.summary).not.toContain('expires in 4 days');
    expect(detail.locations).toEqual(
      expect.arrayContaining([{ environment: 'prod', location: 'acm:us-east-1 — ok' }]),
    );
  });

  it('records the ACM place with the replacement certificate and its new dates', async () => {
    const recorded = await acmObservations(run.table);
    expect(recorded).toEqual([
      expect.objectContaining({
        fingerprintSha256: fingerprint(run.replacement),
        notAfter: new Date(new X509Certificate(run.replacement.certificatePem).validTo).toISOString(),
      }),
    ]);
  });
});

describe('a sibling source that fails during the probe run', () => {
  let run: Scenario;
  let secrets: AwsClientStub<SecretsManagerClient> | undefined;

  beforeAll(async () => {
    run = await scenario('refused', async () => {
      // The error path: Secrets Manager refuses the listing (a role without the grant).
      const isolated = await import('@aws-sdk/client-secrets-manager');
      secrets = mockClient(isolated.SecretsManagerClient);
      secrets.on(isolated.ListSecretsCommand).rejects(
        new isolated.SecretsManagerServiceException({
          name: 'AccessDeniedException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: 'not authorized to perform secretsmanager:ListSecrets',
        }),
      );
    });
  });

  afterAll(() => secrets?.restore());

  it('is reported as a failure naming the source, and the probe run still completes', () => {
    expect(run.probeRun.failures).toEqual([
      { what: 'source secrets-manager', error: expect.stringContaining('ListSecrets') },
    ]);
    expect(run.probeRun.observations).toBeGreaterThanOrEqual(2);
  });

  it('still names the ACM place, read from the source that answered', () => {
    expect(run.expired).toHaveLength(1);
    expect((run.expired[0]!.detail as { summary: string }).summary).toMatch(/; also in prod: ok$/);
  });
});

describe('the probe of a network placement that does not declare it reaches the inventory APIs', () => {
  let run: Scenario;

  beforeAll(async () => {
    // As the construct sets it on a placement's probe without `readsInventory`.
    process.env.CERTROTOR_PROBE_READS_INVENTORY = 'false';
    try {
      run = await scenario('placed');
    } finally {
      delete process.env.CERTROTOR_PROBE_READS_INVENTORY;
    }
  });

  it("names the ACM place from the inventory job's last recorded facts, judged as of now, and reads no source", async () => {
    expect(run.probeRun.failures).toEqual([]);
    expect(run.expired).toHaveLength(1);
    expect((run.expired[0]!.detail as { summary: string }).summary).toMatch(
      /; also in prod: expires in 4 days$/,
    );
    const recorded = await acmObservations(run.table);
    expect(recorded.map((v) => v.fingerprintSha256)).toContain(fingerprint(run.recorded));
    expect(recorded.map((v) => v.fingerprintSha256)).not.toContain(fingerprint(run.replacement));
  });
});

/**
 * `certrotor rotate` through the built binary (dist/certrotor.js) with an `acm` issuer (ACM exportable
 * public certificates) against the AWS emulator: RequestCertificate with export enabled, the
 * validation CNAMEs written in moto's Route 53, ExportCertificate with a passphrase, the key decrypted
 * in the CLI, and delivery to two real TLS hosts (dist/demo-host.js over `files` destinations),
 * verified by the rotation engine's fresh handshakes and again by this test's own.
 *
 * The CLI runs with the local backend: `files` destinations (hosts the CLI installs on) run there, and
 * an `acm` issuer runs on both backends. The aws backend's rotation builds the same issuer
 * (lambda/wiring/acm-issuer.ts); test/use-cases/acm-renewals.test.ts covers the redistribution.
 *
 * What moto (5.2.5) does not implement here: it never resolves the CNAMEs (it issues after
 * MOTO_ACM_VALIDATION_WAIT seconds; this suite starts its own emulator with 2), and its certificates
 * are self-signed under an "Amazon" issuer name, so they chain to no root: the test's handshakes read
 * the served leaf without chain verification (the engine verifies by the served fingerprint, as for
 * every issuer). ACM's managed renewal is not implemented either (moto never renews an ARN, and a
 * re-import makes it an imported, non-exportable certificate): a second rotation through the binary is
 * refused because ACM still holds the distributed version, which is what real ACM does before it
 * renews; the renewal itself is the second test, after a first rotation against moto, with ACM's
 * DescribeCertificate and ExportCertificate of the renewed version from aws-sdk-client-mock (request
 * and response shapes typed by the SDK) and the reconciliation and the rotation run in this process
 * through the CLI's local wiring (a mock cannot reach into the binary's process).
 */
import { spawn } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:tls';
import { join, resolve } from 'node:path';
import {
  ACMClient,
  DescribeCertificateCommand,
  type DescribeCertificateCommandOutput,
  ExportCertificateCommand,
  type ExportCertificateCommandInput,
  ListCertificatesCommand,
  RequestCertificateCommand,
} from '@aws-sdk/client-acm';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import {
  ACM_ISSUANCE_COLLECTION,
  type AcmIssuanceRecord,
  readAcmCertificateStatus,
} from '../../lambda/adapters/aws/acm-exportable-issuer';
import { buildLocalRuntime } from '../../lambda/cli/local-runtime';
import { validateConfig } from '../../lambda/config/configuration';
import { acmIssuedCertificates } from '../../lambda/config/views/planner';
import { reconcileAcmRenewals } from '../../lambda/use-cases/acm-renewals';
import { rotateCertificate } from '../../lambda/use-cases/rotation/in-process-driver';
import { buildCertificate } from '../builders/certificates';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import { LocalCaIssuer } from '../../lambda/adapters/local/local-ca-issuer';
import { readCertificateState } from '../../lambda/use-cases/certificate-state';
import { type ServerProcess, startDemoHost, stopAllServers } from '../support/fleet-hosts';
import { FAKE_CREDENTIALS, type RunningMoto, awsClientConfig, startMoto } from '../support/moto';
import { createTempDirs } from '../support/temp-dir';

jest.setTimeout(120_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const CERT = 'api';
const NAME = 'api.example.test';
const HOUR = 3_600_000;

const temp = createTempDirs();
let moto: RunningMoto;
let acm: ACMClient;
let route53: Route53Client;

beforeAll(async () => {
  const previous = process.env.MOTO_ACM_VALIDATION_WAIT;
  process.env.MOTO_ACM_VALIDATION_WAIT = '2';
  try {
    moto = await startMoto();
  } finally {
    if (previous === undefined) delete process.env.MOTO_ACM_VALIDATION_WAIT;
    else process.env.MOTO_ACM_VALIDATION_WAIT = previous;
  }
  acm = new ACMClient(awsClientConfig(moto.endpoint));
  route53 = new Route53Client(awsClientConfig(moto.endpoint));
});

afterAll(async () => {
  acm?.destroy();
  route53?.destroy();
  await moto?.stop();
});

afterEach(async () => {
  await stopAllServers();
  await temp.cleanup();
});

interface Host {
  readonly name: string;
  readonly dir: string;
  readonly port: number;
  readonly server: ServerProcess;
}

/** Two demo TLS hosts serving a hand-installed certificate for NAME, and the configuration. */
async function startFleet(zoneId: string): Promise<{ root: string; configFile: string; hosts: Host[] }> {
  const root = await temp.make('cli-acm');
  const ca = new LocalCaIssuer({
    directory: join(root, 'ca'),
    clock: () => new Date(Date.now() - 24 * HOUR),
  });
  const installed = await ca.issue(
    {
      name: CERT,
      version: 'hand-installed',
      commonName: NAME,
      dnsNames: [NAME],
      keySpec: 'EC_P256',
      usage: 'server',
      validityDays: 30,
      idempotencyKey: 'hand-installed',
    },
    new Date(Date.now() - 2 * HOUR),
  );
  const hosts: Host[] = [];
  for (const name of ['web-1', 'web-2']) {
    const dir = join(root, 'hosts', name);
    await mkdir(dir, { recursive: true });
    writeFileSync(join(dir, 'key.pem'), installed.privateKey.reveal(), { mode: 0o600 });
    writeFileSync(join(dir, 'cert.pem'), installed.certificatePem);
    writeFileSync(join(dir, 'chain.pem'), installed.chainPem);
    writeFileSync(join(dir, 'fullchain.pem'), installed.certificatePem + installed.chainPem);
    const server = await startDemoHost(dir);
    hosts.push({ name, dir, port: server.port, server });
  }
  const configFile = join(root, 'certrotor.json');
  const config = {
    version: 1,
    environments: [{ name: 'prod' }],
    issuers: [{ name: 'public', kind: 'acm', validation: { route53: { hostedZoneId: zoneId } } }],
    hosts: hosts.map((h) => ({
      name: h.name,
      environment: 'prod',
      address: '127.0.0.1',
      endpoint: { port: h.port, servername: NAME },
    })),
    destinations: hosts.map((h) => ({
      name: `${h.name}-files`,
      kind: 'files',
      host: h.name,
      directory: h.dir,
      reloadCommand: h.server.reload,
      reloadTimeout: '5s',
    })),
    certificates: [
      {
        name: CERT,
        commonName: NAME,
        dnsNames: [NAME],
        keySpec: 'RSA_2048',
        usage: 'server',
        issuer: 'public',
        validity: '198d',
        destinations: hosts.map((h) => `${h.name}-files`),
        rollout: {
          canary: 1,
          batchSize: 1,
          failureTolerance: 0,
          verifyTimeout: '3s',
          verifyInterval: '100ms',
        },
      },
    ],
    probe: { timeout: '2s' },
    local: { stateDirectory: join(root, 'state'), events: { stdout: true } },
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  return { root, configFile, hosts };
}

async function rotate(configFile: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [CLI, 'rotate', CERT, '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NO_COLOR: '1',
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, out };
}

/**
 * The leaf a host serves now, by a fresh handshake (no session reuse). moto's certificates chain to
 * no root, so the chain is not verified here; the name is.
 */
function servedLeaf(port: number): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect({ host: '127.0.0.1', port, servername: NAME, rejectUnauthorized: false }, () => {
      const leaf = socket.getPeerX509Certificate();
      socket.destroy();
      if (!leaf) return fail(new Error('no certificate served'));
      if (!leaf.checkHost(NAME)) return fail(new Error(`served certificate is not for ${NAME}`));
      done(leaf.fingerprint256);
    });
    socket.setTimeout(3000, () => socket.destroy(new Error('handshake timed out')));
    socket.once('error', fail);
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

describe('an acm issuer delivering to real TLS hosts (moto ACM and Route 53; the binary, then the renewal in process)', () => {
  it('requests an exportable certificate, validates it through Route 53, exports it and every host serves it, verified by fresh handshakes', async () => {
    const zone = await route53.send(
      new CreateHostedZoneCommand({ Name: 'example.test', CallerReference: `acm-e2e-${Date.now()}` }),
    );
    const zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
    const fleet = await startFleet(zoneId);

    const run = await rotate(fleet.configFile);
    expect(run.out).toMatch(new RegExp(`rotation ${CERT} v[0-9a-f]+: SUCCEEDED`));
    expect(run.code).toBe(0);

    // What ACM holds is what every host serves.
    const state = new FileStateStore({ directory: join(fleet.root, 'state', 'state') });
    const record = (await state.get<AcmIssuanceRecord>(
      ACM_ISSUANCE_COLLECTION,
      `public/${CERT}`,
      new Date(),
    ))!.value;
    const detail = (await acm.send(new DescribeCertificateCommand({ CertificateArn: record.certificateArn })))
      .Certificate!;
    expect(detail.Options?.Export).toBe('ENABLED');
    const installed = new X509Certificate(readFileSync(join(fleet.hosts[0]!.dir, 'cert.pem')));
    expect(installed.serialNumber.replace(/^0+/, '')).toBe(BigInt(detail.Serial!).toString(16).toUpperCase());
    const served = await Promise.all(fleet.hosts.map((h) => servedLeaf(h.port)));
    expect(served).toEqual([installed.fingerprint256, installed.fingerprint256]);
    const current = (await readCertificateState(state, CERT, new Date()))?.value.current;
    expect(Date.parse(current!.notAfter)).toBe(detail.NotAfter!.getTime());

    // The validation CNAMEs stay in the zone (ACM validates its renewals through them).
    const records = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    expect((records.ResourceRecordSets ?? []).filter((r) => r.Type === 'CNAME').map((r) => r.Name)).toEqual(
      detail.DomainValidationOptions!.map((o) => o.ResourceRecord!.Name),
    );
    // No key and no passphrase in the output or the state; the key is only on the hosts and in the key store.
    expect(run.out).not.toContain('PRIVATE KEY');
    for (const file of filesUnder(join(fleet.root, 'state', 'state')))
      expect(readFileSync(file, 'utf8')).not.toContain('PRIVATE KEY');

    // A second rotation before ACM renewed: refused with the reason, nothing requested, hosts unchanged.
    const certificatesBefore = (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList!
      .length;
    const again = await rotate(fleet.configFile);
    expect(again.code).not.toBe(0);
    expect(again.out).toContain('ACM has not renewed it yet');
    expect(again.out).not.toMatch(/\n\s+at .*\(/); // one clear line, no stack trace
    expect((await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList).toHaveLength(
      certificatesBefore,
    );
    expect(await Promise.all(fleet.hosts.map((h) => servedLeaf(h.port)))).toEqual(served);
  });

  it("redistributes ACM's renewal of the same certificate: the reconciliation finds it, the rotation exports the renewed material with no new request and every host serves it", async () => {
    const zone = await route53.send(
      new CreateHostedZoneCommand({ Name: 'example.test', CallerReference: `acm-renew-${Date.now()}` }),
    );
    const fleet = await startFleet(zone.HostedZone!.Id!.replace('/hostedzone/', ''));
    const first = await rotate(fleet.configFile);
    expect(first.code).toBe(0);
    const state = new FileStateStore({ directory: join(fleet.root, 'state', 'state') });
    const arn = (await state.get<AcmIssuanceRecord>(ACM_ISSUANCE_COLLECTION, `public/${CERT}`, new Date()))!
      .value.certificateArn;
    const distributed = new X509Certificate(readFileSync(join(fleet.hosts[0]!.dir, 'cert.pem')));
    const chainPem = readFileSync(join(fleet.hosts[0]!.dir, 'chain.pem'), 'utf8');

    // moto has no managed renewal: ACM's renewed version of the same ARN comes from aws-sdk-client-mock,
    // in this process (the rotation runs through the use case with the CLI's local wiring).
    const renewed = await buildCertificate({
      dnsNames: [NAME],
      keySpec: 'RSA_2048',
      lifetimeDays: 400,
      daysLeft: 399,
    });
    const renewedNotAfter = new Date(new X509Certificate(renewed.certificatePem).validTo);
    const mock = mockClient(ACMClient);
    try {
      const described: DescribeCertificateCommandOutput['Certificate'] = {
        CertificateArn: arn,
        Status: 'ISSUED',
        NotAfter: renewedNotAfter,
        Serial: new X509Certificate(renewed.certificatePem).serialNumber,
        Options: { Export: 'ENABLED' },
        RenewalSummary: { RenewalStatus: 'SUCCESS', DomainValidationOptions: [], UpdatedAt: new Date() },
      };
      mock.on(DescribeCertificateCommand, { CertificateArn: arn }).resolves({ Certificate: described });
      mock.on(ExportCertificateCommand).callsFake((input: ExportCertificateCommandInput) => ({
        Certificate: renewed.certificatePem,
        CertificateChain: chainPem,
        PrivateKey: createPrivateKey(renewed.privateKey.reveal())
          .export({
            type: 'pkcs8',
            format: 'pem',
            cipher: 'aes-256-cbc',
            passphrase: Buffer.from(input.Passphrase!).toString('ascii'),
          })
          .toString(),
      }));
      mock.on(RequestCertificateCommand).rejects(new Error('a renewal must not request a new certificate'));

      const config = validateConfig(JSON.parse(readFileSync(fleet.configFile, 'utf8')), fleet.configFile);
      const runtime = buildLocalRuntime(config, { clock: () => new Date() });
      const checks = await reconcileAcmRenewals(
        {
          state: runtime.state,
          clock: () => new Date(),
          status: (_issuer, certificateArn) =>
            readAcmCertificateStatus(new ACMClient({ region: 'us-east-1' }), certificateArn),
        },
        acmIssuedCertificates(config),
      );
      expect(checks).toEqual([
        expect.objectContaining({ name: CERT, certificateArn: arn, outcome: 'renewed' }),
      ]);

      const result = await rotateCertificate(
        {
          issuers: runtime.issuers,
          destinations: runtime.destinations,
          bundles: runtime.bundles,
          state: runtime.state,
          prober: runtime.prober,
          clock: () => new Date(),
          sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        },
        runtime.specs.find((spec) => spec.name === CERT)!,
        { reason: checks[0]!.reason, owner: 'acm-renewal-test' },
      );
      expect(result.status).toBe('succeeded');
      expect(mock.commandCalls(RequestCertificateCommand)).toHaveLength(0);
      expect(mock.commandCalls(ExportCertificateCommand)).toHaveLength(1);
    } finally {
      mock.restore();
    }
    const renewedFingerprint = new X509Certificate(renewed.certificatePem).fingerprint256;
    expect(renewedFingerprint).not.toBe(distributed.fingerprint256);
    expect(await Promise.all(fleet.hosts.map((h) => servedLeaf(h.port)))).toEqual([
      renewedFingerprint,
      renewedFingerprint,
    ]);
    const current = (await readCertificateState(state, CERT, new Date()))?.value;
    expect(Date.parse(current!.current!.notAfter)).toBe(renewedNotAfter.getTime());
    expect(current!.previous?.fingerprintSha256).toBe(distributed.fingerprint256);
  });
});

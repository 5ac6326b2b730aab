/**
 * `certrotor run` with an `acm` issuer, through the built binary (dist/certrotor.js): the cycle
 * reconciles ACM's renewals (lambda/use-cases/acm-renewals.ts, the deployed planner's decision) and
 * redistributes a renewed certificate to two real TLS hosts (dist/demo-host.js over `files`
 * destinations), verified by fresh handshakes; before ACM renews, `run` does not try.
 *
 * The certificate's own renewal policy (`renewBeforePercentage: 99.99999`) says due seconds after a
 * version's notBefore: what keeps `run` from rotating is ACM's reconciliation alone, and what makes it
 * rotate is ACM's renewal.
 *
 * What moto (5.2.5) lacks: ACM's managed renewal (moto never renews an ARN, and a re-import makes it
 * an imported, non-exportable certificate). The binary is another process, so aws-sdk-client-mock
 * cannot reach it; this suite's moto server is started by test/support/moto-acm-renewal.py, which is
 * moto's server plus one test-only route renewing an ARN the way ACM does (same ARN, still exportable,
 * new key, later NotAfter). RequestCertificate, DescribeCertificate, ExportCertificate and Route 53
 * are moto's own. As in test/cli/acm-rotate.test.ts, moto issues after MOTO_ACM_VALIDATION_WAIT
 * seconds (2 here) and its certificates chain to no root: the handshakes read the served leaf.
 */
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:tls';
import { join, resolve } from 'node:path';
import { ACMClient, ExportCertificateCommand, ListCertificatesCommand } from '@aws-sdk/client-acm';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import {
  ACM_ISSUANCE_COLLECTION,
  type AcmIssuanceRecord,
} from '../../lambda/adapters/aws/acm-exportable-issuer';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import { LocalCaIssuer } from '../../lambda/adapters/local/local-ca-issuer';
import { readCertificateState } from '../../lambda/use-cases/certificate-state';
import { type ServerProcess, startDemoHost, stopAllServers } from '../support/fleet-hosts';
import { FAKE_CREDENTIALS, type RunningMoto, awsClientConfig, startMoto } from '../support/moto';
import { createTempDirs } from '../support/temp-dir';

jest.setTimeout(120_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const LAUNCHER = resolve(__dirname, '..', 'support', 'moto-acm-renewal.py');
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
    moto = await startMoto({ launcher: LAUNCHER });
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
  readonly dir: string;
  readonly port: number;
}

/** Two demo TLS hosts serving a hand-installed certificate for NAME, and the configuration. */
async function startFleet(zoneId: string): Promise<{ root: string; configFile: string; hosts: Host[] }> {
  const root = await temp.make('cli-acm-run');
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
  const hosts: (Host & { name: string; server: ServerProcess })[] = [];
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
        // Due by certrotor's own renewal time a few seconds after any version's notBefore (3 s of
        // moto's 365 days): only ACM's reconciliation keeps run from rotating.
        renewal: { renewBeforePercentage: 99.99999 },
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

interface RunReport {
  readonly rotations: { name: string; status: string; reason?: string; newFingerprint?: string }[];
  readonly deferred: unknown[];
  readonly failures: { what: string; error: string }[];
}

async function run(configFile: string): Promise<{ code: number | null; report: RunReport; all: string }> {
  const child = spawn(process.execPath, [CLI, 'run', '--json', '--config', configFile], {
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
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  let report: RunReport;
  try {
    report = JSON.parse(out) as RunReport;
  } catch {
    throw new Error(`certrotor run printed no JSON (exit ${code}):\n${out}\n${err}`);
  }
  return { code, report, all: out + err };
}

/** The leaf a host serves now, by a fresh handshake (no session reuse); moto's chain has no root. */
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

/** ACM renews the ARN (the launcher's route: moto has no managed renewal). */
async function acmRenews(arn: string): Promise<void> {
  const response = await fetch(
    new URL(`/_certrotor_test/acm/renew?arn=${encodeURIComponent(arn)}`, moto.endpoint),
    { method: 'POST' },
  );
  if (!response.ok) throw new Error(`renewal of ${arn}: ${response.status} ${await response.text()}`);
}

async function acmCertificateCount(): Promise<number> {
  return (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList!.length;
}

describe('certrotor run with an acm issuer (the binary, moto ACM and Route 53, two TLS hosts)', () => {
  it('issues first by its own renewal time, then waits for ACM without trying, and redistributes the renewed certificate of the same ARN once ACM renews it', async () => {
    const zone = await route53.send(
      new CreateHostedZoneCommand({ Name: 'example.test', CallerReference: `acm-run-${Date.now()}` }),
    );
    const fleet = await startFleet(zone.HostedZone!.Id!.replace('/hostedzone/', ''));
    const state = new FileStateStore({ directory: join(fleet.root, 'state', 'state') });

    // Never requested: certrotor's own renewal decision starts the first rotation.
    const first = await run(fleet.configFile);
    expect(first.report.rotations).toEqual([expect.objectContaining({ name: CERT, status: 'succeeded' })]);
    expect(first.report.failures).toEqual([]);
    expect(first.code).toBe(0);
    const arn = (await state.get<AcmIssuanceRecord>(ACM_ISSUANCE_COLLECTION, `public/${CERT}`, new Date()))!
      .value.certificateArn;
    const distributed = readFileSync(join(fleet.hosts[0]!.dir, 'cert.pem'), 'utf8');
    const firstFingerprint = new X509Certificate(distributed).fingerprint256;
    expect(await Promise.all(fleet.hosts.map((h) => servedLeaf(h.port)))).toEqual([
      firstFingerprint,
      firstFingerprint,
    ]);
    const requested = await acmCertificateCount();
    // Past the distributed version's own renewal time (notBefore + 3 s), so only ACM decides.
    const renewAt = Date.parse(new X509Certificate(distributed).validFrom) + 5000;
    while (Date.now() < renewAt) await new Promise((r) => setTimeout(r, 250));

    // ACM has not renewed: run does not try (no refused rotation, no backoff), whatever its own time says.
    const waiting = await run(fleet.configFile);
    expect(waiting.report.rotations).toEqual([]);
    expect(waiting.report.deferred).toEqual([]);
    expect(waiting.report.failures).toEqual([]);
    expect(waiting.all).not.toContain('ACM has not renewed it yet');
    // Nor does it report a renewal due that it will not act on: ACM renews it.
    expect(waiting.all).not.toContain('renewal-due');
    expect(waiting.code).toBe(0);
    const untouched = (await readCertificateState(state, CERT, new Date()))!.value;
    expect(untouched.failedAttempts ?? 0).toBe(0);
    expect(untouched.lastFailure).toBeUndefined();
    expect(untouched.current!.fingerprintSha256).toBe(firstFingerprint);
    expect(await Promise.all(fleet.hosts.map((h) => servedLeaf(h.port)))).toEqual([
      firstFingerprint,
      firstFingerprint,
    ]);

    // ACM renews the same ARN: run redistributes the renewed certificate, with nothing requested again.
    await acmRenews(arn);
    const renewedPem = (
      await acm.send(
        new ExportCertificateCommand({ CertificateArn: arn, Passphrase: Buffer.from('test-passphrase-1') }),
      )
    ).Certificate!;
    const renewed = new X509Certificate(renewedPem);
    expect(renewed.fingerprint256).not.toBe(firstFingerprint);
    const redistributed = await run(fleet.configFile);
    expect(redistributed.report.rotations).toEqual([
      expect.objectContaining({ name: CERT, status: 'succeeded', newFingerprint: renewed.fingerprint256 }),
    ]);
    expect(redistributed.report.failures).toEqual([]);
    expect(redistributed.code).toBe(0);
    expect(await acmCertificateCount()).toBe(requested);
    expect(await Promise.all(fleet.hosts.map((h) => servedLeaf(h.port)))).toEqual([
      renewed.fingerprint256,
      renewed.fingerprint256,
    ]);
    const after = (await readCertificateState(state, CERT, new Date()))!.value;
    expect(Date.parse(after.current!.notAfter)).toBe(Date.parse(renewed.validTo));
    expect(after.previous?.fingerprintSha256).toBe(firstFingerprint);
    for (const output of [first.all, waiting.all, redistributed.all])
      expect(output).not.toContain('PRIVATE KEY');

    // The hosts have ACM's latest version: the next run does not try again.
    const settled = await run(fleet.configFile);
    expect(settled.report.rotations).toEqual([]);
    expect(settled.code).toBe(0);
  });
});

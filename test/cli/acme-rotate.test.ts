/**
 * `certrotor rotate` through the built binary (dist/certrotor.js) with an ACME issuer: a real ACME
 * server (Pebble v2.10.3 with challtestsrv as its DNS, test/support/pebble.ts), real TLS hosts
 * (dist/demo-host.js over `files` destinations), and verification by fresh handshakes trusting
 * Pebble's root from its management API. Pebble's API TLS and its root reach the binary through
 * NODE_EXTRA_CA_CERTS, as a private ACME CA's would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import {
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import { LocalCaIssuer } from '../../lambda/adapters/local/local-ca-issuer';
import { readCertificateState } from '../../lambda/use-cases/certificate-state';
import { type ServerProcess, startDemoHost, stopAllServers } from '../support/fleet-hosts';
import { servedFingerprint } from '../support/handshake-watch';
import { useMoto } from '../support/moto';
import { startRoute53Mirror } from '../support/route53-mirror';
import { type Pebble, startPebble } from '../support/pebble';
import { createTempDirs } from '../support/temp-dir';

jest.setTimeout(120_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const CERT = 'api';
const NAME = 'api.example.test';
const HOUR = 3_600_000;

const temp = createTempDirs();
const moto = useMoto();
let pebble: Pebble | undefined;
const servers: Server[] = [];

afterEach(async () => {
  await stopAllServers();
  await pebble?.stop();
  pebble = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await temp.cleanup();
});

interface Host {
  readonly name: string;
  readonly dir: string;
  readonly port: number;
  readonly server: ServerProcess;
}

interface Fleet {
  readonly root: string;
  readonly configFile: string;
  readonly extraCaFile: string;
  readonly localCaPem: string;
  readonly pebbleRootPem: string;
  readonly hosts: Host[];
  readonly pebble: Pebble;
}

type Challenge = Record<string, unknown>;

/** Two demo TLS hosts serving a hand-installed certificate for NAME from a local CA. */
async function startFleet(): Promise<Fleet> {
  const root = await temp.make('cli-acme');
  pebble = await startPebble(root);
  const ca = new LocalCaIssuer({
    directory: join(root, 'ca'),
    clock: () => new Date(Date.now() - 24 * HOUR),
  });
  const localCaPem = (await ca.caCertificate()).pem;
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
  const pebbleRootPem = await pebble.rootPem();
  const extraCaFile = join(root, 'extra-ca.pem');
  writeFileSync(extraCaFile, pebble.caPem + pebbleRootPem);
  return {
    root,
    configFile: join(root, 'certrotor.json'),
    extraCaFile,
    localCaPem,
    pebbleRootPem,
    hosts,
    pebble,
  };
}

function writeConfig(
  fleet: Fleet,
  options: {
    issuer: 'pebble' | 'local-ca';
    challenge?: Challenge;
    usage?: string;
    trustFile?: string;
    validity?: string;
  },
): void {
  const config = {
    version: 1,
    environments: [{ name: 'prod' }],
    issuers: [
      { name: 'local-ca', kind: 'local-ca', directory: join(fleet.root, 'ca') },
      {
        name: 'pebble',
        kind: 'acme',
        directoryUrl: fleet.pebble.directoryUrl,
        email: 'ops@example.test',
        // Pebble picks a random profile for an order that names none.
        profile: 'default',
        ...(options.trustFile ? { trustFile: options.trustFile } : {}),
        challenge: options.challenge ?? {
          type: 'http-01',
          listen: { host: '127.0.0.1', port: fleet.pebble.httpPort },
        },
      },
    ],
    hosts: fleet.hosts.map((h) => ({
      name: h.name,
      environment: 'prod',
      address: '127.0.0.1',
      endpoint: { port: h.port, servername: NAME },
    })),
    destinations: fleet.hosts.map((h) => ({
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
        keySpec: 'EC_P256',
        usage: options.usage ?? 'server',
        issuer: options.issuer,
        validity: options.validity ?? '90d',
        destinations: fleet.hosts.map((h) => `${h.name}-files`),
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
    local: { stateDirectory: join(fleet.root, 'state'), events: { stdout: true } },
  };
  writeFileSync(fleet.configFile, JSON.stringify(config, null, 2));
}

function cli(
  fleet: Fleet,
  ...argv: string[]
): ChildProcess & { done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(process.execPath, [CLI, ...argv, '--config', fleet.configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', NODE_EXTRA_CA_CERTS: fleet.extraCaFile },
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const done = new Promise<{ code: number | null; out: string }>((r) =>
    child.once('exit', (code) => r({ code, out })),
  );
  return Object.assign(child, { done });
}

/** What every host serves now, by a fresh handshake trusting Pebble's root and the local CA. */
function served(fleet: Fleet): Promise<string[]> {
  return Promise.all(
    fleet.hosts.map((h) =>
      servedFingerprint(h.port, { caPem: fleet.pebbleRootPem + fleet.localCaPem, servername: NAME }),
    ),
  );
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

function leafOn(host: Host): X509Certificate {
  return new X509Certificate(readFileSync(join(host.dir, 'cert.pem')));
}

async function orderUrl(fleet: Fleet, key: string): Promise<string | undefined> {
  const store = new FileStateStore({ directory: join(fleet.root, 'state', 'state') });
  return (await store.get<{ orderUrl: string }>('acme-orders', key, new Date()))?.value.orderUrl;
}

async function pendingVersion(fleet: Fleet): Promise<string | undefined> {
  const store = new FileStateStore({ directory: join(fleet.root, 'state', 'state') });
  const state = (await readCertificateState(store, CERT, new Date()))?.value;
  return state?.pending?.version ?? state?.current?.version;
}

describe('certrotor rotate with an ACME issuer (built binary, Pebble, real TLS hosts)', () => {
  it('issues from Pebble over HTTP-01 through its own responder and every host serves it, verified by fresh handshakes', async () => {
    const fleet = await startFleet();
    writeConfig(fleet, { issuer: 'pebble' });
    const run = await cli(fleet, 'rotate', CERT).done;
    expect(run.out).toMatch(new RegExp(`rotation ${CERT} v[0-9a-f]+: SUCCEEDED`));
    expect(run.code).toBe(0);
    const fingerprints = await served(fleet);
    const leaf = leafOn(fleet.hosts[0]!);
    expect(fingerprints).toEqual([leaf.fingerprint256, leaf.fingerprint256]);
    expect(leaf.issuer).toMatch(/Pebble Intermediate CA/);
    expect(run.out).not.toContain('PRIVATE KEY');
    // The state holds references only; the account and order keys are 0600 files in a 0700 directory.
    for (const file of filesUnder(join(fleet.root, 'state', 'state')))
      expect(readFileSync(file, 'utf8')).not.toContain('PRIVATE KEY');
    const acmeDir = join(fleet.root, 'state', 'acme', 'pebble');
    expect(statSync(acmeDir).mode & 0o777).toBe(0o700);
    const keyFiles = filesUnder(acmeDir).filter((f) => f.endsWith('.pem'));
    expect(keyFiles.length).toBeGreaterThanOrEqual(2);
    for (const file of keyFiles) expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('issues over DNS-01 through Route 53 (moto), with Pebble resolving what the adapter wrote there', async () => {
    const fleet = await startFleet();
    const r53 = createAwsClient(Route53Client, { ...moto.clientConfig(), maxAttempts: 1 });
    const zone = await r53.send(
      new CreateHostedZoneCommand({ Name: 'example.test', CallerReference: `acme-e2e-${Date.now()}` }),
    );
    const zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
    const route53 = await startRoute53Mirror(moto.endpoint, zoneId, fleet.pebble);
    servers.push(route53.server);
    writeConfig(fleet, {
      issuer: 'pebble',
      challenge: { type: 'dns-01', route53: { hostedZoneId: zoneId } },
    });
    const child = spawn(process.execPath, [CLI, 'rotate', CERT, '--config', fleet.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NO_COLOR: '1',
        NODE_EXTRA_CA_CERTS: fleet.extraCaFile,
        AWS_ENDPOINT_URL: route53.url,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    expect(out).toMatch(new RegExp(`rotation ${CERT} v[0-9a-f]+: SUCCEEDED`));
    expect(code).toBe(0);
    expect(route53.actions).toEqual([`UPSERT _acme-challenge.${NAME}.`, `DELETE _acme-challenge.${NAME}.`]);
    // Cleaned up in Route 53 itself.
    const left = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    expect((left.ResourceRecordSets ?? []).filter((r) => r.Type === 'TXT')).toEqual([]);
    const leaf = leafOn(fleet.hosts[1]!);
    expect(await served(fleet)).toEqual([leaf.fingerprint256, leaf.fingerprint256]);
  });

  it('does not issue twice when the CLI is killed between placing the order and finalising it', async () => {
    const fleet = await startFleet();
    const webroot = join(fleet.root, 'webroot');
    writeConfig(fleet, { issuer: 'pebble', challenge: { type: 'http-01', webroot } });
    // The web server serving the webroot: Pebble's first validation request kills the CLI, then is answered.
    const target: { victim?: ChildProcess } = {};
    let validations = 0;
    const web = createServer((req, res) => {
      validations++;
      void (async () => {
        const victim = target.victim;
        if (victim && victim.exitCode === null) {
          const exited = new Promise((r) => victim.once('exit', r));
          victim.kill('SIGKILL');
          await exited;
        }
        const path = join(webroot, (req.url ?? '').split('?')[0]!);
        if (!existsSync(path)) return res.writeHead(404).end();
        res.writeHead(200).end(await readFile(path));
      })();
    });
    servers.push(web);
    await new Promise<void>((listening, failed) => {
      web.once('error', failed);
      web.listen(fleet.pebble.httpPort, '127.0.0.1', listening);
    });

    const first = cli(fleet, 'rotate', CERT);
    target.victim = first;
    const killed = await first.done;
    expect(killed.code).toBeNull(); // SIGKILL
    expect(killed.out).not.toMatch(/SUCCEEDED/);
    const version = await pendingVersion(fleet);
    const placed = await orderUrl(fleet, `${CERT}-${version}`);
    expect(placed).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/my-order\//);
    // Nothing reached any host.
    for (const host of fleet.hosts) expect(leafOn(host).issuer).toMatch(/certrotor local CA/);

    const validationsBefore = validations;
    expect(validationsBefore).toBeGreaterThan(0);
    const second = await cli(fleet, 'rotate', CERT).done;
    expect(second.out).toMatch(new RegExp(`rotation ${CERT} ${version}: SUCCEEDED`));
    expect(await orderUrl(fleet, `${CERT}-${version}`)).toBe(placed);
    // The order was already authorised: the retry finalised it without answering a challenge again.
    expect(validations).toBe(validationsBefore);
    const leaf = leafOn(fleet.hosts[0]!);
    expect(leaf.issuer).toMatch(/Pebble Intermediate CA/);
    expect(await served(fleet)).toEqual([leaf.fingerprint256, leaf.fingerprint256]);
  });

  it('holds a renewal that would drop clientAuth the certificate is used for, with the reason, and no host changes', async () => {
    const fleet = await startFleet();
    // Today: a certificate with clientAuth (server-and-client) from the local CA, presented as a client.
    writeConfig(fleet, { issuer: 'local-ca', usage: 'server-and-client', validity: '30d' });
    const adopted = await cli(fleet, 'rotate', CERT).done;
    expect(adopted.out).toMatch(/SUCCEEDED/);
    const before = fleet.hosts.map((h) => readFileSync(join(h.dir, 'fullchain.pem'), 'utf8'));
    const fingerprintsBefore = await served(fleet);
    expect(leafOn(fleet.hosts[0]!).keyUsage).toContain('1.3.6.1.5.5.7.3.2');

    // Moving to a public CA, whose certificates are serverAuth only: the renewal is held.
    writeConfig(fleet, { issuer: 'pebble', usage: 'server-and-client' });
    const held = await cli(fleet, 'rotate', CERT).done;
    expect(held.code).not.toBe(0);
    expect(held.out).toMatch(
      /renewal held before distribution: clientAuth is gone from the extended key usage \(serverAuth\) while the certificate is presented as a client certificate \(configured usage server-and-client\)/,
    );
    expect(held.out).toMatch(/what changed: extended key usage clientAuth\+serverAuth → serverAuth/);
    expect(fleet.hosts.map((h) => readFileSync(join(h.dir, 'fullchain.pem'), 'utf8'))).toEqual(before);
    expect(await served(fleet)).toEqual(fingerprintsBefore);

    // A retry holds again without ordering a second certificate.
    const version = await pendingVersion(fleet);
    const order = await orderUrl(fleet, `${CERT}-${version}`);
    const again = await cli(fleet, 'rotate', CERT).done;
    expect(again.out).toMatch(/renewal held before distribution/);
    expect(await orderUrl(fleet, `${CERT}-${version}`)).toBe(order);
  });

  it('holds a renewal whose chain leads to a new root the consumers do not trust, and no host changes', async () => {
    const fleet = await startFleet();
    const trustFile = join(fleet.root, 'consumers-trust.pem');
    writeFileSync(trustFile, fleet.pebbleRootPem);
    writeConfig(fleet, { issuer: 'pebble', trustFile });
    expect((await cli(fleet, 'rotate', CERT).done).out).toMatch(/SUCCEEDED/);
    const before = fleet.hosts.map((h) => readFileSync(join(h.dir, 'fullchain.pem'), 'utf8'));
    const oldRoot = new X509Certificate(fleet.pebbleRootPem).subject;

    // The CA moves to a new root (a restarted Pebble makes a new hierarchy); consumers trust the old one.
    await fleet.pebble.stop();
    const moved = await startPebble(await temp.make('cli-acme-new-root'));
    pebble = moved;
    const newRootPem = await moved.rootPem();
    writeFileSync(fleet.extraCaFile, moved.caPem + newRootPem + fleet.pebbleRootPem);
    const after: Fleet = { ...fleet, pebble: moved };
    writeConfig(after, { issuer: 'pebble', trustFile });
    const held = await cli(after, 'rotate', CERT).done;
    expect(held.code).not.toBe(0);
    expect(held.out).toMatch(
      /renewal held before distribution: the new chain \(root CN=Pebble Root CA \w+\) leads to no root the endpoints' consumers trust/,
    );
    expect(held.out).toContain(
      `root ${oldRoot.replace('\n', ', ')} → ${new X509Certificate(newRootPem).subject.replace('\n', ', ')}`,
    );
    expect(fleet.hosts.map((h) => readFileSync(join(h.dir, 'fullchain.pem'), 'utf8'))).toEqual(before);
  });

  it('renews early when the CA’s renewal information (ARI) says so: `run` rotates and says why', async () => {
    const fleet = await startFleet();
    writeConfig(fleet, { issuer: 'pebble' });
    expect((await cli(fleet, 'rotate', CERT).done).out).toMatch(/SUCCEEDED/);
    const first = leafOn(fleet.hosts[0]!);

    // Pebble's own window is weeks away: nothing is due, nothing changes.
    const quiet = await cli(fleet, 'run', '--json').done;
    expect(JSON.parse(quiet.out.slice(quiet.out.indexOf('{'))).rotations).toEqual([]);
    expect(leafOn(fleet.hosts[0]!).fingerprint256).toBe(first.fingerprint256);

    // The CA moves the window into the past (an incident): the next run renews, and says it was the CA.
    const now = Date.now();
    await fleet.pebble.setRenewalInfo(first.toString(), {
      start: new Date(now - 120_000).toISOString(),
      end: new Date(now - 60_000).toISOString(),
    });
    const early = await cli(fleet, 'run', '--json').done;
    const report = JSON.parse(early.out.slice(early.out.indexOf('{'))) as {
      rotations: { name: string; status: string }[];
    };
    expect(report.rotations.map((r) => [r.name, r.status])).toEqual([[CERT, 'succeeded']]);
    expect(early.out).toMatch(/suggested renewal window .* \(ARI\)/);
    const renewed = leafOn(fleet.hosts[0]!);
    expect(renewed.fingerprint256).not.toBe(first.fingerprint256);
    expect(await served(fleet)).toEqual([renewed.fingerprint256, renewed.fingerprint256]);
  });
});

/**
 * Leak test through the built CLI (`node dist/certrotor.js`): a rotation over a live TLS host whose
 * reload command prints the private key it finds in several encodings (PEM, one-line base64 of the
 * DER, hex, base64url, SEC1 hex) on stdout and stderr, once succeeding and once failing (so its
 * output becomes a failure reason, a Rotation Failed event and a Slack message). Afterwards every key
 * certrotor holds is searched for, in every encoding, in every file of the state directory and of the
 * CA's directory other than the key store, in events.jsonl, in the CLI's stdout and stderr, and in
 * the bodies a loopback Slack server received: it is found nowhere.
 */
import { spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { LocalCaIssuer } from '../../lambda/adapters/local/local-ca-issuer';
import { type FakeSlackServer, startFakeSlackServer } from '../support/fake-slack-server';
import { startDemoHost, stopAllServers } from '../support/fleet-hosts';
import { createTempDirs } from '../support/temp-dir';

jest.setTimeout(120_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const CERT = 'internal-api';
const HOUR = 3_600_000;
const temp = createTempDirs();
let slack: FakeSlackServer;

beforeAll(async () => {
  slack = await startFakeSlackServer();
});

afterAll(async () => {
  await stopAllServers();
  await slack.close();
  await temp.cleanup();
});

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

function certrotor(root: string, ...argv: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...argv, '--config', join(root, 'certrotor.json')], {
      cwd: root,
      env: { ...process.env, SLACK_WEBHOOK_URL: slack.url, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, out, err }));
  });
}

/** A reload command that prints the installed key in five encodings, then reloads or fails. */
const LEAKY_RELOAD = `
const fs = require('fs');
const crypto = require('crypto');
const pem = fs.readFileSync('key.pem', 'utf8');
const key = crypto.createPrivateKey(pem);
const der = key.export({ format: 'der', type: 'pkcs8' });
const sec1 = key.export({ format: 'der', type: 'sec1' });
const text = ['loaded key:', pem, 'base64 ' + der.toString('base64'), 'hex ' + der.toString('hex'),
  'base64url ' + der.toString('base64url'), 'sec1 ' + sec1.toString('hex').toUpperCase()].join('\\n');
process.stdout.write(text + '\\n');
process.stderr.write(text + '\\n');
if (fs.existsSync(process.argv[2])) {
  process.stderr.write('refusing key ' + der.toString('base64') + '\\n');
  process.exit(1);
}
process.kill(Number(process.argv[3]), 'SIGHUP');
`;

/** Every text form of a key: its PEM body lines, base64/base64url/hex (both cases) of its DER forms. */
function forms(pem: string): string[] {
  const key = createPrivateKey(pem);
  const ders = [key.export({ format: 'der', type: 'pkcs8' }), key.export({ format: 'der', type: 'sec1' })];
  const out = pem.split('\n').filter((line) => line.length >= 40 && !line.startsWith('-----'));
  for (const der of ders)
    out.push(
      der.toString('base64'),
      der.toString('base64url'),
      der.toString('hex'),
      der.toString('hex').toUpperCase(),
    );
  return out;
}

/** 24-character pieces of every form: a fragment is a leak too. */
function pieces(pem: string): string[] {
  return forms(pem).flatMap((form) =>
    Array.from({ length: Math.floor(form.length / 24) }, (_, i) => form.slice(i * 24, i * 24 + 24)),
  );
}

/**
 * The pieces of `pem` that belong to it alone: those every P-256 key shares (the DER header naming
 * the algorithm and curve) would be found in any key file and prove nothing.
 */
function ownPieces(pem: string): string[] {
  const common = new Set(
    pieces(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        format: 'pem',
        type: 'pkcs8',
      }) as string,
    ),
  );
  return pieces(pem).filter((piece) => !common.has(piece));
}

/** Files under `dir` (symlinks not followed), skipping the directories in `except`. */
function filesUnder(dir: string, except: readonly string[] = []): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (except.includes(full)) continue;
    if (entry.isDirectory()) out.push(...filesUnder(full, except));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** Directories under `dir`, recursively. */
function directoriesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [join(dir, e.name), ...directoriesUnder(join(dir, e.name))]);
}

/** The PEM of every key in the key stores (bundles, the CA's own), and the hand-installed one. */
function keysHeld(stores: readonly string[], extra: readonly string[]): string[] {
  const keys = new Set(extra);
  for (const store of stores)
    for (const file of filesUnder(store)) if (file.endsWith('key.pem')) keys.add(readFileSync(file, 'utf8'));
  return [...keys];
}

it('finds no key certrotor holds anywhere but its key store, in any encoding, after a reload printed it', async () => {
  // Prepare: a CA, a host serving a hand-installed certificate, the leaky reload command.
  const root = await temp.make('key-leak');
  const stateDir = join(root, 'state');
  const caDir = join(root, 'ca');
  const ca = new LocalCaIssuer({ directory: caDir, clock: () => new Date(Date.now() - 24 * HOUR) });
  await ca.caCertificate();
  const installed = await ca.issue(
    {
      name: 'hand-installed',
      version: 'v0',
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      keySpec: 'EC_P256',
      usage: 'server',
      validityDays: 30,
      idempotencyKey: 'hand-installed',
    },
    new Date(Date.now() - 2 * HOUR),
  );
  // The hand-installed key was never certrotor's to keep: only the host holds it.
  rmSync(join(caDir, 'keys'), { recursive: true, force: true });
  rmSync(join(caDir, 'issued'), { recursive: true, force: true });
  const hostDir = join(root, 'hosts', 'web-1');
  await mkdir(hostDir, { recursive: true });
  writeFileSync(join(hostDir, 'key.pem'), installed.privateKey.reveal(), { mode: 0o600 });
  writeFileSync(join(hostDir, 'cert.pem'), installed.certificatePem);
  writeFileSync(join(hostDir, 'chain.pem'), installed.chainPem);
  writeFileSync(join(hostDir, 'fullchain.pem'), installed.certificatePem + installed.chainPem);
  const server = await startDemoHost(hostDir);
  const failFlag = join(root, 'reload-fails');
  writeFileSync(join(root, 'leaky-reload.js'), LEAKY_RELOAD);
  const eventsFile = join(root, 'events.jsonl');
  const config = {
    version: 1,
    environments: [{ name: 'prod' }],
    issuers: [{ name: 'local-ca', kind: 'local-ca', directory: caDir }],
    hosts: [
      {
        name: 'web-1',
        environment: 'prod',
        address: '127.0.0.1',
        endpoint: { port: server.port, servername: 'localhost' },
      },
    ],
    destinations: [
      {
        name: 'web-1-files',
        kind: 'files',
        host: 'web-1',
        directory: hostDir,
        reloadCommand: [process.execPath, join(root, 'leaky-reload.js'), failFlag, String(server.pid)],
        reloadTimeout: '5s',
      },
    ],
    certificates: [
      {
        name: CERT,
        commonName: 'localhost',
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
        keySpec: 'EC_P256',
        issuer: 'local-ca',
        validity: '90d',
        destinations: ['web-1-files'],
        rollout: {
          canary: 1,
          batchSize: 1,
          failureTolerance: 0,
          verifyTimeout: '3s',
          verifyInterval: '100ms',
        },
      },
    ],
    notifications: {
      channels: [{ name: 'alerts', kind: 'slack', webhook: { env: 'SLACK_WEBHOOK_URL' } }],
      delivery: { messagesPerSecond: 10, maxAttempts: 2, timeout: '5s' },
    },
    probe: { timeout: '2s' },
    local: { stateDirectory: stateDir, events: { stdout: true, jsonlFile: eventsFile } },
  };
  writeFileSync(join(root, 'certrotor.json'), JSON.stringify(config, null, 2));

  // Act: one rotation whose reload prints the key and succeeds, one whose reload prints it and fails.
  const succeeded = await certrotor(root, 'rotate', CERT);
  // Certificates end on whole seconds: the next version must end later than the one just rotated.
  await new Promise((resolveWait) => setTimeout(resolveWait, 1050 - (Date.now() % 1000)));
  writeFileSync(failFlag, '');
  const failed = await certrotor(root, 'rotate', CERT);

  // Assess
  expect(succeeded.code).toBe(0);
  expect(failed.code).not.toBe(0);
  expect(failed.out).toMatch(/ROLLED-BACK/);
  const keyStores = [join(stateDir, 'bundles'), join(caDir, 'keys')];
  const keys = keysHeld(keyStores, [installed.privateKey.reveal()]);
  // The hand-installed key, the version that succeeded and the one that was rolled back.
  expect(keys.length).toBeGreaterThanOrEqual(3);
  const places: [string, string][] = [
    ...filesUnder(stateDir, keyStores).map((f): [string, string] => [
      relative(root, f),
      readFileSync(f, 'utf8'),
    ]),
    ...filesUnder(caDir, keyStores).map((f): [string, string] => [
      relative(root, f),
      readFileSync(f, 'utf8'),
    ]),
    ['events.jsonl', readFileSync(eventsFile, 'utf8')],
    ['stdout', succeeded.out + failed.out],
    ['stderr', succeeded.err + failed.err],
    ...slack.requests.map((r, i): [string, string] => [`slack body ${i + 1}`, r.body]),
  ];
  expect(places.length).toBeGreaterThan(5);
  expect(slack.requests.length).toBeGreaterThan(0);
  expect(readFileSync(eventsFile, 'utf8')).toContain('"detailType":"Rotation Rolled Back"');
  expect(failed.out).toContain('[REDACTED KEY]');
  // Named by place and key number only, so a failure report carries no key material either.
  const leaks = places.flatMap(([place, text]) =>
    keys.flatMap((key, k) =>
      ownPieces(key).some((piece) => text.includes(piece)) ? [`key ${k} in ${place}`] : [],
    ),
  );
  expect(leaks).toEqual([]);
  // Modes: state, its directories and events are never open to others.
  for (const path of [eventsFile, stateDir, ...filesUnder(stateDir), ...directoriesUnder(stateDir)])
    expect([relative(root, path), statSync(path).mode & 0o007]).toEqual([relative(root, path), 0]);
});

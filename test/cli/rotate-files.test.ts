/**
 * `certrotor rotate <name>` end to end over `files` destinations: four real TLS host processes on
 * loopback (dist/demo-host.js: serves fullchain.pem + key.pem from its directory, reloads on SIGHUP),
 * a local CA, a canary of one then batches of two, no failure tolerated. Each scenario runs a
 * background watcher that opens a fresh, verified handshake to every live host every 50 ms for the
 * whole rotation: no live host may ever serve no certificate, an invalid one or an expired one.
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { looksLikeKeyMaterial } from '../../lambda/domain/events';
import { containsPrivateKey } from '../../lambda/domain/secret';
import { shortFingerprint } from '../../lambda/domain/certificate';
import { type ServerProcess, stopAllServers } from '../support/fleet-hosts';
import { servedFingerprint, watchHandshakes, type WatchedHost } from '../support/handshake-watch';
import { startHandInstalledFleet } from '../support/hand-installed-fleet';
import { createTempDirs } from '../support/temp-dir';

jest.setTimeout(90_000);

const CERT = 'internal-api';
const SERVERNAME = 'localhost';
const HOST_NAMES = ['web-1', 'web-2', 'web-3', 'web-4'] as const;
/** Target order is configuration order: web-1 is the canary, web-2 and web-3 the first batch. */
const FAULTY = 'web-3';
const HOUR = 3_600_000;

type Fault = 'reload-fails' | 'down' | 'keeps-old';

interface Host extends WatchedHost {
  readonly dir: string;
  server: ServerProcess;
  /** Set once the test took the host down on purpose. */
  down?: boolean;
}

interface Fleet {
  readonly root: string;
  readonly configFile: string;
  readonly eventsFile: string;
  readonly caPem: string;
  readonly hosts: Host[];
}

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

const temp = createTempDirs();

afterEach(async () => {
  await stopAllServers();
  await temp.cleanup();
});

/** The CLI in-process, as `certrotor <argv>` would run it, with its own clock. */
async function certrotor(fleet: Fleet, clock: () => Date, ...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: {},
    cwd: fleet.root,
    clock,
    exitCode: 0,
  };
  const code = await runCli([...argv, '--config', fleet.configFile], ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The reload command each host's files destination runs; a fault replaces the healthy one. */
function reloadCommand(host: Host, fault?: Fault): readonly string[] {
  if (host.name === FAULTY && fault === 'reload-fails') return ['false'];
  if (host.name === FAULTY && fault === 'keeps-old') return ['true'];
  return host.server.reload;
}

function writeConfig(fleet: Fleet, fault?: Fault): void {
  const config = {
    version: 1,
    environments: [{ name: 'prod' }],
    issuers: [{ name: 'local-ca', kind: 'local-ca', directory: join(fleet.root, 'ca') }],
    hosts: fleet.hosts.map((h) => ({
      name: h.name,
      environment: 'prod',
      address: '127.0.0.1',
      endpoint: { port: h.port, servername: SERVERNAME },
    })),
    destinations: fleet.hosts.map((h) => ({
      name: `${h.name}-files`,
      kind: 'files',
      host: h.name,
      directory: h.dir,
      reloadCommand: reloadCommand(h, fault),
      reloadTimeout: '5s',
    })),
    certificates: [
      {
        name: CERT,
        commonName: SERVERNAME,
        dnsNames: [SERVERNAME],
        ipAddresses: ['127.0.0.1'],
        keySpec: 'EC_P256',
        issuer: 'local-ca',
        validity: '90d',
        destinations: fleet.hosts.map((h) => `${h.name}-files`),
        rollout: {
          canary: 1,
          batchSize: 2,
          failureTolerance: 0,
          verifyTimeout: '1500ms',
          verifyInterval: '100ms',
        },
      },
    ],
    probe: { timeout: '2s' },
    local: {
      stateDirectory: join(fleet.root, 'state'),
      events: { stdout: true, jsonlFile: fleet.eventsFile },
    },
  };
  writeFileSync(fleet.configFile, JSON.stringify(config, null, 2));
}

/**
 * Four hosts serving a certificate from the local CA that certrotor does not manage yet (what an
 * operator installed by hand), each a running demo host process.
 */
async function startFleet(): Promise<Fleet> {
  const root = await temp.make('cli-rotate-files');
  const { caPem, hosts } = await startHandInstalledFleet(root, CERT, SERVERNAME, HOST_NAMES);
  const fleet: Fleet = {
    root,
    configFile: join(root, 'certrotor.json'),
    eventsFile: join(root, 'events.jsonl'),
    caPem,
    hosts,
  };
  writeConfig(fleet);
  return fleet;
}

/**
 * certrotor takes the fleet over: one healthy rotation, an hour ago by its clock (so the version
 * rotated next expires later), leaves a managed current version on every host to roll back to.
 */
async function adopt(fleet: Fleet): Promise<string> {
  const adopted = await certrotor(fleet, () => new Date(Date.now() - HOUR), 'rotate', CERT);
  expect(adopted).toMatchObject({ code: 0, err: '' });
  expect(adopted.out).toMatch(new RegExp(`rotation ${CERT} v[0-9a-f]+: SUCCEEDED`));
  const fingerprints = await servedBy(fleet.hosts, fleet);
  const current = fingerprints[0]!;
  expect(fingerprints).toEqual(fleet.hosts.map(() => current));
  return current;
}

function servedBy(hosts: readonly Host[], fleet: Fleet): Promise<string[]> {
  return Promise.all(
    hosts.map((h) => servedFingerprint(h.port, { caPem: fleet.caPem, servername: SERVERNAME })),
  );
}

/** Runs `certrotor rotate` while the watcher handshakes with every host still up. */
async function rotateWatched(fleet: Fleet) {
  const watch = watchHandshakes(() => fleet.hosts.filter((h) => !h.down), {
    caPem: fleet.caPem,
    servername: SERVERNAME,
    intervalMs: 50,
  });
  try {
    // Watched before the rotation starts, all through it, and once more after it ended.
    await watch.nextRound();
    const run = await certrotor(fleet, () => new Date(), 'rotate', CERT);
    await watch.nextRound();
    return { run, watch: await watch.stop() };
  } catch (error) {
    // No handshake loop may outlive the test, even when the rotation throws.
    await watch.stop();
    throw error;
  }
}

/** The host names the output reports as failed: in the rotation's reason and on target lines with an error. */
function namedAsFailed(out: string): string[] {
  const named = new Set<string>();
  const reason = /^rotation \S+ \S+: [A-Z-]+ — failed on (.*?); \d+ target\(s\) rolled back$/m.exec(out);
  for (const name of HOST_NAMES) if (reason?.[1]?.includes(name)) named.add(name);
  for (const line of out.split('\n')) {
    const target = /^\s+(\S+)\s+(\S+)-files\/(\S+?)(: .*)?$/.exec(line);
    if (target?.[4]) named.add(target[3]!);
  }
  return [...named].sort();
}

/** Every private key PEM that exists under `dir` (host files, bundles, the CA's issuance records). */
function privateKeysUnder(dir: string): string[] {
  const keys = new Set<string>();
  const walk = (path: string) => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const text = readFileSync(full, 'utf8').replace(/\\n/g, '\n');
        for (const match of text.matchAll(/-----BEGIN ([A-Z ]*PRIVATE KEY)-----[\s\S]*?-----END \1-----/g))
          keys.add(match[0]);
      }
    }
  };
  walk(dir);
  return [...keys];
}

/** 32-character pieces of a key's base64 body: any one of them in a text means the key leaked. */
function keyPieces(pem: string): string[] {
  const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const pieces: string[] = [];
  for (let i = 0; i + 32 <= body.length; i += 32) pieces.push(body.slice(i, i + 32));
  return pieces;
}

function expectNoKeyMaterial(fleet: Fleet, run: Run): void {
  const events = readFileSync(fleet.eventsFile, 'utf8');
  const keys = privateKeysUnder(fleet.root);
  // The new version's key, the adopted one and the hand-installed one, at least.
  expect(keys.length).toBeGreaterThanOrEqual(3);
  for (const [what, text] of [
    ['output', `${run.out}\n${run.err}`],
    ['events', events],
  ] as const) {
    // Failures name lines and keys by number only: a test report must not carry key material either.
    const flaggedLines = text
      .split('\n')
      .flatMap((line, index) => (containsPrivateKey(line) || looksLikeKeyMaterial(line) ? [index + 1] : []));
    expect({ what, flaggedLines }).toEqual({ what, flaggedLines: [] });
    const leakedKeys = keys.flatMap((key, index) =>
      keyPieces(key).some((piece) => text.includes(piece)) ? [index] : [],
    );
    expect({ what, leakedKeys }).toEqual({ what, leakedKeys: [] });
  }
}

function expectRolledBack(run: Run, failed: string): void {
  expect(run.code).not.toBe(0);
  expect(run.err).toBe('');
  expect(run.out).toMatch(
    new RegExp(`^rotation ${CERT} v[0-9a-f]+: ROLLED-BACK — failed on ${failed} `, 'm'),
  );
  expect(namedAsFailed(run.out)).toEqual([failed]);
  // The canary and the healthy host of the failed batch were updated, then rolled back, verified.
  for (const healthy of ['web-1', 'web-2'])
    expect(run.out).toMatch(new RegExp(`^\\s+rolled-back\\s+${healthy}-files/${healthy}$`, 'm'));
  // The rollout stopped at the failed batch: the last host was never touched.
  expect(run.out).toMatch(/^\s+pending\s+web-4-files\/web-4$/m);
}

describe('certrotor rotate over files destinations on live TLS hosts', () => {
  it('rotates every host and exits 0; each then serves the new certificate to a fresh handshake', async () => {
    // Prepare
    const fleet = await startFleet();
    const before = await servedBy(fleet.hosts, fleet);

    // Act
    const { run, watch } = await rotateWatched(fleet);

    // Assess
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(new RegExp(`^rotation ${CERT} v[0-9a-f]+: SUCCEEDED$`, 'm'));
    for (const name of HOST_NAMES)
      expect(run.out).toMatch(new RegExp(`^\\s+verified\\s+${name}-files/${name}$`, 'm'));
    expect(run.out).toContain('convergence 100%');
    expect(namedAsFailed(run.out)).toEqual([]);
    const after = await servedBy(fleet.hosts, fleet);
    const fresh = after[0]!;
    expect(fresh).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(fresh).not.toBe(before[0]);
    expect(after).toEqual(HOST_NAMES.map(() => fresh));
    expect(run.out).toContain(`new certificate ${shortFingerprint(fresh)} valid until`);
    expect(watch.violations).toEqual([]);
    expect(watch.rounds).toBeGreaterThanOrEqual(2);
    for (const host of fleet.hosts)
      expect(
        [...(watch.fingerprints.get(host.name) ?? [])].every((f) => f === before[0] || f === fresh),
      ).toBe(true);
    expect(readFileSync(fleet.eventsFile, 'utf8')).toContain('"detailType":"Rotation Succeeded"');
    expectNoKeyMaterial(fleet, run);
  });

  it('rolls every updated host back and names the host whose reload command fails', async () => {
    // Prepare
    const fleet = await startFleet();
    const previous = await adopt(fleet);
    writeConfig(fleet, 'reload-fails');

    // Act
    const { run, watch } = await rotateWatched(fleet);

    // Assess
    expectRolledBack(run, FAULTY);
    expect(run.out).toMatch(/^\s+failed\s+web-3-files\/web-3: delivery failed: reload `false` exited 1/m);
    expect(await servedBy(fleet.hosts, fleet)).toEqual(HOST_NAMES.map(() => previous));
    expect(watch.violations).toEqual([]);
    expect(watch.rounds).toBeGreaterThanOrEqual(2);
    // The host whose reload failed never served anything but the version in service.
    expect([...watch.fingerprints.get(FAULTY)!]).toEqual([previous]);
    expectNoKeyMaterial(fleet, run);
  });

  it('rolls every updated host back and names the host that is down', async () => {
    // Prepare
    const fleet = await startFleet();
    const previous = await adopt(fleet);
    const down = fleet.hosts.find((h) => h.name === FAULTY)!;
    await down.server.stop();
    down.down = true;

    // Act
    const { run, watch } = await rotateWatched(fleet);

    // Assess
    expectRolledBack(run, FAULTY);
    expect(run.out).toMatch(
      /^\s+failed\s+web-3-files\/web-3: delivery failed: reload `kill -HUP \d+` exited 1/m,
    );
    const live = fleet.hosts.filter((h) => !h.down);
    expect(await servedBy(live, fleet)).toEqual(live.map(() => previous));
    expect(watch.violations).toEqual([]);
    expect(watch.rounds).toBeGreaterThanOrEqual(2);
    expect(watch.fingerprints.has(FAULTY)).toBe(false);
    expectNoKeyMaterial(fleet, run);
  });

  it('rolls every updated host back and names the host whose process keeps serving the old certificate', async () => {
    // Prepare
    const fleet = await startFleet();
    const previous = await adopt(fleet);
    writeConfig(fleet, 'keeps-old');
    const stuck = fleet.hosts.find((h) => h.name === FAULTY)!;

    // Act
    const { run, watch } = await rotateWatched(fleet);

    // Assess
    expectRolledBack(run, FAULTY);
    expect(run.out).toMatch(
      new RegExp(
        `^\\s+rolled-back\\s+web-3-files/web-3: not verified by \\S+: 127\\.0\\.0\\.1:${stuck.port} \\(${SERVERNAME}\\) \\(127\\.0\\.0\\.1\\) still serves ${previous}$`,
        'm',
      ),
    );
    expect(await servedBy(fleet.hosts, fleet)).toEqual(HOST_NAMES.map(() => previous));
    expect(watch.violations).toEqual([]);
    expect(watch.rounds).toBeGreaterThanOrEqual(2);
    expect([...watch.fingerprints.get(FAULTY)!]).toEqual([previous]);
    expectNoKeyMaterial(fleet, run);
  });
});

/**
 * Kill it anywhere: `certrotor rotate` (the built binary) over five real TLS host processes with
 * files destinations and one host agent is killed with SIGKILL at random points, again and again. A fresh-handshake
 * watcher runs throughout. After each kill the documented recovery runs — `certrotor repair`, or the
 * next `certrotor rotate`, alternately — and must converge: every host serving the certificate the
 * state calls current, no pending version, no lock, no torn key/certificate pair on disk, and no
 * version issued twice. A second scenario interrupts with SIGINT: touched hosts rolled back, exit 130.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import { COLLECTIONS, readCertificateState } from '../../lambda/use-cases/certificate-state';
import { stopAllServers } from '../support/fleet-hosts';
import { servedFingerprint, watchHandshakes } from '../support/handshake-watch';
import { startHandInstalledFleet } from '../support/hand-installed-fleet';
import { createTempDirs } from '../support/temp-dir';

jest.setTimeout(180_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const CERT = 'internal-api';
const SERVERNAME = 'localhost';
const HOST_NAMES = ['web-1', 'web-2', 'web-3', 'web-4', 'web-5'];
const KILLS = 10;
/** This host's certificate is installed by `certrotor agent` running beside it; the others by files. */
const AGENT_HOST = 'web-5';
const destinationOf = (host: string) => (host === AGENT_HOST ? `${host}-agent` : `${host}-files`);

const temp = createTempDirs();

const agents: ChildProcess[] = [];

afterAll(async () => {
  for (const agent of agents) agent.kill('SIGTERM');
  await stopAllServers();
  await temp.cleanup();
});

async function startFleet() {
  const root = await temp.make('cli-kill-anywhere');
  const { caPem, hosts } = await startHandInstalledFleet(root, CERT, SERVERNAME, HOST_NAMES);
  const configFile = join(root, 'certrotor.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }],
      issuers: [{ name: 'local-ca', kind: 'local-ca', directory: join(root, 'ca') }],
      hosts: hosts.map((h) => ({
        name: h.name,
        environment: 'prod',
        address: '127.0.0.1',
        endpoint: { port: h.port, servername: SERVERNAME },
        ...(h.name === AGENT_HOST ? { agent: { pollInterval: '200ms', jitter: '50ms' } } : {}),
      })),
      destinations: hosts.map((h) =>
        h.name === AGENT_HOST
          ? {
              name: destinationOf(h.name),
              kind: 'agent',
              hosts: [h.name],
              directory: h.dir,
              reloadCommand: h.server.reload,
              reloadTimeout: '5s',
              healthCheck: { handshake: true, timeout: '3s' },
            }
          : {
              name: destinationOf(h.name),
              kind: 'files',
              host: h.name,
              directory: h.dir,
              reloadCommand: h.server.reload,
              reloadTimeout: '5s',
            },
      ),
      certificates: [
        {
          name: CERT,
          commonName: SERVERNAME,
          dnsNames: [SERVERNAME],
          ipAddresses: ['127.0.0.1'],
          keySpec: 'EC_P256',
          issuer: 'local-ca',
          validity: '90d',
          destinations: hosts.map((h) => destinationOf(h.name)),
          rollout: {
            canary: 1,
            batchSize: 2,
            failureTolerance: 0,
            verifyTimeout: '3s',
            verifyInterval: '100ms',
          },
        },
      ],
      probe: { timeout: '2s' },
      local: { stateDirectory: join(root, 'state'), events: { jsonlFile: join(root, 'events.jsonl') } },
    }),
  );
  const agent = spawn(process.execPath, [CLI, 'agent', '--host', AGENT_HOST, '--config', configFile], {
    stdio: 'ignore',
  });
  agents.push(agent);
  return { root, configFile, caPem, hosts, stateDir: join(root, 'state') };
}

type Fleet = Awaited<ReturnType<typeof startFleet>>;

function cli(
  fleet: Fleet,
  ...argv: string[]
): ChildProcess & { done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(process.execPath, [CLI, ...argv, '--config', fleet.configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const done = new Promise<{ code: number | null; out: string }>((r) =>
    child.once('exit', (code) => r({ code, out })),
  );
  return Object.assign(child, { done });
}

/** What the state store says about the certificate and its lock. */
async function stateOf(
  fleet: Fleet,
): Promise<{ current?: string; pending?: string; lock: boolean; version?: string }> {
  const store = new FileStateStore({ directory: join(fleet.stateDir, 'state') });
  const now = new Date();
  const value = (await readCertificateState(store, CERT, now))?.value;
  return {
    ...(value?.current ? { current: value.current.fingerprintSha256, version: value.current.version } : {}),
    ...(value?.pending ? { pending: value.pending.version } : {}),
    lock: (await store.get(COLLECTIONS.locks, CERT, now)) !== undefined,
  };
}

/** Hosts whose key and certificate files (as the server reads them) are not one matching pair. */
function tornSets(fleet: Fleet): string[] {
  return fleet.hosts.flatMap((h) => {
    try {
      const cert = new X509Certificate(readFileSync(join(h.dir, 'fullchain.pem')));
      const key = createPrivateKey(readFileSync(join(h.dir, 'key.pem')));
      return cert.checkPrivateKey(key) ? [] : [h.name];
    } catch (error) {
      return [`${h.name} (${(error as Error).message})`];
    }
  });
}

describe('killing certrotor rotate anywhere', () => {
  it('always leaves every host a valid, matching set, and the documented recovery converges without issuing twice', async () => {
    // Prepare
    const fleet = await startFleet();
    const adopted = await cli(fleet, 'rotate', CERT).done;
    expect(adopted.code).toBe(0);
    const watch = watchHandshakes(() => fleet.hosts, { caPem: fleet.caPem, servername: SERVERNAME });
    await watch.nextRound();
    const versions = new Set<string>([(await stateOf(fleet)).version!]);
    const torn: string[] = [];
    const recoveries: {
      by: string;
      code: number | null;
      converged: boolean;
      output?: string;
      served?: string;
      state?: string;
    }[] = [];
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

    // Act: rotate, kill at a random point, recover; again and again.
    for (let kill = 0; kill < KILLS; kill++) {
      const rotation = cli(fleet, 'rotate', CERT);
      await new Promise((r) => setTimeout(r, Math.floor(random() * 1500)));
      rotation.kill('SIGKILL');
      await rotation.done;
      torn.push(...tornSets(fleet));
      const killed = await stateOf(fleet);
      for (const v of [killed.pending, killed.version]) if (v) versions.add(v);
      const by = kill % 2 === 0 ? 'repair' : 'rotate';
      const recovery = await cli(fleet, by, CERT).done;
      torn.push(...tornSets(fleet));
      const after = await stateOf(fleet);
      versions.add(after.version!);
      const served = await Promise.all(
        fleet.hosts.map((h) => servedFingerprint(h.port, { caPem: fleet.caPem, servername: SERVERNAME })),
      );
      recoveries.push({
        by,
        code: recovery.code,
        converged: !after.pending && !after.lock && served.every((f) => f === after.current),
        ...(recovery.code !== 0 || after.pending || after.lock || served.some((f) => f !== after.current)
          ? { output: recovery.out.slice(0, 2000), served: served.join(' '), state: JSON.stringify(after) }
          : {}),
      });
    }
    const seen = await watch.stop();

    // Assess
    expect(torn).toEqual([]);
    expect(seen.violations).toEqual([]);
    expect(recoveries.filter((r) => !r.converged || r.code !== 0)).toEqual([]);
    // Versions issued twice: every certificate any host ever served belongs to one version.
    const served = new Set([...seen.fingerprints.values()].flatMap((s) => [...s]));
    expect(served.size).toBeLessThanOrEqual(versions.size + 1);
    console.log(
      `kill-anywhere: ${KILLS} kills, ${seen.rounds} handshake rounds, torn sets ${torn.length}, ` +
        `violations ${seen.violations.length}, versions ${versions.size}, certificates served ${served.size}, ` +
        `recoveries ${recoveries.filter((r) => r.converged).length}/${KILLS}`,
    );
  });

  it('rolls back what it touched, releases the lock and exits 130 on SIGINT', async () => {
    // Prepare
    const fleet = await startFleet();
    expect((await cli(fleet, 'rotate', CERT).done).code).toBe(0);
    const before = await stateOf(fleet);

    // The canary's process will keep serving the old certificate: its verification waits 3 s.
    const config = JSON.parse(readFileSync(fleet.configFile, 'utf8')) as {
      destinations: { reloadCommand: string[] }[];
    };
    config.destinations[0].reloadCommand = ['true'];
    writeFileSync(fleet.configFile, JSON.stringify(config));

    // Act: interrupt while the canary is being verified.
    const rotation = cli(fleet, 'rotate', CERT);
    const started = Date.now();
    const events = () => readFileSync(join(fleet.root, 'events.jsonl'), 'utf8');
    const startedBefore = events().split('Rotation Started').length;
    while (events().split('Rotation Started').length === startedBefore && Date.now() - started < 10_000)
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 500));
    rotation.kill('SIGINT');
    const result = await rotation.done;

    // Assess
    expect(result.code).toBe(130);
    const after = await stateOf(fleet);
    expect(after.lock).toBe(false);
    expect(after.pending).toBeUndefined();
    expect(after.current).toBe(before.current);
    const served = await Promise.all(
      fleet.hosts.map((h) => servedFingerprint(h.port, { caPem: fleet.caPem, servername: SERVERNAME })),
    );
    expect(served.every((f) => f === before.current)).toBe(true);
    expect(tornSets(fleet)).toEqual([]);
  });
});

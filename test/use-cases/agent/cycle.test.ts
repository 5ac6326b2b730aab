import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentDestination } from '../../../lambda/adapters/local/agent-destination';
import {
  AgentStateJsonFile,
  FileInstaller,
  type FileInstallerOptions,
  commandHealthCheck,
} from '../../../lambda/adapters/local/agent-host';
import { FileBundleStore } from '../../../lambda/adapters/local/file-bundle-store';
import { readFileIfExists } from '../../../lambda/adapters/local/atomic-file';
import type { BundleRef, CertificateBundle, StateStore } from '../../../lambda/domain/ports';
import { containsPrivateKey } from '../../../lambda/domain/secret';
import { type AgentDeps } from '../../../lambda/use-cases/agent/model';
import { type HealthCheck } from '../../../lambda/domain/ports';
import { type HostReport } from '../../../lambda/domain/host-agent';
import { DESIRED_COLLECTION, type DesiredRecord, hostRecordId } from '../../../lambda/domain/host-agent';
import { StateStoreDesiredSource } from '../../../lambda/use-cases/agent/desired-source';
import { allHealthChecks } from '../../../lambda/use-cases/agent/health';
import { runAgentCycle } from '../../../lambda/use-cases/agent/cycle';
import { runAgentLoop } from '../../../lambda/use-cases/agent/loop';
import { COLLECTIONS } from '../../../lambda/use-cases/certificate-state';
import { buildBundleVersions } from '../../builders/bundles';
import { buildCa } from '../../builders/certificates';
import { MemoryStateStore } from '../../fakes/memory-state-store';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();
const HOST = 'web-1';
const CERT = 'api-internal';

/** A health check that answers from a script: healthy unless told otherwise. */
function scriptedHealth(): HealthCheck & { failNext: number; seen: (string | undefined)[] } {
  const check = {
    failNext: 0,
    seen: [] as (string | undefined)[],
    async check(expected: string | undefined) {
      check.seen.push(expected);
      if (check.failNext > 0) {
        check.failNext--;
        return { healthy: false, error: 'served the wrong certificate' };
      }
      return { healthy: expected !== undefined, ...(expected ? { servedFingerprint: expected } : {}) };
    },
  };
  return check;
}

/** A state store that can be taken down, as in an outage. */
class FlakyStore extends MemoryStateStore {
  down = false;
  override async get<T>(collection: string, id: string, now: Date) {
    if (this.down) throw new Error('store unreachable (connect ECONNREFUSED)');
    return super.get<T>(collection, id, now);
  }
  override async put<T>(collection: string, id: string, value: T, now: Date) {
    if (this.down) throw new Error('store unreachable (connect ECONNREFUSED)');
    return super.put<T>(collection, id, value, now);
  }
}

interface Rig {
  deps: AgentDeps;
  store: FlakyStore;
  bundles: FileBundleStore;
  dir: string;
  health: ReturnType<typeof scriptedHealth>;
  logs: string[];
  clock: { now: Date };
  localPath: string;
  want(bundle: CertificateBundle, previous?: CertificateBundle): Promise<void>;
  report(): Promise<HostReport | undefined>;
}

type InstallLayout = Pick<FileInstallerOptions, 'fileNames' | 'keyMode' | 'owner'>;

async function rig(options: { reload?: string; layout?: InstallLayout } = {}): Promise<Rig> {
  const root = await temp.make('agent');
  const store = new FlakyStore();
  const bundles = new FileBundleStore({ directory: join(root, 'bundles') });
  const dir = join(root, 'host', 'tls');
  const health = scriptedHealth();
  const logs: string[] = [];
  const clock = { now: new Date('2030-01-01T00:00:00Z') };
  const localPath = join(root, 'agent-state', 'agent.json');
  const deps: AgentDeps = {
    host: HOST,
    environment: 'prod',
    certificates: [
      {
        name: CERT,
        installer: new FileInstaller({
          certificate: CERT,
          directory: dir,
          ...(options.reload ? { reload: options.reload } : {}),
          ...options.layout,
        }),
        healthCheck: health,
      },
    ],
    desired: new StateStoreDesiredSource(store),
    bundles,
    state: store,
    local: new AgentStateJsonFile(localPath),
    clock: () => clock.now,
    log: (line) => logs.push(line),
  };
  const refOf = async (b: CertificateBundle): Promise<BundleRef> => bundles.put(b);
  return {
    deps,
    store,
    bundles,
    dir,
    health,
    logs,
    clock,
    localPath,
    async want(bundle, previous) {
      const record: DesiredRecord = {
        host: HOST,
        certificate: CERT,
        version: bundle.version,
        fingerprintSha256: bundle.facts.fingerprintSha256,
        bundle: await refOf(bundle),
        ...(previous
          ? {
              previous: {
                version: previous.version,
                fingerprintSha256: previous.facts.fingerprintSha256,
                bundle: await refOf(previous),
              },
            }
          : {}),
      };
      await store.put(DESIRED_COLLECTION, hostRecordId(HOST, CERT), record, clock.now);
    },
    async report() {
      return (await store.get<HostReport>(COLLECTIONS.hosts, hostRecordId(HOST, CERT), clock.now))?.value;
    },
  };
}

async function installedFingerprint(dir: string): Promise<string | undefined> {
  return new FileInstaller({ certificate: CERT, directory: dir }).installedFingerprint();
}

describe('host agent cycle', () => {
  let versions: CertificateBundle[];

  beforeAll(async () => {
    versions = await buildBundleVersions(3, { issuer: await buildCa() });
  });

  it('installs the desired version with a 0600 key and reports it installed and healthy', async () => {
    // Prepare
    const r = await rig({ reload: 'true' });
    await r.want(versions[0]!);

    // Act
    const [result] = await runAgentCycle(r.deps);

    // Assess
    expect(result).toMatchObject({ outcome: 'installed', reported: true });
    expect(await installedFingerprint(r.dir)).toBe(versions[0]!.facts.fingerprintSha256);
    expect((await stat(join(r.dir, 'key.pem'))).mode & 0o777).toBe(0o600);
    expect(await r.report()).toMatchObject({
      host: HOST,
      certificate: CERT,
      environment: 'prod',
      installedFingerprint: versions[0]!.facts.fingerprintSha256,
      servedFingerprint: versions[0]!.facts.fingerprintSha256,
      installedVersion: 'v1',
      reloadOk: true,
      healthy: true,
      at: '2030-01-01T00:00:00.000Z',
    });
  });

  it('leaves files alone when the desired version is already installed and still reports', async () => {
    // Prepare
    const r = await rig();
    await r.want(versions[0]!);
    await runAgentCycle(r.deps);
    const before = (await stat(join(r.dir, 'cert.pem'))).mtimeMs;
    r.clock.now = new Date('2030-01-01T00:05:00Z');

    // Act
    const [result] = await runAgentCycle(r.deps);

    // Assess
    expect(result?.outcome).toBe('unchanged');
    expect((await stat(join(r.dir, 'cert.pem'))).mtimeMs).toBe(before);
    expect(await r.report()).toMatchObject({ healthy: true, at: '2030-01-01T00:05:00.000Z' });
  });

  it('keeps the previous version when installing a new one', async () => {
    // Prepare
    const r = await rig();
    await r.want(versions[0]!);
    await runAgentCycle(r.deps);
    await r.want(versions[1]!, versions[0]);

    // Act
    await runAgentCycle(r.deps);

    // Assess
    expect(await installedFingerprint(r.dir)).toBe(versions[1]!.facts.fingerprintSha256);
    expect(await installedFingerprint(join(r.dir, 'previous'))).toBe(versions[0]!.facts.fingerprintSha256);
  });

  it('restores the previous files and reports the failure when the health check fails', async () => {
    // Prepare
    const r = await rig();
    await r.want(versions[0]!);
    await runAgentCycle(r.deps);
    await r.want(versions[1]!, versions[0]);
    r.health.failNext = 1;

    // Act
    const [result] = await runAgentCycle(r.deps);

    // Assess
    expect(result?.outcome).toBe('failed');
    expect(await installedFingerprint(r.dir)).toBe(versions[0]!.facts.fingerprintSha256);
    const report = await r.report();
    expect(report).toMatchObject({
      healthy: false,
      installedFingerprint: versions[0]!.facts.fingerprintSha256,
      attemptedFingerprint: versions[1]!.facts.fingerprintSha256,
    });
    expect(report?.error).toMatch(
      /health check of api-internal@v2 failed: served the wrong certificate; previous version restored/,
    );
  });

  it('restores the previous files and reports reloadOk false when the reload command fails', async () => {
    // Prepare
    const r = await rig({ reload: 'test ! -e fail-reload || exit 3' });
    await r.want(versions[0]!);
    await runAgentCycle(r.deps);
    await writeFile(join(r.dir, 'fail-reload'), '');
    await r.want(versions[1]!, versions[0]);

    // Act
    const [result] = await runAgentCycle(r.deps);

    // Assess
    expect(result?.outcome).toBe('failed');
    expect(await installedFingerprint(r.dir)).toBe(versions[0]!.facts.fingerprintSha256);
    expect(await r.report()).toMatchObject({ reloadOk: false, healthy: false });
    expect((await r.report())?.error).toMatch(/exited 3/);
  });

  it('does not retry a failed version until forced, and remembers that across a restart', async () => {
    // Prepare
    const r = await rig();
    await r.want(versions[0]!);
    await runAgentCycle(r.deps);
    await r.want(versions[1]!, versions[0]);
    r.health.failNext = 1;
    await runAgentCycle(r.deps);
    const restarted: AgentDeps = { ...r.deps, local: new AgentStateJsonFile(r.localPath) };

    // Act
    const [skipped] = await runAgentCycle(restarted);
    const [forced] = await runAgentCycle(restarted, { force: true });

    // Assess
    expect(skipped?.outcome).toBe('skipped-failed-version');
    expect(forced?.outcome).toBe('installed');
    expect(await installedFingerprint(r.dir)).toBe(versions[1]!.facts.fingerprintSha256);
  });

  it('retries a failed version once the retry delay has passed', async () => {
    // Prepare
    const r = await rig();
    await r.want(versions[0]!);
    await runAgentCycle(r.deps);
    await r.want(versions[1]!, versions[0]);
    r.health.failNext = 1;
    await runAgentCycle(r.deps, { retryFailedAfterMs: 60_000 });
    r.clock.now = new Date(r.clock.now.getTime() + 61_000);

    // Act
    const [result] = await runAgentCycle(r.deps, { retryFailedAfterMs: 60_000 });

    // Assess
    expect(result?.outcome).toBe('installed');
  });

  it('changes nothing on disk during a store outage and sends the report once the store is back', async () => {
    // Prepare
    const r = await rig();
    await r.want(versions[0]!);
    await runAgentCycle(r.deps);
    await r.want(versions[1]!, versions[0]);
    r.store.down = true;
    r.clock.now = new Date('2030-01-01T01:00:00Z');

    // Act
    const [during] = await runAgentCycle(r.deps);
    const local = JSON.parse((await readFileIfExists(r.localPath)) ?? '{}');
    r.store.down = false;
    const [after] = await runAgentCycle(r.deps);

    // Assess
    expect(during).toMatchObject({ outcome: 'store-unavailable', reported: false });
    expect(local.certificates[CERT].unsent).toMatchObject({ at: '2030-01-01T01:00:00.000Z' });
    expect(after).toMatchObject({ outcome: 'installed', reported: true });
  });

  it('changes nothing when the bundle store cannot be read', async () => {
    // Prepare
    const r = await rig();
    await r.want(versions[0]!);
    await runAgentCycle(r.deps);
    await r.want(versions[1]!, versions[0]);
    const broken: AgentDeps = {
      ...r.deps,
      bundles: {
        ...r.bundles,
        get: async () => Promise.reject(new Error('bundle store unreachable')),
      } as never,
    };

    // Act
    const [result] = await runAgentCycle(broken);

    // Assess
    expect(result?.outcome).toBe('store-unavailable');
    expect(await installedFingerprint(r.dir)).toBe(versions[0]!.facts.fingerprintSha256);
  });

  it('never puts key material in logs, reports or its local state', async () => {
    // Prepare
    const r = await rig({ reload: 'cat key.pem >&2; exit 1' });
    await r.want(versions[0]!);

    // Act
    await runAgentCycle(r.deps);
    await r.want(versions[1]!, versions[0]);
    await runAgentCycle(r.deps);

    // Assess
    const everything = [
      ...r.logs,
      JSON.stringify(await r.report()),
      (await readFileIfExists(r.localPath)) ?? '',
    ].join('\n');
    expect(containsPrivateKey(everything)).toBe(false);
    expect(everything).not.toContain(versions[0]!.privateKey.reveal().split('\n')[1]);
  });

  describe('with server-style file names and a group-readable key', () => {
    const names = { certificate: 'tls.crt', chain: 'ca.crt', fullchain: 'bundle.pem', key: 'tls.key' };
    const gid = process.getuid?.() === 0 ? 33 : process.getgid!();
    const layout: InstallLayout = { fileNames: names, keyMode: 0o640, owner: { gid } };

    async function keyOf(dir: string) {
      const s = await stat(join(dir, 'tls.key'));
      return { mode: s.mode & 0o777, gid: s.gid, pem: await readFile(join(dir, 'tls.key'), 'utf8') };
    }

    it('installs under those names, reports the fingerprint of tls.crt, and creates no default names', async () => {
      // Prepare
      const r = await rig({ reload: 'test -s tls.crt && test -s tls.key', layout });
      await r.want(versions[0]!);

      // Act
      const [result] = await runAgentCycle(r.deps);

      // Assess
      expect(result).toMatchObject({ outcome: 'installed', reported: true });
      expect((await readdir(r.dir)).sort()).toEqual([
        '.certrotor',
        'bundle.pem',
        'ca.crt',
        'tls.crt',
        'tls.key',
      ]);
      expect(await readFile(join(r.dir, 'bundle.pem'), 'utf8')).toBe(
        versions[0]!.certificatePem + versions[0]!.chainPem,
      );
      expect(await keyOf(r.dir)).toEqual({ mode: 0o640, gid, pem: versions[0]!.privateKey.reveal() });
      expect(await r.report()).toMatchObject({
        installedFingerprint: versions[0]!.facts.fingerprintSha256,
        reloadOk: true,
        healthy: true,
      });
      expect(await installedFingerprint(r.dir)).toBeUndefined();
      expect(
        await new FileInstaller({ certificate: CERT, directory: r.dir, ...layout }).installedFingerprint(),
      ).toBe(versions[0]!.facts.fingerprintSha256);
    });

    it('restores the previous files under those names, with the key mode and group, when the health check fails', async () => {
      // Prepare
      const r = await rig({ layout });
      await r.want(versions[0]!);
      await runAgentCycle(r.deps);
      await r.want(versions[1]!, versions[0]);
      r.health.failNext = 1;

      // Act
      const [result] = await runAgentCycle(r.deps);

      // Assess
      expect(result?.outcome).toBe('failed');
      expect(await readFile(join(r.dir, 'tls.crt'), 'utf8')).toBe(versions[0]!.certificatePem);
      expect(await keyOf(r.dir)).toEqual({ mode: 0o640, gid, pem: versions[0]!.privateKey.reveal() });
      expect(await keyOf(join(r.dir, 'previous'))).toMatchObject({ mode: 0o640, gid });
      expect((await r.report())?.installedFingerprint).toBe(versions[0]!.facts.fingerprintSha256);
      expect((await readdir(r.dir)).sort()).toEqual([
        '.certrotor',
        'bundle.pem',
        'ca.crt',
        'previous',
        'tls.crt',
        'tls.key',
      ]);
    });
  });

  it('runs a check command as the health check, with the expected fingerprint in its environment', async () => {
    // Prepare
    const check = commandHealthCheck('test "$CERTROTOR_EXPECTED_FINGERPRINT" = "$WANT"');
    const fingerprint = versions[0]!.facts.fingerprintSha256;
    process.env.WANT = fingerprint;

    // Act
    const good = await check.check(fingerprint);
    const bad = await check.check(versions[1]!.facts.fingerprintSha256);

    // Assess
    expect(good.healthy).toBe(true);
    expect(bad).toMatchObject({ healthy: false });
    expect(bad.error).toMatch(/^check `/);
    delete process.env.WANT;
  });

  it('needs every combined health check to pass', async () => {
    // Prepare
    const ok: HealthCheck = { check: async () => ({ healthy: true, servedFingerprint: 'AA' }) };
    const no: HealthCheck = { check: async () => ({ healthy: false, error: 'check exited 1' }) };

    // Act
    const result = await allHealthChecks([ok, no]).check('AA');

    // Assess
    expect(result).toEqual({ healthy: false, error: 'check exited 1', servedFingerprint: 'AA' });
  });
});

describe('host agent loop', () => {
  it('polls with jitter and runs at once when triggered, retrying failed versions on a trigger', async () => {
    // Prepare
    const r = await rig();
    const waits: number[] = [];
    const forces: boolean[] = [];
    const script = [false, true, false];
    const cycle: AgentDeps = {
      ...r.deps,
      desired: {
        name: 'spy',
        desired: async (host, certificate, now) => {
          return new StateStoreDesiredSource(r.store).desired(host, certificate, now);
        },
      },
    };
    let cycles = 0;
    const local = {
      load: async () => ({ certificates: {} }),
      save: async () => {
        cycles++;
      },
    };

    // Act
    await runAgentLoop(
      { ...cycle, local },
      { pollIntervalMs: 60_000, jitterMs: 10_000, random: () => 0.5 },
      {
        wait: async (ms) => {
          waits.push(ms);
          const triggered = script.shift() ?? false;
          forces.push(triggered);
          return triggered;
        },
        stopped: () => waits.length >= 3,
      },
    );

    // Assess
    expect(waits).toEqual([5_000, 65_000, 65_000]);
    expect(cycles).toBe(2);
    expect(forces).toEqual([false, true, false]);
  });
});

describe('agent destination', () => {
  let versions: CertificateBundle[];

  beforeAll(async () => {
    versions = await buildBundleVersions(3, { issuer: await buildCa() });
  });

  /** The destination's pause runs the host's agent: deterministic, no timers. */
  async function fleetOfOne(options: { agentRuns?: boolean; timeoutMs?: number } = {}) {
    const r = await rig();
    const store: StateStore = r.store;
    const agentRuns = options.agentRuns ?? true;
    const destination = new AgentDestination({
      name: 'web-agents',
      hosts: [HOST],
      state: store,
      bundles: r.bundles,
      clock: () => r.clock.now,
      sleep: async (ms) => {
        r.clock.now = new Date(r.clock.now.getTime() + ms);
        if (agentRuns) await runAgentCycle(r.deps);
      },
      timeoutMs: options.timeoutMs ?? 10_000,
      pollMs: 1000,
    });
    return { r, destination };
  }

  it('lists its hosts as targets', async () => {
    const { destination } = await fleetOfOne();
    expect(await destination.targets()).toEqual([HOST]);
  });

  it('delivers by setting the desired version and returns once the agent reports it healthy', async () => {
    // Prepare
    const { r, destination } = await fleetOfOne();

    // Act
    const outcome = await destination.deliver(HOST, versions[0]!);

    // Assess
    expect(outcome).toMatchObject({
      target: HOST,
      ok: true,
      fingerprintSha256: versions[0]!.facts.fingerprintSha256,
    });
    expect(await installedFingerprint(r.dir)).toBe(versions[0]!.facts.fingerprintSha256);
    expect(await destination.currentFingerprint(HOST)).toBe(versions[0]!.facts.fingerprintSha256);
    const desired = await r.store.get<DesiredRecord>(
      DESIRED_COLLECTION,
      hostRecordId(HOST, CERT),
      r.clock.now,
    );
    expect(containsPrivateKey(JSON.stringify(desired))).toBe(false);
  });

  it('reports the agent failure when the host cannot install the version', async () => {
    // Prepare
    const { r, destination } = await fleetOfOne();
    await destination.deliver(HOST, versions[0]!);
    r.health.failNext = 1;

    // Act
    const outcome = await destination.deliver(HOST, versions[1]!);

    // Assess
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/agent on web-1 failed to install api-internal@v2: health check/);
    expect(outcome.fingerprintSha256).toBe(versions[0]!.facts.fingerprintSha256);
  });

  it('gives up after its timeout when the host never reports', async () => {
    // Prepare
    const { destination } = await fleetOfOne({ agentRuns: false, timeoutMs: 5_000 });

    // Act
    const outcome = await destination.deliver(HOST, versions[0]!);

    // Assess
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(
      /did not report api-internal@v1 installed within 5000 ms \(no report at all\)/,
    );
  });

  it('rolls back by pointing the desired version at the previous one and waiting for it', async () => {
    // Prepare
    const { r, destination } = await fleetOfOne();
    await destination.deliver(HOST, versions[0]!);
    await destination.deliver(HOST, versions[1]!);

    // Act
    const outcome = await destination.rollback(HOST);
    const again = await destination.rollback(HOST);

    // Assess
    expect(outcome).toMatchObject({ ok: true, fingerprintSha256: versions[0]!.facts.fingerprintSha256 });
    expect(again.ok).toBe(true);
    expect(await installedFingerprint(r.dir)).toBe(versions[0]!.facts.fingerprintSha256);
  });

  it('refuses a host it does not have', async () => {
    const { destination } = await fleetOfOne();
    const outcome = await destination.deliver('nope', versions[0]!);
    expect(outcome).toMatchObject({
      ok: false,
      error: expect.stringMatching(/has no host nope \(hosts: web-1\)/),
    });
  });
});

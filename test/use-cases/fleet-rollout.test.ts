/**
 * End to end: a fleet of 22 real TLS hosts on loopback (20 demo TLS host processes, 2 nginx), each
 * with an in-process host agent, rotated with rotateCertificate through the `agent` destination.
 * Injected failures: a host down, a reload that fails, a health check that fails, a slow host and a
 * process that keeps serving the old certificate. A background prober opens a fresh handshake to
 * every host throughout and records any moment a running host serves no valid certificate.
 */
import { join } from 'node:path';
import { AgentDestination } from '../../lambda/adapters/local/agent-destination';
import {
  AgentStateJsonFile,
  FileInstaller,
  commandHealthCheck,
} from '../../lambda/adapters/local/agent-host';
import { FileBundleStore } from '../../lambda/adapters/local/file-bundle-store';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import { LocalCaIssuer } from '../../lambda/adapters/local/local-ca-issuer';
import { NodeTlsProber } from '../../lambda/adapters/net/tls-prober';
import type { BundleRef, CertificateBundle, ProbeRequest } from '../../lambda/domain/ports';
import { type AgentDeps } from '../../lambda/use-cases/agent/model';
import { type HealthCheck } from '../../lambda/domain/ports';
import { type HostReport } from '../../lambda/domain/host-agent';
import { DESIRED_COLLECTION, type DesiredRecord, hostRecordId } from '../../lambda/domain/host-agent';
import { StateStoreDesiredSource } from '../../lambda/use-cases/agent/desired-source';
import { allHealthChecks, handshakeHealthCheck } from '../../lambda/use-cases/agent/health';
import { runAgentLoop } from '../../lambda/use-cases/agent/loop';
import {
  COLLECTIONS,
  readCertificateState,
  updateCertificateState,
} from '../../lambda/use-cases/certificate-state';
import { DEFAULT_VERIFY, type ManagedCertificateSpec } from '../../lambda/use-cases/managed-certificate';
import type { RotationResult } from '../../lambda/use-cases/rotation/finish';
import { rotateCertificate } from '../../lambda/use-cases/rotation/in-process-driver';
import {
  type ServerProcess,
  freePort,
  nginxBinary,
  startDemoHost,
  startNginxOnFreePort,
  stopAllServers,
} from '../support/fleet-hosts';
import { createTempDirs } from '../support/temp-dir';

jest.setTimeout(180_000);

const CERT = 'fleet-api';
const HOST_COUNT = 22;
const NGINX_HOSTS = new Set(['fleet-02', 'fleet-10']);
type Fault = 'down' | 'reload-fails' | 'health-check-fails' | 'keeps-old' | 'slow';
const FAULTS: Readonly<Record<string, Fault>> = {
  'fleet-05': 'slow',
  'fleet-17': 'down',
  'fleet-18': 'reload-fails',
  'fleet-19': 'health-check-fails',
  'fleet-20': 'keeps-old',
};
const EXPECTED_FAILED = ['fleet-17', 'fleet-18', 'fleet-19', 'fleet-20'];

interface FleetHost {
  readonly name: string;
  readonly dir: string;
  /** Demo hosts pick their own port at start (no race with parallel suites); nginx and down hosts get one here. */
  port: number;
  readonly fault?: Fault;
  server?: ServerProcess;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const temp = createTempDirs();
const prober = new NodeTlsProber({ defaultTimeoutMs: 3000 });

let root: string;
let caPem: string;
let store: FileStateStore;
let bundles: FileBundleStore;
let issuer: LocalCaIssuer;
let initial: CertificateBundle;
let initialRef: BundleRef;
const hosts: FleetHost[] = [];
const agentLoops: Promise<void>[] = [];
let agentsStopped = false;

function probeRequest(host: FleetHost): ProbeRequest {
  return { host: '127.0.0.1', port: host.port, servername: 'localhost', caPem: [caPem], timeoutMs: 3000 };
}

/** The background prober: fresh handshakes to every host until stopped. */
function watchFleet() {
  const violations: string[] = [];
  let rounds = 0;
  let stop = false;
  const done = (async () => {
    while (!stop) {
      await Promise.all(
        hosts.map(async (host) => {
          const [result] = await prober.probe(probeRequest(host));
          if (host.fault === 'down') return;
          const leaf = result?.chain[0];
          if (!result || !result.ok || !leaf) {
            violations.push(`${host.name}: ${result?.error ?? 'no result'}`);
          } else if (!result.authorized) {
            violations.push(`${host.name}: serves an invalid certificate (${result.authorizationError})`);
          } else if (Date.parse(leaf.facts.notAfter) <= Date.now()) {
            violations.push(`${host.name}: serves an expired certificate`);
          }
        }),
      );
      rounds++;
      await sleep(50);
    }
  })();
  return {
    violations,
    rounds: () => rounds,
    async stop() {
      stop = true;
      await done;
    },
  };
}

async function served(host: FleetHost): Promise<string | undefined> {
  const [result] = await prober.probe(probeRequest(host));
  return result?.chain[0]?.facts.fingerprintSha256;
}

function healthCheckFor(host: FleetHost): HealthCheck {
  const handshake = handshakeHealthCheck(prober, probeRequest(host), {
    attempts: 10,
    intervalMs: 150,
    sleep,
  });
  return host.fault === 'health-check-fails'
    ? allHealthChecks([handshake, commandHealthCheck('echo "application check failed" >&2; exit 1')])
    : handshake;
}

function reloadFor(host: FleetHost): readonly string[] | string {
  const reload = host.server!.reload;
  switch (host.fault) {
    case 'reload-fails':
      return 'echo "configuration test failed" >&2; exit 1';
    case 'keeps-old':
      return ['true'];
    case 'slow':
      return `sleep 1 && ${reload.join(' ')}`;
    default:
      return reload;
  }
}

function startAgent(host: FleetHost): void {
  const deps: AgentDeps = {
    host: host.name,
    environment: 'prod',
    certificates: [
      {
        name: CERT,
        installer: new FileInstaller({
          certificate: CERT,
          directory: host.dir,
          reload: reloadFor(host),
          reloadTimeoutMs: 10_000,
        }),
        healthCheck: healthCheckFor(host),
      },
    ],
    desired: new StateStoreDesiredSource(store),
    bundles,
    state: store,
    local: new AgentStateJsonFile(join(root, 'agents', `${host.name}.json`)),
    clock: () => new Date(),
  };
  agentLoops.push(
    runAgentLoop(
      deps,
      { pollIntervalMs: 150, jitterMs: 100, random: Math.random },
      {
        wait: async (ms) => {
          const until = Date.now() + ms;
          while (!agentsStopped && Date.now() < until) await sleep(Math.min(50, until - Date.now()));
          return false;
        },
        stopped: () => agentsStopped,
      },
    ),
  );
}

function spec(failureTolerance: number): ManagedCertificateSpec {
  return {
    name: CERT,
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    keySpec: 'EC_P256',
    usage: 'server',
    validityDays: 30,
    issuer: 'local-ca',
    destinations: ['fleet'],
    verify: hosts.map((h) => ({
      environment: 'prod',
      host: '127.0.0.1',
      port: h.port,
      servername: 'localhost',
      target: h.name,
      caPem: [caPem],
    })),
    environments: ['prod'],
    rollout: { canary: 1, batchSize: 5, failureTolerance },
    verifyPolicy: { ...DEFAULT_VERIFY, attempts: 5, intervalMs: 200, timeoutMs: 3000 },
  };
}

function rotationDeps() {
  return {
    issuers: new Map([['local-ca', issuer]]),
    destinations: new Map([
      [
        'fleet',
        new AgentDestination({
          name: 'fleet',
          hosts: hosts.map((h) => h.name),
          state: store,
          bundles,
          clock: () => new Date(),
          sleep,
          timeoutMs: 8_000,
          pollMs: 100,
        }),
      ],
    ]),
    bundles,
    state: store,
    prober,
    clock: () => new Date(),
    sleep,
  };
}

const failedHosts = (result: RotationResult) =>
  result.targets
    .filter((t) => t.error !== undefined)
    .map((t) => t.target)
    .sort();

beforeAll(async () => {
  // No silent skip: a missing nginx fails the suite with how to install it.
  nginxBinary();
  root = await temp.make('fleet');
  store = new FileStateStore({ directory: join(root, 'state') });
  bundles = new FileBundleStore({ directory: join(root, 'bundles') });
  issuer = new LocalCaIssuer({ directory: join(root, 'ca') });
  caPem = (await issuer.caCertificate()).pem;

  // The version in service before the rotation, installed everywhere and recorded as current.
  const now = new Date();
  initial = await issuer.issue(
    {
      name: CERT,
      version: 'v0',
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      keySpec: 'EC_P256',
      usage: 'server',
      validityDays: 20,
      idempotencyKey: `${CERT}-v0`,
    },
    now,
  );
  initialRef = await bundles.put(initial);
  await updateCertificateState(store, CERT, now, () => ({
    name: CERT,
    current: {
      version: 'v0',
      fingerprintSha256: initial.facts.fingerprintSha256,
      notAfter: initial.facts.notAfter,
      notBefore: initial.facts.notBefore,
      bundle: initialRef,
      promotedAt: now.toISOString(),
    },
    failedAttempts: 0,
  }));

  for (let i = 1; i <= HOST_COUNT; i++) {
    const name = `fleet-${String(i).padStart(2, '0')}`;
    const host: FleetHost = {
      name,
      dir: join(root, 'hosts', name, 'tls'),
      port: await freePort(),
      ...(FAULTS[name] ? { fault: FAULTS[name] } : {}),
    };
    await new FileInstaller({ certificate: CERT, directory: host.dir }).install(initial);
    const record: DesiredRecord = {
      host: name,
      certificate: CERT,
      version: 'v0',
      fingerprintSha256: initial.facts.fingerprintSha256,
      bundle: initialRef,
      requestedAt: now.toISOString(),
    };
    await store.put(DESIRED_COLLECTION, hostRecordId(name, CERT), record, now);
    hosts.push(host);
  }
  // allSettled: if one host fails to start, every other one has started (and is tracked) before the
  // failure is thrown, so afterAll stops them all and none outlives the suite.
  const started = await Promise.allSettled(
    hosts
      .filter((h) => h.fault !== 'down')
      .map(async (h) => {
        h.server = NGINX_HOSTS.has(h.name)
          ? await startNginxOnFreePort(join(root, 'nginx', h.name), h.dir)
          : await startDemoHost(h.dir);
        h.port = h.server.port;
      }),
  );
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  for (const host of hosts) if (host.fault !== 'down') startAgent(host);
});

afterAll(async () => {
  agentsStopped = true;
  await Promise.allSettled(agentLoops);
  await stopAllServers();
  await temp.cleanup();
});

describe('fleet rollout through host agents', () => {
  it('runs a fleet of at least 20 hosts, two of them real nginx, all serving the version in service', async () => {
    // Assess
    expect(hosts.length).toBeGreaterThanOrEqual(20);
    expect(hosts.filter((h) => h.server?.kind === 'nginx')).toHaveLength(2);
    for (const host of hosts.filter((h) => h.fault !== 'down'))
      expect(await served(host)).toBe(initial.facts.fingerprintSha256);
  });

  it('names exactly the failed hosts, promotes nothing, and never leaves a host without a valid certificate', async () => {
    // Prepare
    const watch = watchFleet();

    // Act
    const result = await rotateCertificate(rotationDeps(), spec(EXPECTED_FAILED.length), {
      reason: 'fleet test',
      owner: 'fleet-test',
    });
    await watch.stop();

    // Assess
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/^not promoted: /);
    expect(failedHosts(result)).toEqual(EXPECTED_FAILED);
    expect(result.targets.filter((t) => t.state === 'verified')).toHaveLength(
      HOST_COUNT - EXPECTED_FAILED.length,
    );
    expect(result.convergence).toBe(
      Math.round(((HOST_COUNT - EXPECTED_FAILED.length) / HOST_COUNT) * 1000) / 10,
    );
    expect(watch.violations).toEqual([]);
    expect(watch.rounds()).toBeGreaterThan(2);
    const state = (await readCertificateState(store, CERT, new Date()))?.value;
    expect(state?.current?.fingerprintSha256).toBe(initial.facts.fingerprintSha256);

    const fresh = result.newFingerprint!;
    for (const host of hosts) {
      if (host.fault === 'down') continue;
      const expected = EXPECTED_FAILED.includes(host.name) ? initial.facts.fingerprintSha256 : fresh;
      expect({ host: host.name, serves: await served(host) }).toEqual({ host: host.name, serves: expected });
    }
    const errorOf = (name: string) => result.targets.find((t) => t.target === name)?.error ?? '';
    expect(errorOf('fleet-17')).toMatch(
      /did not report .* within 8000 ms \(last report at .* shows .* installed\)|no report/,
    );
    expect(errorOf('fleet-18')).toMatch(/configuration test failed/);
    expect(errorOf('fleet-19')).toMatch(/application check failed; previous version restored/);
    expect(errorOf('fleet-20')).toMatch(/serves .*, expected /);
    const report = await store.get<HostReport>(COLLECTIONS.hosts, hostRecordId('fleet-18', CERT), new Date());
    expect(report?.value).toMatchObject({ reloadOk: false, healthy: false });
  });

  it('rolls every updated host back, verified, once failures exceed the tolerance', async () => {
    // Prepare
    const watch = watchFleet();

    // Act
    const result = await rotateCertificate(rotationDeps(), spec(0), {
      reason: 'fleet test, no tolerance',
      owner: 'fleet-test',
    });
    await watch.stop();

    // Assess
    expect(result.status).toBe('rolled-back');
    expect(failedHosts(result)).toEqual(EXPECTED_FAILED);
    expect(result.targets.filter((t) => t.state === 'rollback-failed')).toEqual([]);
    expect(watch.violations).toEqual([]);
    // Targets the stopped rollout never reached keep what they had (here: the earlier run's valid version).
    const touched = new Set(result.targets.filter((t) => t.state !== 'pending').map((t) => t.target));
    for (const host of hosts.filter((h) => h.fault !== 'down' && touched.has(h.name)))
      expect({ host: host.name, serves: await served(host) }).toEqual({
        host: host.name,
        serves: initial.facts.fingerprintSha256,
      });
  });
});

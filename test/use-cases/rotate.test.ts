import { buildCa, buildCertificate } from '../builders/certificates';
import { CountingIssuer, minimalFacts } from '../fakes/fake-issuer';
import { FakeFleet, MemoryBundleStore, type HostFault } from '../fakes/fake-fleet';
import { MemoryStateStore } from '../fakes/memory-state-store';
import { rotateCertificate } from '../../lambda/use-cases/rotation/in-process-driver';
import type { RotationDeps } from '../../lambda/use-cases/rotation/spec';
import type {
  OutgoingEvent,
  CertificateBundle,
  Destination,
  InspectableDestination,
  PromotableDestination,
  StagingDestination,
  TargetOutcome,
} from '../../lambda/domain/ports';
import {
  readCertificateState,
  updateCertificateState,
  acquireLock,
} from '../../lambda/use-cases/certificate-state';
import { DEFAULT_ROLLOUT, type ManagedCertificateSpec } from '../../lambda/use-cases/managed-certificate';

const NOW = new Date('2026-06-01T00:00:00Z');
const HOSTS = Array.from({ length: 10 }, (_, i) => `host-${i + 1}`);

async function prepare(options: { faults?: Record<string, HostFault>; failureTolerance?: number } = {}) {
  const ca = await buildCa({ now: NOW });
  const old = await buildCertificate({ issuer: ca, now: NOW, daysLeft: 20, dnsNames: ['api.internal'] });
  const oldFacts = minimalFacts(old.certificatePem);
  const fleet = new FakeFleet(
    'fleet',
    HOSTS,
    { fingerprint: oldFacts.fingerprintSha256, notAfter: oldFacts.notAfter },
    () => NOW,
  );
  for (const [host, fault] of Object.entries(options.faults ?? {})) fleet.faults.set(host, fault);
  const state = new MemoryStateStore();
  await updateCertificateState(state, 'api', NOW, () => ({
    name: 'api',
    current: {
      version: 'v0',
      fingerprintSha256: oldFacts.fingerprintSha256,
      notAfter: oldFacts.notAfter,
      notBefore: oldFacts.notBefore,
      bundle: { name: 'api', version: 'v0', location: 'memory:api#v0' },
    },
    failedAttempts: 0,
  }));
  const issuer = new CountingIssuer(ca);
  const deps: RotationDeps = {
    issuers: new Map([['test-ca', issuer]]),
    destinations: new Map([['fleet', fleet]]),
    bundles: new MemoryBundleStore(),
    state,
    prober: fleet,
    clock: () => NOW,
    sleep: async () => undefined,
  };
  const spec: ManagedCertificateSpec = {
    name: 'api',
    commonName: 'api.internal',
    dnsNames: ['api.internal'],
    keySpec: 'EC_P256',
    usage: 'server',
    validityDays: 90,
    issuer: 'test-ca',
    destinations: ['fleet'],
    verify: HOSTS.map((h) => ({ environment: 'prod', host: h, port: 443, target: h })),
    environments: ['prod'],
    rollout: { ...DEFAULT_ROLLOUT, batchSize: 3, failureTolerance: options.failureTolerance ?? 0 },
    verifyPolicy: { attempts: 2, intervalMs: 0, timeoutMs: 1000 },
  };
  return { deps, spec, fleet, issuer, state, oldFingerprint: oldFacts.fingerprintSha256 };
}

describe('rotating a certificate across a fleet', () => {
  it('promotes the new version only after every host serves it, keeping the old one as previous', async () => {
    const { deps, spec, fleet, state, oldFingerprint } = await prepare();

    const result = await rotateCertificate(deps, spec, { reason: 'test', owner: 'test' });

    expect(result.status).toBe('succeeded');
    expect(result.convergence).toBe(100);
    const stored = (await readCertificateState(state, 'api', NOW))!.value;
    expect(stored.current?.fingerprintSha256).toBe(result.newFingerprint);
    expect(stored.previous?.fingerprintSha256).toBe(oldFingerprint);
    expect(stored.pending).toBeUndefined();
    expect([...fleet.hosts.values()].every((h) => h.serving?.fingerprint === result.newFingerprint)).toBe(
      true,
    );
    expect(fleet.violations).toEqual([]);
  });

  it('rolls everything back when the 10th host is unreachable and names that host', async () => {
    const { deps, spec, fleet, state, oldFingerprint } = await prepare({ faults: { 'host-10': 'down' } });

    const result = await rotateCertificate(deps, spec, { reason: 'test', owner: 'test' });

    expect(result.status).toBe('rolled-back');
    expect(result.reason).toContain('host-10');
    expect(result.targets.find((t) => t.target === 'host-10')?.error).toContain('connection refused');
    expect(
      [...fleet.hosts.entries()]
        .filter(([h]) => h !== 'host-10')
        .every(([, h]) => h.serving?.fingerprint === oldFingerprint),
    ).toBe(true);
    expect((await readCertificateState(state, 'api', NOW))!.value.current?.fingerprintSha256).toBe(
      oldFingerprint,
    );
    expect(fleet.violations).toEqual([]);
  });

  it('stops after the canary when the canary keeps serving the old certificate', async () => {
    const { deps, spec, fleet } = await prepare({ faults: { 'host-1': 'keeps-old' } });

    const result = await rotateCertificate(deps, spec, { reason: 'test', owner: 'test' });

    expect(result.status).toBe('rolled-back');
    expect(fleet.log.filter((l) => l.startsWith('deliver'))).toEqual(['deliver host-1']);
  });

  it('never promotes while a host is unverified, even within the failure tolerance', async () => {
    const { deps, spec, state, oldFingerprint } = await prepare({
      faults: { 'host-7': 'reload-fails' },
      failureTolerance: 2,
    });

    const result = await rotateCertificate(deps, spec, { reason: 'test', owner: 'test' });

    expect(result.status).toBe('failed');
    expect(result.reason).toContain('host-7');
    expect(result.convergence).toBe(90);
    const stored = (await readCertificateState(state, 'api', NOW))!.value;
    expect(stored.current?.fingerprintSha256).toBe(oldFingerprint);
    expect(stored.pending?.fingerprintSha256).toBe(result.newFingerprint);
  });

  it('resumes the pending version instead of issuing a second certificate', async () => {
    const { deps, spec, fleet, issuer } = await prepare({
      faults: { 'host-7': 'reload-fails' },
      failureTolerance: 2,
    });
    const first = await rotateCertificate(deps, spec, { reason: 'test', owner: 'test' });
    fleet.faults.clear();

    const second = await rotateCertificate(deps, spec, { reason: 'retry', owner: 'test' });

    expect(second.status).toBe('succeeded');
    expect(second.newFingerprint).toBe(first.newFingerprint);
    expect(issuer.issued).toBe(1);
  });

  it('retries a rolled-back rotation with the certificate already issued for it, and tells its failure once per escalation level', async () => {
    // Prepare
    const events: OutgoingEvent[] = [];
    const { deps, spec, fleet, issuer, state } = await prepare({ faults: { 'host-4': 'keeps-old' } });
    const withEvents = {
      ...deps,
      events: {
        name: 'memory',
        publish: async (e: readonly OutgoingEvent[]) => (
          events.push(...e),
          { published: e.length, failed: [] }
        ),
      },
    };

    // Act
    const first = await rotateCertificate(withEvents, spec, { reason: 'test', owner: 'test' });
    const second = await rotateCertificate(withEvents, spec, { reason: 'retry', owner: 'test' });
    fleet.faults.clear();
    const third = await rotateCertificate(withEvents, spec, { reason: 'retry', owner: 'test' });

    // Assess
    expect([first.status, second.status, third.status]).toEqual(['rolled-back', 'rolled-back', 'succeeded']);
    expect(new Set([first.version, second.version, third.version]).size).toBe(1);
    expect(third.newFingerprint).toBe(first.newFingerprint);
    expect(issuer.issued).toBe(1);
    const keys = events.map((e) => (e.detail as { dedupeKey: string }).dedupeKey);
    // The same version's start and failure carry the same keys each time: a channel tells them once.
    expect(new Set(keys).size).toBe(3);
    expect((await readCertificateState(state, 'api', NOW))!.value.failedAttempts).toBe(0);
  });

  it('reports "in progress" when another rotation holds the lock', async () => {
    const { deps, spec, state, issuer } = await prepare();
    await acquireLock(
      state,
      'api',
      { owner: 'scheduled', acquiredAt: NOW.toISOString(), purpose: 'x' },
      NOW,
      60_000,
    );

    const result = await rotateCertificate(deps, spec, { reason: 'manual', owner: 'manual' });

    expect(result.status).toBe('refused');
    expect(result.reason).toContain('already in progress');
    expect(issuer.issued).toBe(0);
  });

  it('refuses with a clear reason when a crashed rotation left a pending version behind', async () => {
    const { deps, spec, state } = await prepare();
    await updateCertificateState(state, 'api', NOW, (s) => ({
      ...s,
      pending: { version: 'vcrashed', rotationId: 'api:vcrashed', startedAt: NOW.toISOString(), reason: 'x' },
    }));

    const result = await rotateCertificate(deps, spec, { reason: 'test', owner: 'test' });

    expect(result.status).toBe('refused');
    expect(result.reason).toContain('certrotor repair api');
  });

  it('changes nothing on a dry run', async () => {
    const { deps, spec, fleet, issuer } = await prepare();

    const result = await rotateCertificate(deps, spec, { reason: 'test', owner: 'test', dryRun: true });

    expect(result.status).toBe('dry-run');
    expect(issuer.issued).toBe(0);
    expect(fleet.log).toEqual([]);
  });

  it('fails before touching any host when the issuer fails', async () => {
    const { deps, spec, fleet, issuer } = await prepare();
    issuer.failNext = new Error('CA throttled');

    const result = await rotateCertificate(deps, spec, { reason: 'test', owner: 'test' });

    expect(result.status).toBe('failed');
    expect(result.reason).toContain('CA throttled');
    expect(fleet.log).toEqual([]);
  });

  // Property: whatever set of hosts fails, and however, no host is ever left without a valid
  // certificate and promotion happens exactly when no host failed.
  it.each(Array.from({ length: 25 }, (_, seed) => [seed]))(
    'keeps every host on a valid certificate for random fault set #%i',
    async (seed) => {
      const random = mulberry32(seed + 1);
      const faults: Record<string, HostFault> = {};
      const kinds: HostFault[] = ['down', 'reload-fails', 'keeps-old'];
      for (const h of HOSTS) if (random() < 0.15) faults[h] = kinds[Math.floor(random() * kinds.length)]!;
      const { deps, spec, fleet, state, oldFingerprint } = await prepare({ faults });

      const result = await rotateCertificate(deps, spec, { reason: 'property', owner: 'test' });

      expect(fleet.violations).toEqual([]);
      const current = (await readCertificateState(state, 'api', NOW))!.value.current!.fingerprintSha256;
      if (Object.keys(faults).length === 0) {
        expect(result.status).toBe('succeeded');
        expect(current).toBe(result.newFingerprint);
      } else {
        expect(result.status).not.toBe('succeeded');
        expect(current).toBe(oldFingerprint);
        for (const failed of Object.keys(faults).filter(
          (h) => result.targets.find((t) => t.target === h)?.state !== 'pending',
        )) {
          expect(result.reason).toContain(failed);
        }
      }
    },
  );
});

/**
 * A destination that stages material and switches consumers at promotion (Secrets Manager's
 * AWSPENDING → AWSCURRENT): before promotion it holds the new version as staged, not current.
 */
class StagingStore implements Destination, PromotableDestination, InspectableDestination, StagingDestination {
  readonly name = 'secret';
  readonly kind = 'staging';
  staged: string | undefined;
  /** When set, staging stores this instead of what was delivered (a broken write). */
  stagesInstead: string | undefined;
  readonly log: string[] = [];

  constructor(public current: string) {}

  async targets(): Promise<string[]> {
    return ['app/tls'];
  }

  async deliver(target: string, bundle: CertificateBundle): Promise<TargetOutcome> {
    this.staged = this.stagesInstead ?? bundle.facts.fingerprintSha256;
    this.log.push('deliver');
    return { target, ok: true, fingerprintSha256: bundle.facts.fingerprintSha256 };
  }

  async promote(target: string): Promise<TargetOutcome> {
    this.current = this.staged ?? this.current;
    this.staged = undefined;
    this.log.push('promote');
    return { target, ok: true, fingerprintSha256: this.current };
  }

  async rollback(target: string): Promise<TargetOutcome> {
    this.staged = undefined;
    this.log.push('rollback');
    return { target, ok: true, fingerprintSha256: this.current };
  }

  async currentFingerprint(): Promise<string | undefined> {
    return this.current;
  }

  async stagedFingerprint(): Promise<string | undefined> {
    return this.staged ?? this.current;
  }
}

describe('rotating a certificate held by a staging destination', () => {
  async function prepareStaged() {
    const prepared = await prepare();
    const store = new StagingStore(prepared.oldFingerprint);
    const deps: RotationDeps = { ...prepared.deps, destinations: new Map([['secret', store]]) };
    const spec: ManagedCertificateSpec = { ...prepared.spec, destinations: ['secret'], verify: [] };
    return { ...prepared, deps, spec, store };
  }

  it('verifies the staged version before promoting it, then the new version is current', async () => {
    const { deps, spec, store, state } = await prepareStaged();

    const result = await rotateCertificate(deps, spec, { reason: 'test', owner: 'test' });

    expect(result.status).toBe('succeeded');
    expect(result.targets).toEqual([
      {
        destination: 'secret',
        target: 'app/tls',
        state: 'verified',
        fingerprintSha256: result.newFingerprint,
      },
    ]);
    expect(store.log).toEqual(['deliver', 'promote']);
    expect(store.current).toBe(result.newFingerprint);
    expect((await readCertificateState(state, 'api', NOW))!.value.current?.fingerprintSha256).toBe(
      result.newFingerprint,
    );
  });

  it('does not promote a staged version that does not hold the new certificate, and checks the rollback against the current one', async () => {
    const { deps, spec, store, oldFingerprint } = await prepareStaged();
    store.stagesInstead = 'AB'.repeat(32);

    const result = await rotateCertificate(deps, spec, { reason: 'test', owner: 'test' });

    expect(result.status).toBe('rolled-back');
    expect(result.targets[0]).toMatchObject({ state: 'rolled-back', fingerprintSha256: oldFingerprint });
    expect(result.targets[0]?.error).toContain(`holds ${'AB'.repeat(6)}, expected`);
    expect(store.log).toEqual(['deliver', 'rollback']);
    expect(store.current).toBe(oldFingerprint);
  });
});

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('a destination that cannot list its targets', () => {
  it('fails the rotation with the reason before issuing or touching anything, instead of throwing', async () => {
    // Prepare
    const { deps, spec, issuer, fleet } = await prepare();
    const broken: Destination = {
      name: 'ssm-fleet',
      kind: 'ssm',
      targets: async () => {
        throw new Error('DescribeInstanceInformation: AccessDeniedException');
      },
      deliver: async () => ({ target: 'x', ok: false }),
      rollback: async () => ({ target: 'x', ok: false }),
    };
    const withBroken = { ...deps, destinations: new Map([...deps.destinations, ['ssm-fleet', broken]]) };

    // Act
    const result = await rotateCertificate(
      withBroken,
      { ...spec, destinations: ['fleet', 'ssm-fleet'] },
      { reason: 'test', owner: 'test' },
    );

    // Assess
    expect(result.status).toBe('failed');
    expect(result.reason).toBe(
      'cannot list the targets of api: DescribeInstanceInformation: AccessDeniedException',
    );
    expect(issuer.issued).toBe(0);
    expect(fleet.log).toEqual([]);
  });
});

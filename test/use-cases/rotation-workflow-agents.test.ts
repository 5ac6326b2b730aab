/**
 * The deployed rotation workflow's steps rolling out to `agent` hosts: the AgentDestination does not
 * wait (as built for `backend: aws`), each step gets freshly built adapters (as each Step Functions
 * task does), and in-process agents run between steps as hosts polling their desired version would.
 */
import { join } from 'node:path';
import { AgentDestination } from '../../lambda/adapters/local/agent-destination';
import { AgentStateJsonFile, FileInstaller } from '../../lambda/adapters/local/agent-host';
import { FileBundleStore } from '../../lambda/adapters/local/file-bundle-store';
import type { CertificateBundle, OutgoingEvent, StateStore } from '../../lambda/domain/ports';
import { containsPrivateKey } from '../../lambda/domain/secret';
import { type AgentDeps } from '../../lambda/use-cases/agent/model';
import { type HealthCheck } from '../../lambda/domain/ports';
import { DESIRED_COLLECTION, type DesiredRecord, hostRecordId } from '../../lambda/domain/host-agent';
import { type DesiredVersionSource } from '../../lambda/domain/ports';
import { FirstDesiredSource, StateStoreDesiredSource } from '../../lambda/use-cases/agent/desired-source';
import { runAgentCycle } from '../../lambda/use-cases/agent/cycle';
import {
  nextVersionId,
  readCertificateState,
  updateCertificateState,
} from '../../lambda/use-cases/certificate-state';
import { DEFAULT_ROLLOUT, DEFAULT_VERIFY } from '../../lambda/use-cases/managed-certificate';
import { shortFingerprint } from '../../lambda/domain/certificate';
import type { TargetRecord, TargetRef } from '../../lambda/domain/rotation/rollout';
import { finishStep } from '../../lambda/use-cases/rotation/finish';
import { acquireRotationLock } from '../../lambda/use-cases/rotation/lock';
import { ROTATION_TARGETS_COLLECTION } from '../../lambda/use-cases/rotation/records';
import { rollbackStep } from '../../lambda/use-cases/rotation/rollback';
import type { RotationDeps, RotationRef, RotationSpec } from '../../lambda/use-cases/rotation/spec';
import {
  type IssuedVersion,
  deliverStep,
  issueStep,
  nextStep,
  planStep,
  promoteStep,
  startStep,
  verifyStep,
} from '../../lambda/use-cases/rotation/steps';
import { buildCa } from '../builders/certificates';
import { CountingIssuer } from '../fakes/fake-issuer';
import { MemoryStateStore } from '../fakes/memory-state-store';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const CERT = 'api-internal';
const DESTINATION = 'web-agents';
const HOSTS = ['web-1', 'web-2', 'web-3'];
const VERIFY_TIMEOUT_MS = 60_000;

const spec: RotationSpec = {
  name: CERT,
  commonName: 'api.internal.example',
  dnsNames: ['api.internal.example'],
  keySpec: 'EC_P256',
  usage: 'server',
  validityDays: 30,
  issuer: 'test-ca',
  destinations: [DESTINATION],
  verify: [],
  environments: ['prod'],
  rollout: { ...DEFAULT_ROLLOUT, canary: 1 },
  verifyPolicy: DEFAULT_VERIFY,
  verifyTimeoutMs: VERIFY_TIMEOUT_MS,
  verifyIntervalMs: 10_000,
  destinationEnvironments: new Map([[DESTINATION, 'prod']]),
};

/** The promoted version (what AWSCURRENT is to an agent with the AWS backend): the certificate state's current. */
function promotedSource(state: StateStore): DesiredVersionSource {
  return {
    name: 'promoted',
    async desired(_host, certificate, now) {
      const current = (await readCertificateState(state, certificate, now))?.value.current;
      return current
        ? {
            certificate,
            version: current.version,
            fingerprintSha256: current.fingerprintSha256,
            bundle: current.bundle,
          }
        : undefined;
    },
  };
}

interface Host {
  readonly name: string;
  readonly agent: AgentDeps;
  readonly installer: FileInstaller;
  /** When set, the host's health check fails for any version other than this one. */
  healthyOnlyWith?: string;
  /** A host whose agent is not running. */
  down?: boolean;
}

async function rig() {
  const clock = { now: new Date('2026-11-20T10:00:00Z') };
  const state = new MemoryStateStore();
  const root = await temp.make('workflow-agents');
  const bundles = new FileBundleStore({ directory: join(root, 'bundles'), clock: () => clock.now });
  const issuer = new CountingIssuer(await buildCa());
  const events: OutgoingEvent[] = [];
  const desired = new FirstDesiredSource([new StateStoreDesiredSource(state), promotedSource(state)]);
  const hosts: Host[] = HOSTS.map((name) => {
    const installer = new FileInstaller({ certificate: CERT, directory: join(root, name, 'tls') });
    const host: Host = { name, installer } as Host;
    const healthCheck: HealthCheck = {
      async check(expected) {
        if (host.healthyOnlyWith !== undefined && expected !== host.healthyOnlyWith)
          return { healthy: false, error: 'application check failed' };
        return { healthy: expected !== undefined, ...(expected ? { servedFingerprint: expected } : {}) };
      },
    };
    Object.assign(host, {
      agent: {
        host: name,
        environment: 'prod',
        certificates: [{ name: CERT, installer, healthCheck }],
        desired,
        bundles,
        state,
        local: new AgentStateJsonFile(join(root, name, 'agent.json')),
        clock: () => clock.now,
      } satisfies AgentDeps,
    });
    return host;
  });
  /** Every running agent polls once. */
  const poll = async () => {
    for (const h of hosts) if (!h.down) await runAgentCycle(h.agent);
  };
  /** Adapters as one workflow task builds them: nothing remembered from an earlier step. */
  const deps = (rollbackWait = { timeoutMs: 30_000, intervalMs: 5_000 }): RotationDeps => ({
    issuers: new Map([[issuer.name, issuer]]),
    destinations: new Map([
      [
        DESTINATION,
        new AgentDestination({
          name: DESTINATION,
          hosts: HOSTS,
          state,
          bundles,
          clock: () => clock.now,
          sleep: async () => {
            throw new Error('a non-blocking agent destination never waits');
          },
          waitForReport: false,
        }),
      ],
    ]),
    bundles,
    state,
    prober: { probe: async () => [] },
    clock: () => clock.now,
    // Waiting is time passing while the hosts' agents poll.
    sleep: async (ms) => {
      clock.now = new Date(clock.now.getTime() + ms);
      await poll();
    },
    events: {
      name: 'memory',
      publish: async (e) => (events.push(...e), { published: e.length, failed: [] }),
    },
    rollbackWait,
  });
  const fingerprints = () => Promise.all(hosts.map((h) => h.installer.installedFingerprint()));
  const host = (name: string) => hosts.find((h) => h.name === name)!;
  const advance = (ms: number) => {
    clock.now = new Date(clock.now.getTime() + ms);
  };
  return { clock, state, bundles, issuer, events, hosts, host, poll, deps, fingerprints, advance };
}

type Rig = Awaited<ReturnType<typeof rig>>;

/** Version 1 promoted and installed everywhere, as after an earlier rotation. */
async function withCurrentVersion(r: Rig): Promise<CertificateBundle> {
  const now = r.clock.now;
  const bundle = await r.issuer.issue(
    {
      name: CERT,
      version: 'v-initial',
      commonName: spec.commonName,
      dnsNames: spec.dnsNames,
      keySpec: spec.keySpec,
      usage: spec.usage,
      validityDays: spec.validityDays,
      idempotencyKey: `${CERT}:v-initial`,
    },
    // Issued earlier: a new version must outlive it.
    new Date(now.getTime() - 7 * 86_400_000),
  );
  const ref = await r.bundles.put(bundle);
  await updateCertificateState(r.state, CERT, now, (s) => ({
    ...s,
    current: {
      version: bundle.version,
      fingerprintSha256: bundle.facts.fingerprintSha256,
      notAfter: bundle.facts.notAfter,
      notBefore: bundle.facts.notBefore,
      bundle: ref,
      facts: bundle.facts,
    },
  }));
  await r.poll();
  return bundle;
}

async function reference(r: Rig): Promise<RotationRef> {
  const state = (await readCertificateState(r.state, CERT, r.clock.now))?.value;
  return { name: CERT, version: nextVersionId(CERT, state), owner: 'exec-1', trigger: 'manual' };
}

/** The state machine's Map over targets: deliver, then verify every interval until verified or failed. */
async function rollOut(r: Rig, ref: RotationRef, issued: IssuedVersion, targets: readonly TargetRef[]) {
  const results = new Map<string, Awaited<ReturnType<typeof verifyStep>>>();
  const deadlines = new Map<string, string>();
  for (const t of targets)
    deadlines.set(t.target, deadlineOf(await deliverStep(r.deps(), spec, ref, issued.bundle, t)));
  for (;;) {
    await r.poll();
    for (const t of targets) {
      const state = results.get(t.target)?.state;
      if (state === 'verified' || state === 'failed') continue;
      results.set(
        t.target,
        await verifyStep(r.deps(), spec, ref, t, issued.fingerprint, deadlines.get(t.target)!),
      );
    }
    if ([...results.values()].every((v) => v.state !== 'retry')) return results;
    r.advance(spec.verifyIntervalMs!);
  }
}

function deadlineOf(delivery: Awaited<ReturnType<typeof deliverStep>>): string {
  if (delivery.state !== 'delivered') throw new Error(`delivery failed: ${delivery.error}`);
  return delivery.deadline;
}

/** The batches of the plan, in order, as the `Next` step hands them out. */
async function batches(r: Rig, ref: RotationRef): Promise<{ canary: TargetRef[]; rest: TargetRef[] }> {
  await planStep(r.deps(), spec, ref);
  const first = await nextStep(r.deps(), spec, ref);
  if (first.action !== 'deliver') throw new Error(`expected a batch, got ${first.action}`);
  const plan = await r.state.get<{ batches: TargetRef[][] }>(
    'rotation-plans',
    `${CERT}#${ref.version}`,
    r.clock.now,
  );
  return { canary: [...first.targets], rest: plan!.value.batches.slice(1).flat() };
}

const restoredOf = (targets: readonly TargetRecord[]) =>
  targets.filter((t) => t.state === 'rolled-back').map((t) => t.target);

describe('rotation workflow steps with agent hosts (non-blocking agent destination)', () => {
  it('delivers to the canary first, verifies each host by its agent report, then promotes', async () => {
    // Prepare
    const r = await rig();
    const initial = await withCurrentVersion(r);
    const ref = await reference(r);

    // Act
    expect(await startStep(r.deps(), spec, ref)).toEqual({ started: true, resumed: false });
    const targets = await batches(r, ref);
    const issued = await issueStep(r.deps(), spec, ref);
    const [canary] = targets.canary;
    const deadline = deadlineOf(await deliverStep(r.deps(), spec, ref, issued.bundle, canary!));
    const beforeAgent = await verifyStep(r.deps(), spec, ref, canary!, issued.fingerprint, deadline);
    const desiredRecord = (
      await r.state.get<DesiredRecord>(DESIRED_COLLECTION, hostRecordId('web-1', CERT), r.clock.now)
    )?.value;
    await r.poll();
    const canaryFiles = await r.fingerprints();
    const afterAgent = await verifyStep(r.deps(), spec, ref, canary!, issued.fingerprint, deadline);
    const rest = await rollOut(r, ref, issued, targets.rest);
    expect(await nextStep(r.deps(), spec, ref)).toEqual({ action: 'promote' });
    await promoteStep(r.deps(), spec, ref);
    await finishStep(r.deps(), spec, ref, { outcome: 'succeeded' });
    await r.poll();

    // Assess
    expect(targets.canary).toEqual([{ destination: DESTINATION, target: 'web-1' }]);
    expect(targets.rest.map((t) => t.target)).toEqual(['web-2', 'web-3']);
    expect(beforeAgent.state).toBe('retry');
    expect(beforeAgent.error).toContain(shortFingerprint(initial.facts.fingerprintSha256));
    expect(desiredRecord).toMatchObject({ version: ref.version, fingerprintSha256: issued.fingerprint });
    expect(containsPrivateKey(JSON.stringify(desiredRecord))).toBe(false);
    expect(canaryFiles).toEqual([
      issued.fingerprint,
      initial.facts.fingerprintSha256,
      initial.facts.fingerprintSha256,
    ]);
    expect(afterAgent).toEqual({ state: 'verified' });
    expect([...rest.values()].map((v) => v.state)).toEqual(['verified', 'verified']);
    expect(await r.fingerprints()).toEqual(HOSTS.map(() => issued.fingerprint));
    const promoted = (await readCertificateState(r.state, CERT, r.clock.now))?.value;
    expect(promoted?.current?.fingerprintSha256).toBe(issued.fingerprint);
    expect(promoted?.pending).toBeUndefined();
    expect(r.events.map((e) => e.detailType)).toEqual(['Rotation Started', 'Rotation Succeeded']);
  });

  it('verifies the rotating certificate on a host that also holds another certificate with a newer desired record', async () => {
    // Prepare
    const r = await rig();
    await withCurrentVersion(r);
    const ref = await reference(r);
    await startStep(r.deps(), spec, ref);
    const [canary] = (await batches(r, ref)).canary;
    const issued = await issueStep(r.deps(), spec, ref);
    const deadline = deadlineOf(await deliverStep(r.deps(), spec, ref, issued.bundle, canary!));
    await r.poll();
    r.advance(1000);
    const other = { ...issued.bundle, name: 'other-cert' };
    await r.state.put(
      DESIRED_COLLECTION,
      hostRecordId('web-1', 'other-cert'),
      {
        host: 'web-1',
        certificate: 'other-cert',
        version: 'v9',
        fingerprintSha256: 'FP:other',
        bundle: other,
        requestedAt: r.clock.now.toISOString(),
      },
      r.clock.now,
    );

    // Act
    const verified = await verifyStep(r.deps(), spec, ref, canary!, issued.fingerprint, deadline);

    // Assess
    expect(verified).toEqual({ state: 'verified' });
  });

  it('fails verification of a host whose health check fails, rolls back every touched host and verifies the rollback', async () => {
    // Prepare
    const r = await rig();
    const initial = await withCurrentVersion(r);
    const old = initial.facts.fingerprintSha256;
    r.host('web-2').healthyOnlyWith = old;
    const ref = await reference(r);
    await startStep(r.deps(), spec, ref);
    const targets = await batches(r, ref);
    const issued = await issueStep(r.deps(), spec, ref);

    // Act
    const canary = await rollOut(r, ref, issued, targets.canary);
    const rest = await rollOut(r, ref, issued, targets.rest);
    const filesBeforeRollback = await r.fingerprints();
    const rollback = await rollbackStep(r.deps(), spec, ref);
    await finishStep(r.deps(), spec, ref, { outcome: 'rolled-back', reason: rest.get('web-2')?.error ?? '' });

    // Assess
    expect(canary.get('web-1')?.state).toBe('verified');
    expect(rest.get('web-3')?.state).toBe('verified');
    expect(rest.get('web-2')?.state).toBe('failed');
    expect(rest.get('web-2')?.error).toContain(`${DESTINATION}/web-2 not verified by`);
    expect(filesBeforeRollback).toEqual([issued.fingerprint, old, issued.fingerprint]);
    expect(rollback.verified).toBe(true);
    expect(rollback.failed).toBe(0);
    expect(restoredOf(rollback.targets).sort()).toEqual(HOSTS);
    expect(rollback.targets.filter((t) => t.verifiedNew)).toHaveLength(2);
    expect(await r.fingerprints()).toEqual([old, old, old]);
    const after = (await readCertificateState(r.state, CERT, r.clock.now))?.value;
    expect(after?.current?.fingerprintSha256).toBe(old);
    expect(after?.pending).toBeUndefined();
    expect(r.events.at(-1)?.detailType).toBe('Rotation Rolled Back');
    expect(await r.state.list(ROTATION_TARGETS_COLLECTION, r.clock.now)).toEqual([]);
  });

  it('reports a host whose agent never acts on the rollback as rollback-failed once the wait runs out', async () => {
    // Prepare
    const r = await rig();
    const initial = await withCurrentVersion(r);
    const ref = await reference(r);
    await startStep(r.deps(), spec, ref);
    const targets = await batches(r, ref);
    const issued = await issueStep(r.deps(), spec, ref);
    await rollOut(r, ref, issued, [...targets.canary, ...targets.rest]);
    r.host('web-3').down = true;

    // Act
    const rollback = await rollbackStep(r.deps({ timeoutMs: 20_000, intervalMs: 5_000 }), spec, ref);

    // Assess
    expect(rollback.verified).toBe(false);
    expect(restoredOf(rollback.targets).sort()).toEqual(['web-1', 'web-2']);
    expect(rollback.failed).toBe(1);
    const failed = rollback.targets.find((t) => t.state === 'rollback-failed');
    expect(failed).toMatchObject({ destination: DESTINATION, target: 'web-3' });
    expect(failed?.error).toContain('after rollback not confirmed within 20 s');
    expect(failed?.error).toContain(`expected ${shortFingerprint(initial.facts.fingerprintSha256)}`);
    expect(await r.fingerprints()).toEqual([
      initial.facts.fingerprintSha256,
      initial.facts.fingerprintSha256,
      issued.fingerprint,
    ]);
  });

  it('starts with the reason the planner gave in the lock it took for the execution, and says it', async () => {
    // Prepare: the planner takes the lock for the execution it starts, saying why.
    const r = await rig();
    await withCurrentVersion(r);
    const ref = await reference(r);
    const why = "inside the CA's suggested renewal window (ARI): the CA moved it earlier";
    await acquireRotationLock(r.state, CERT, { ...ref, reason: why }, r.clock.now);

    // Act: the workflow's Start step, whose input carries no reason.
    expect(await startStep(r.deps(), spec, ref)).toEqual({ started: true, resumed: false });

    // Assess
    const pending = (await readCertificateState(r.state, CERT, r.clock.now))?.value.pending;
    expect(pending?.reason).toBe(why);
    const started = r.events.find((e) => e.detailType === 'Rotation Started');
    expect(String(started?.detail.summary)).toContain(why);
  });
});

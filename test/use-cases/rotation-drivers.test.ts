/**
 * One engine, two drivers: the same random fault sets are rotated by the CLI's in-process driver and
 * by the state machine `cdk synth` produces, executed locally (aws-local-stepfunctions) with every task
 * bound to the rotation-step router the Lambda handler runs. Both must reach the same outcome, leave
 * every host on the same version, and publish the same events with the same dedupe keys.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import type { OutgoingEvent } from '../../lambda/domain/ports';
import type { RolloutPolicy } from '../../lambda/domain/rotation/rollout';
import { readCertificateState, updateCertificateState } from '../../lambda/use-cases/certificate-state';
import { DEFAULT_VERIFY } from '../../lambda/use-cases/managed-certificate';
import { rotateCertificate } from '../../lambda/use-cases/rotation/in-process-driver';
import type { RotationDeps, RotationSpec } from '../../lambda/use-cases/rotation/spec';
import { parseRotationStep, runRotationStep } from '../../lambda/use-cases/rotation/step-router';
import { nextVersionId } from '../../lambda/use-cases/certificate-state';
import { buildCa, buildCertificate } from '../builders/certificates';
import { FakeFleet, type HostFault, MemoryBundleStore } from '../fakes/fake-fleet';
import { CountingIssuer, minimalFacts } from '../fakes/fake-issuer';
import { MemoryStateStore } from '../fakes/memory-state-store';
import { rotationDefinitionFromTemplate, taskStatesOf } from '../support/rotation-definition';

const START = Date.parse('2026-06-01T00:00:00Z');
const HOSTS = Array.from({ length: 8 }, (_, i) => `host-${i + 1}`);
const STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:certrotor-rotation-step';

interface Scenario {
  readonly faults: Readonly<Record<string, HostFault>>;
  readonly rollout: RolloutPolicy;
}

function scenario(seed: number): Scenario {
  const random = mulberry32(seed + 7);
  const kinds: HostFault[] = ['down', 'reload-fails', 'keeps-old', 'rollback-fails'];
  const faults: Record<string, HostFault> = {};
  for (const h of HOSTS) if (random() < 0.18) faults[h] = kinds[Math.floor(random() * kinds.length)]!;
  return {
    faults,
    rollout: {
      canary: Math.floor(random() * 3),
      batchSize: [1, 2, 3, 5][Math.floor(random() * 4)]!,
      failureTolerance: Math.floor(random() * 3),
    },
  };
}

/** A fresh fleet, state and issuer on the old version; time advances with every read and every sleep. */
async function material() {
  const ca = await buildCa({ now: new Date(START) });
  const old = await buildCertificate({
    issuer: ca,
    now: new Date(START),
    daysLeft: 20,
    dnsNames: ['api.internal'],
  });
  return { ca, old };
}

type Material = Awaited<ReturnType<typeof material>>;

async function rig(s: Scenario, { ca, old }: Material) {
  let now = START;
  const clock = () => new Date((now += 100));
  const oldFacts = minimalFacts(old.certificatePem);
  const fleet = new FakeFleet(
    'fleet',
    HOSTS,
    { fingerprint: oldFacts.fingerprintSha256, notAfter: oldFacts.notAfter },
    () => new Date(now),
  );
  for (const [host, fault] of Object.entries(s.faults)) fleet.faults.set(host, fault);
  const state = new MemoryStateStore();
  await updateCertificateState(state, 'api', new Date(START), () => ({
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
  const events: OutgoingEvent[] = [];
  const issuer = new CountingIssuer(ca);
  const deps: RotationDeps = {
    issuers: new Map([['test-ca', issuer]]),
    destinations: new Map([['fleet', fleet]]),
    bundles: new MemoryBundleStore(),
    state,
    prober: fleet,
    clock,
    sleep: async (ms) => {
      now += ms;
    },
    events: {
      name: 'memory',
      publish: async (e) => (events.push(...e), { published: e.length, failed: [] }),
    },
  };
  const spec: RotationSpec = {
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
    rollout: s.rollout,
    verifyPolicy: { ...DEFAULT_VERIFY, timeoutMs: 1000 },
    verifyTimeoutMs: 3000,
    verifyIntervalMs: 1000,
  };
  const advance = (ms: number) => {
    now += ms;
  };
  return { deps, spec, fleet, state, events, issuer, advance, old: oldFacts.fingerprintSha256 };
}

type Rig = Awaited<ReturnType<typeof rig>>;

/** What a run leaves behind, in terms both drivers can be compared on. */
async function observe(r: Rig) {
  const state = (await readCertificateState(r.state, 'api', new Date(START + 86_400_000)))!.value;
  const current = state.current!.fingerprintSha256;
  const serving = Object.fromEntries(
    [...r.fleet.hosts].map(([name, host]) => [
      name,
      host.serving?.fingerprint === r.old ? 'old' : host.serving?.fingerprint === current ? 'new' : 'other',
    ]),
  );
  const details = r.events.map((e) => {
    const d = e.detail as {
      dedupeKey: string;
      failedHosts?: { target: string }[];
      restoredHosts?: { target: string }[];
      verifiedHosts?: { target: string }[];
      convergencePercent?: number;
      stage?: string;
      rolledBack?: boolean;
    };
    return {
      detailType: e.detailType,
      dedupeKey: d.dedupeKey,
      failedHosts: d.failedHosts?.map((h) => h.target).sort(),
      restoredHosts: d.restoredHosts?.map((h) => h.target).sort(),
      verifiedHosts: d.verifiedHosts?.map((h) => h.target).sort(),
      convergencePercent: d.convergencePercent,
      stage: d.stage,
      rolledBack: d.rolledBack,
    };
  });
  return {
    promoted: current !== r.old,
    pending: state.pending?.version,
    failedAttempts: state.failedAttempts,
    serving,
    events: details,
    violations: r.fleet.violations,
    lock: (await r.state.get('locks', 'api', new Date(START + 86_400_000)))?.value,
  };
}

async function inProcess(s: Scenario, m: Material) {
  const r = await rig(s, m);
  const result = await rotateCertificate(r.deps, r.spec, {
    reason: 'property',
    owner: 'cli-test',
    trigger: 'manual',
  });
  return { result, seen: await observe(r) };
}

async function stateMachine(s: Scenario, m: Material) {
  const r = await rig(s, m);
  const definition = rotationDefinitionFromTemplate(STEP_ARN);
  const tasks = taskStatesOf(definition.States as never);
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const version = nextVersionId('api', (await readCertificateState(r.state, 'api', new Date(START)))?.value);
  const step = (input: unknown) => runRotationStep(r.deps, r.spec, parseRotationStep(input));
  const run = machine.run({ name: 'api', version, trigger: 'manual' } as never, {
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(tasks.map((t) => [t, step])),
      waitTimeOverrides: { WaitBeforeReprobe: 0 },
    } as never,
    context: { Execution: { Name: `api-${version}` } } as never,
  });
  let status: string;
  try {
    await run.result;
    status = 'SUCCEEDED';
  } catch (error) {
    status = (error as Error).message;
  }
  return { status, seen: await observe(r) };
}

describe('the in-process driver and the synthesized state machine', () => {
  const outcomes = new Set<string>();
  afterAll(() => {
    // The random fault sets exercise every path: promoted, rolled back, and held within tolerance.
    expect([...outcomes].sort()).toEqual(['Rotation Failed', 'Rotation Rolled Back', 'Rotation Succeeded']);
  });

  it.each(Array.from({ length: 24 }, (_, seed) => [seed]))(
    'reach the same outcome, hosts and events for random fault set #%i',
    async (seed) => {
      // Prepare
      const s = scenario(seed);
      const m = await material();

      // Act
      const cli = await inProcess(s, m);
      const workflow = await stateMachine(s, m);

      // Assess: the same decisions, host by host, and the same messages.
      expect(workflow.seen).toEqual(cli.seen);
      outcomes.add(cli.seen.events.at(-1)!.detailType);
      expect(cli.seen.violations).toEqual([]);
      expect(cli.seen.lock).toBeUndefined();
      expect(cli.seen.events[0]?.detailType).toBe('Rotation Started');
      expect(cli.seen.events).toHaveLength(2);
      expect(new Set(cli.seen.events.map((e) => e.dedupeKey)).size).toBe(2);
      expect(workflow.status === 'SUCCEEDED').toBe(cli.result.status === 'succeeded');
      if (cli.result.status === 'succeeded') {
        expect(Object.values(cli.seen.serving).every((v) => v === 'new')).toBe(true);
      } else {
        // Nothing promoted; every host still serves a valid certificate (old, or new where verified
        // within the tolerance), and the failed hosts are named.
        expect(cli.seen.promoted).toBe(false);
        expect(cli.result.reason).toBeDefined();
      }
    },
  );
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

/** Runs the synthesized state machine; with `dieAfter`, the task after that many dies (never answers) and the execution is aborted. */
async function execute(r: Rig, version: string, name: string, dieAfter?: number): Promise<string> {
  const definition = rotationDefinitionFromTemplate(STEP_ARN);
  const tasks = taskStatesOf(definition.States as never);
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  let calls = 0;
  let die: () => void = () => undefined;
  const died = new Promise<void>((resolve) => (die = resolve));
  const step = (input: unknown) => {
    calls += 1;
    if (dieAfter !== undefined && calls > dieAfter) {
      die();
      return new Promise(() => undefined);
    }
    return runRotationStep(r.deps, r.spec, parseRotationStep(input));
  };
  const run = machine.run({ name: 'api', version, trigger: 'schedule' } as never, {
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(tasks.map((t) => [t, step])),
      waitTimeOverrides: { WaitBeforeReprobe: 0 },
    } as never,
    context: { Execution: { Name: name } } as never,
  });
  const outcome = run.result.then(
    () => 'SUCCEEDED',
    (error: Error) => error.message,
  );
  if (dieAfter === undefined) return outcome;
  await Promise.race([died, outcome]);
  run.abort();
  return outcome.catch(() => 'ABORTED');
}

describe('a workflow execution that dies anywhere', () => {
  it.each(Array.from({ length: 12 }, (_, seed) => [seed]))(
    'is finished or undone by the next execution, with no host ever invalid and nothing issued twice (kill #%i)',
    async (seed) => {
      // Prepare
      const random = mulberry32(seed + 101);
      const r = await rig(
        { faults: {}, rollout: { canary: 1, batchSize: 2, failureTolerance: 0 } },
        await material(),
      );
      const version = nextVersionId(
        'api',
        (await readCertificateState(r.state, 'api', new Date(START)))?.value,
      );

      // Act: the execution dies after a random number of steps; its lock's lease runs out; the
      // planner's next execution of the same version resumes it.
      await execute(r, version, `api-${version}`, Math.floor(random() * 14));
      r.advance(11 * 60_000);
      const resumed = await execute(r, version, `api-${version}-resume1`);

      // Assess
      const seen = await observe(r);
      expect(resumed).toBe('SUCCEEDED');
      expect(seen.pending).toBeUndefined();
      expect(seen.lock).toBeUndefined();
      expect(seen.violations).toEqual([]);
      expect(seen.promoted).toBe(true);
      expect(Object.values(seen.serving).every((v) => v === 'new')).toBe(true);
      expect(r.issuer.issued).toBe(1);
    },
  );
});

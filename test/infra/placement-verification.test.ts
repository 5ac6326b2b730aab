/**
 * Verification and heartbeats per network placement. Every placement the rotation steps do not run in
 * gets a rotation-step function of its own in its VPC; the workflow's Verify task routes each target,
 * by the environment the `next` step names, to the function placed where that target is reachable.
 * The synthesized workflow is executed locally (aws-local-stepfunctions) with every task bound, by the
 * function its definition invokes, to the real rotation-step router over a simulated fleet whose
 * hosts each function reaches only from its own placement: a target verified from the wrong placement
 * would fail and roll the rotation back. Each placement's probe has its own heartbeat and alarm.
 */
import { App, Stack, aws_ec2 as ec2 } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-local-stepfunctions';
import { CertRotor, type CertRotorProps } from '../../lib/certrotor';
import type { ProbeRequest, ProbeResult, TlsProber } from '../../lambda/domain/ports';
import {
  nextVersionId,
  readCertificateState,
  updateCertificateState,
} from '../../lambda/use-cases/certificate-state';
import { DEFAULT_VERIFY } from '../../lambda/use-cases/managed-certificate';
import type { RotationDeps, RotationSpec } from '../../lambda/use-cases/rotation/spec';
import {
  type RemotePlacement,
  placementProber,
  probeRequestOf,
} from '../../lambda/use-cases/rotation/placement-prober';
import {
  parseRotationStep,
  runRotationStep,
  targetEnvironment,
} from '../../lambda/use-cases/rotation/step-router';
import type { RawConfig } from '../builders/config';
import { buildCa, buildCertificate } from '../builders/certificates';
import { FakeFleet, type HostFault, MemoryBundleStore } from '../fakes/fake-fleet';
import { CountingIssuer, minimalFacts } from '../fakes/fake-issuer';
import { MemoryStateStore } from '../fakes/memory-state-store';
import { taskStatesOf } from '../support/rotation-definition';
import { exampleConfiguration, resourcesOf } from './support/stack';

function configurationWithPrivateEndpoints(): RawConfig {
  const configuration = exampleConfiguration() as RawConfig;
  (configuration.endpoints as unknown[]).push(
    {
      name: 'ingress-eu',
      environment: 'prod-eu',
      host: '10.0.1.11',
      port: 443,
      servername: 'api.example.com',
    },
    { name: 'grpc-us', environment: 'prod-us', host: 'grpc.internal', port: 443 },
  );
  return configuration;
}

function synthesize(props: (stack: Stack) => Omit<CertRotorProps, 'configuration'>) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Placed');
  const rotor = new CertRotor(stack, 'CertRotor', {
    configuration: configurationWithPrivateEndpoints(),
    ...props(stack),
  });
  return { stack, rotor, template: Template.fromStack(stack) };
}

function placements(stack: Stack) {
  const eu = new ec2.Vpc(stack, 'EuVpc', { maxAzs: 2, natGateways: 1 });
  const us = new ec2.Vpc(stack, 'UsVpc', { maxAzs: 2, natGateways: 1 });
  return [
    { name: 'Eu', environments: ['prod-eu'], vpc: eu },
    { name: 'Us', environments: ['prod-us'], vpc: us },
  ];
}

type Fn = { Properties: Record<string, unknown> };
const variables = (f: Fn) => (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
const functionsOf = (template: Template, handler: string) =>
  Object.entries(resourcesOf(template, 'AWS::Lambda::Function')).filter(
    ([, f]) => variables(f).CERTROTOR_HANDLER === handler,
  );
const vpcOf = (f: Fn) => {
  const text = JSON.stringify(f.Properties.VpcConfig ?? null);
  return text.includes('EuVpc') ? 'Eu' : text.includes('UsVpc') ? 'Us' : 'none';
};

/** The rotation state machine's definition, each function ARN named by its logical id. */
function rotationDefinition(template: Template): { States: Record<string, never> } {
  const machine = Object.values(resourcesOf(template, 'AWS::StepFunctions::StateMachine')).find((m) =>
    JSON.stringify(m.Properties.DefinitionString).includes('WhatNext?'),
  )!;
  const [, parts] = (machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = (part as { Ref?: string }).Ref;
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::Region') return 'us-east-1';
      if (ref === 'AWS::AccountId') return '123456789012';
      const [id] = (part as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
      return `arn:aws:lambda:us-east-1:123456789012:function:${id}`;
    })
    .join('');
  return JSON.parse(text) as { States: Record<string, never> };
}

/** Every state of the definition, Map item processors included, by name. */
function statesOf(states: Record<string, { ItemProcessor?: { States: Record<string, never> } }>) {
  const all: Record<string, { Type: string; Resource?: string; Choices?: unknown[] }> = {};
  for (const [name, s] of Object.entries(states)) {
    all[name] = s as never;
    if (s.ItemProcessor) Object.assign(all, statesOf(s.ItemProcessor.States));
  }
  return all;
}

describe('rotation verification per network placement', () => {
  const { template } = synthesize((s) => ({ networkPlacements: placements(s), rotationPlacement: 'Eu' }));

  it('gives every placement but the rotation placement a rotation-step function of its own in its VPC', () => {
    const steps = functionsOf(template, 'rotation-step').map(([id, f]) => [
      id.replace(/[0-9A-F]{8}$/, ''),
      vpcOf(f),
    ]);
    expect(steps.sort()).toEqual([
      ['CertRotorRotationStep', 'Eu'],
      ['CertRotorRotationStepUs', 'Us'],
    ]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['dynamodb:PutItem']) })]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^CertRotorRotationStepUsServiceRole') }],
    });
  });

  it("lets the rotation's function probe the Us placement's targets through the Us function (rollback checks)", () => {
    const [usId] = functionsOf(template, 'rotation-step').find(([id]) =>
      id.startsWith('CertRotorRotationStepUs'),
    )!;
    const [, main] = functionsOf(template, 'rotation-step').find(
      ([id]) => !id.startsWith('CertRotorRotationStepUs'),
    )!;
    expect(JSON.stringify(variables(main).CERTROTOR_VERIFIERS)).toContain(usId);
    expect(JSON.stringify(variables(main).CERTROTOR_VERIFIERS)).toMatch(/environments.*prod-us/);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'lambda:InvokeFunction',
            Resource: Match.arrayWith([{ 'Fn::GetAtt': [usId, 'Arn'] }]),
          }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^CertRotorRotationStepServiceRole') }],
    });
  });

  it("routes the Verify round of a prod-us target to the Us function and every other target's to the rotation's own", () => {
    const states = statesOf(rotationDefinition(template).States);
    const [[usId], [mainId]] = [
      functionsOf(template, 'rotation-step').find(([id]) => id.startsWith('CertRotorRotationStepUs'))!,
      functionsOf(template, 'rotation-step').find(([id]) => !id.startsWith('CertRotorRotationStepUs'))!,
    ];
    expect(states['VerifyUs']!.Resource).toMatch(new RegExp(`:function:${usId}$`));
    expect(states['Verify']!.Resource).toMatch(new RegExp(`:function:${mainId}$`));
    expect(states['VerifyWhere?']!.Choices).toEqual([
      { Variable: '$.target.environment', StringEquals: 'prod-us', Next: 'VerifyUs' },
    ]);
    expect(Object.keys(states).filter((s) => s.startsWith('Verify') && states[s]!.Type === 'Task')).toEqual(
      expect.arrayContaining(['Verify', 'VerifyUs']),
    );
  });

  it('gives each placement probe its own heartbeat and dead man’s switch, keeping the default probe’s', () => {
    const probes = Object.fromEntries(
      functionsOf(template, 'probe').map(([id, f]) => [
        id.replace(/[0-9A-F]{8}$/, ''),
        variables(f).CERTROTOR_PROBE_PLACEMENT,
      ]),
    );
    expect(probes).toEqual({ CertRotorProbe: undefined, CertRotorProbeEu: 'Eu', CertRotorProbeUs: 'Us' });
    const heartbeatAlarms = Object.entries(resourcesOf(template, 'AWS::CloudWatch::Alarm'))
      .filter(([, a]) => a.Properties.MetricName === 'ProbeHeartbeat')
      .map(([id, a]) => [id.replace(/[0-9A-F]{8}$/, ''), a.Properties.Dimensions]);
    expect(heartbeatAlarms.sort()).toEqual([
      ['CertRotorProbeHeartbeatAlarm', [{ Name: 'service', Value: 'certrotor' }]],
      [
        'CertRotorProbeHeartbeatEuAlarm',
        [
          { Name: 'placement', Value: 'Eu' },
          { Name: 'service', Value: 'certrotor' },
        ],
      ],
      [
        'CertRotorProbeHeartbeatUsAlarm',
        [
          { Name: 'placement', Value: 'Us' },
          { Name: 'service', Value: 'certrotor' },
        ],
      ],
    ]);
  });

  it('verifies each target from the placement that reaches it when the workflow runs', async () => {
    // Prepare
    const r = await rig(template);

    // Act
    const status = await r.execute();

    // Assess
    expect(status).toBe('SUCCEEDED');
    const current = (await readCertificateState(r.state, 'api', r.now()))!.value.current!;
    expect(current.version).toBe(r.version);
    expect(r.probedFrom()).toEqual({
      'eu-1': ['Eu'],
      'eu-2': ['Eu'],
      'st-1': ['Eu'],
      'us-1': ['Us'],
      'us-2': ['Us'],
    });
    for (const fleet of Object.values(r.fleets))
      for (const host of fleet.hosts.values())
        expect(host.serving?.fingerprint).toBe(current.fingerprintSha256);
  });

  it("rolls back and re-checks every touched target from the placement that reaches it (the rotation's function probes through the other's)", async () => {
    // Prepare: us-2 keeps serving the old version, so the rollout rolls back.
    const r = await rig(template, { 'us-2': 'keeps-old' });

    // Act
    const status = await r.execute();

    // Assess: rolled back (not failed): every restored target was checked, each from its placement.
    expect(status).toMatch(/RotationRolledBack|every touched target was rolled back/);
    expect(r.outputsOf('Rollback')).toEqual([
      expect.objectContaining({ restored: 5, failed: 0, verified: true }),
    ]);
    expect(r.probedFrom()).toEqual({
      'eu-1': ['Eu'],
      'eu-2': ['Eu'],
      'st-1': ['Eu'],
      'us-1': ['Us'],
      'us-2': ['Us'],
    });
    const remotelyProbed = r.remoteProbes().map((p) => (p as { request: { host: string } }).request.host);
    expect([...new Set(remotelyProbed)].sort()).toEqual(['us-1', 'us-2']);
    for (const fleet of Object.values(r.fleets))
      for (const host of fleet.hosts.values()) expect(host.serving?.fingerprint).toBe(r.old);
  });
});

/**
 * A fleet in three environments and the synthesized workflow bound to two rotation-step "functions":
 * the rotation's own (Eu: reaches prod-eu and the public staging) and the Us placement's (prod-us).
 * The Eu function probes prod-us targets through the Us function's `probe` step, as the deployed
 * rotation-step does (CERTROTOR_VERIFIERS), its payload through JSON as Lambda carries it.
 */
async function rig(template: Template, faults: Record<string, HostFault> = {}) {
  const definition = rotationDefinition(template);
  const states = statesOf(definition.States);
  const start = Date.parse('2026-06-01T00:00:00Z');
  let now = start;
  const clock = () => new Date((now += 100));
  const ca = await buildCa({ now: new Date(start) });
  const old = minimalFacts(
    (await buildCertificate({ issuer: ca, now: new Date(start), daysLeft: 20, dnsNames: ['api.internal'] }))
      .certificatePem,
  );
  const initial = { fingerprint: old.fingerprintSha256, notAfter: old.notAfter };
  const fleets = {
    'prod-eu': new FakeFleet('fleet-eu', ['eu-1', 'eu-2'], initial, () => new Date(now)),
    'prod-us': new FakeFleet('fleet-us', ['us-1', 'us-2'], initial, () => new Date(now)),
    staging: new FakeFleet('fleet-staging', ['st-1'], initial, () => new Date(now)),
  };
  for (const fleet of Object.values(fleets))
    for (const [host, fault] of Object.entries(faults))
      if (fleet.hosts.has(host)) fleet.faults.set(host, fault);
  const nowhere = new FakeFleet('unreachable', [], initial, () => new Date(now));
  const probed: Record<string, string[]> = {};
  const remote: unknown[] = [];
  const outputs: Record<string, unknown[]> = {};
  const reaching = (placement: string, environments: (keyof typeof fleets)[]): TlsProber => ({
    probe: async (request: ProbeRequest) => {
      const fleet = environments.map((e) => fleets[e]).find((f) => f.hosts.has(request.host));
      if (!fleet) return nowhere.probe(request);
      (probed[request.host] ??= []).push(placement);
      return fleet.probe(request);
    },
  });
  const state = new MemoryStateStore();
  await updateCertificateState(state, 'api', new Date(start), () => ({
    name: 'api',
    current: {
      version: 'v0',
      fingerprintSha256: old.fingerprintSha256,
      notAfter: old.notAfter,
      notBefore: old.notBefore,
      bundle: { name: 'api', version: 'v0', location: 'memory:api#v0' },
    },
    failedAttempts: 0,
  }));
  const spec: RotationSpec = {
    name: 'api',
    commonName: 'api.internal',
    dnsNames: ['api.internal'],
    keySpec: 'EC_P256',
    usage: 'server',
    validityDays: 90,
    issuer: 'test-ca',
    destinations: Object.values(fleets).map((f) => f.name),
    destinationEnvironments: new Map(Object.entries(fleets).map(([e, f]) => [f.name, e])),
    verify: Object.entries(fleets).flatMap(([environment, f]) =>
      [...f.hosts.keys()].map((host) => ({ environment, host, port: 443, target: host })),
    ),
    environments: Object.keys(fleets),
    rollout: { canary: 1, batchSize: 2, failureTolerance: 0 },
    verifyPolicy: { ...DEFAULT_VERIFY, timeoutMs: 1000 },
    verifyTimeoutMs: 3000,
    verifyIntervalMs: 1000,
  };
  const shared = {
    issuers: new Map([['test-ca', new CountingIssuer(ca)]]),
    destinations: new Map(Object.values(fleets).map((f) => [f.name, f])),
    bundles: new MemoryBundleStore(),
    state,
    clock,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
  const us: RotationDeps = { ...shared, prober: reaching('Us', ['prod-us']) };
  const version = nextVersionId('api', (await readCertificateState(state, 'api', new Date(start)))?.value);
  const ref = { name: 'api', version, execution: `api-${version}` };
  const throughUs: RemotePlacement = {
    name: 'Us',
    environments: ['prod-us'],
    probe: async (request) => {
      const payload = JSON.parse(
        JSON.stringify({ action: 'probe', ...ref, request: probeRequestOf(request) }),
      ) as unknown;
      remote.push(payload);
      return JSON.parse(
        JSON.stringify(await runRotationStep(us, spec, parseRotationStep(payload))),
      ) as ProbeResult[];
    },
  };
  const depsOf: Record<string, RotationDeps> = {
    Eu: {
      ...shared,
      prober: placementProber(reaching('Eu', ['prod-eu', 'staging']), spec, [throughUs], () => new Date()),
    },
    Us: us,
  };
  const placementOf = (state: string) => (/RotationStepUs/.test(states[state]!.Resource!) ? 'Us' : 'Eu');
  const tasks = taskStatesOf(definition.States);
  return {
    fleets,
    state,
    version,
    old: old.fingerprintSha256,
    now: () => new Date(now),
    probedFrom: () => Object.fromEntries(Object.entries(probed).map(([h, p]) => [h, [...new Set(p)]])),
    remoteProbes: () => remote,
    outputsOf: (state: string) => outputs[state] ?? [],
    async execute(): Promise<string> {
      const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
      const run = machine.run({ name: 'api', version, trigger: 'manual' } as never, {
        overrides: {
          taskResourceLocalHandlers: Object.fromEntries(
            tasks.map((t) => [
              t,
              async (input: unknown) => {
                const output = await runRotationStep(depsOf[placementOf(t)]!, spec, parseRotationStep(input));
                (outputs[t] ??= []).push(output);
                return output;
              },
            ]),
          ),
          waitTimeOverrides: { WaitBeforeReprobe: 0 },
        } as never,
        context: { Execution: { Name: ref.execution } } as never,
      });
      try {
        await run.result;
        return 'SUCCEEDED';
      } catch (error) {
        return (error as Error).message;
      }
    },
  };
}

describe('rotation verification with no rotation placement named', () => {
  it('verifies the targets of every placement from that placement, and the others from outside any VPC', () => {
    const { template } = synthesize((s) => ({ networkPlacements: placements(s) }));
    const steps = functionsOf(template, 'rotation-step').map(([id, f]) => [
      id.replace(/[0-9A-F]{8}$/, ''),
      vpcOf(f),
    ]);
    expect(steps.sort()).toEqual([
      ['CertRotorRotationStep', 'none'],
      ['CertRotorRotationStepEu', 'Eu'],
      ['CertRotorRotationStepUs', 'Us'],
    ]);
    const states = statesOf(rotationDefinition(template).States);
    expect(states['VerifyWhere?']!.Choices).toEqual([
      { Variable: '$.target.environment', StringEquals: 'prod-eu', Next: 'VerifyEu' },
      { Variable: '$.target.environment', StringEquals: 'prod-us', Next: 'VerifyUs' },
    ]);
  });
});

describe('sharded probe sweeps per network placement', () => {
  it("sweeps each placement's probe with more endpoints than a shard through its own workflow, scheduled instead of the function", () => {
    // prod-eu and prod-us have two endpoints each, staging (the default probe's) one.
    const { template } = synthesize((s) => ({
      networkPlacements: placements(s),
      rotationPlacement: 'Eu',
      probeShardSize: 1,
    }));
    const machines = resourcesOf(template, 'AWS::StepFunctions::StateMachine');
    const sweeps = Object.keys(machines)
      .filter((id) => id.includes('ProbeShards'))
      .map((id) => id.replace(/Workflow[0-9A-F]{8}$/, ''));
    expect(sweeps.sort()).toEqual(['CertRotorProbeShardsEu', 'CertRotorProbeShardsUs']);
    const targetOf = (prefix: string) =>
      JSON.stringify(
        Object.entries(resourcesOf(template, 'AWS::Scheduler::Schedule')).find(([id]) =>
          id.startsWith(prefix),
        )![1].Properties.Target,
      );
    expect(targetOf('CertRotorProbeEuSchedule')).toMatch(/"Arn":\{"Ref":"CertRotorProbeShardsEuWorkflow/);
    expect(targetOf('CertRotorProbeUsSchedule')).toMatch(/"Arn":\{"Ref":"CertRotorProbeShardsUsWorkflow/);
    expect(targetOf('CertRotorProbeSchedule')).toMatch(/"Arn":\{"Fn::GetAtt":\["CertRotorProbe[0-9A-F]{8}"/);
    const euSweep = Object.entries(machines).find(([id]) => id.startsWith('CertRotorProbeShardsEu'))![1];
    expect(JSON.stringify(euSweep.Properties.DefinitionString)).toMatch(/CertRotorProbeEu[0-9A-F]{8}/);
    expect(JSON.stringify(euSweep.Properties.DefinitionString)).not.toMatch(/CertRotorProbeUs[0-9A-F]{8}/);
  });
});

describe("a target's environment, as the next step names it for the Verify routing", () => {
  it("is its destination's, else that of the verify endpoints naming it, else empty (verified by the rotation's own function)", () => {
    const spec = {
      destinationEnvironments: new Map([['fleet-us', 'prod-us']]),
      verify: [{ environment: 'prod-eu', host: 'eu-9', port: 443, target: 'eu-9' }],
    } as unknown as RotationSpec;
    expect(targetEnvironment(spec, { destination: 'fleet-us', target: 'us-1' })).toBe('prod-us');
    expect(targetEnvironment(spec, { destination: 'agents', target: 'eu-9' })).toBe('prod-eu');
    expect(targetEnvironment(spec, { destination: 'agents', target: 'elsewhere' })).toBe('');
  });
});

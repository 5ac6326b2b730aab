/**
 * The sharded probe sweep as CertRotor deploys it for a fleet larger than one shard: the synthesized
 * ProbeShards workflow executed locally (aws-local-stepfunctions) with every task bound to the REAL
 * probe handler, probing real TLS servers on loopback and recording into the state table (moto).
 * Every endpoint is probed once per sweep, a shard leaves the places of other shards' endpoints as
 * they were (so it can never resolve their alerts), and the sweep emits one heartbeat, not one per
 * shard.
 */
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Server, createServer } from 'node:tls';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { StateMachine } from 'aws-local-stepfunctions';
import { CertRotor } from '../../lib/certrotor';
import { COLLECTIONS } from '../../lambda/use-cases/certificate-state';
import { HEARTBEATS_COLLECTION } from '../../lambda/use-cases/job-heartbeats';
import { RESOLUTION_WATCH_COLLECTION, watchCritical } from '../../lambda/use-cases/notify/resolution';
import { type BuiltCertificate, buildCa, buildCertificate } from '../builders/certificates';
import { useMoto } from '../support/moto';
import { useTempDirs } from '../support/temp-dir';
import {
  type CapturedOutput,
  busWithSink,
  captureOutput,
  createTable,
  loadHandler,
  stateStore,
  writeConfig,
} from '../handlers/support/handler-harness';
import { resourcesOf } from './support/stack';

type ProbeModule = typeof import('../../lambda/handlers/probe');

useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-probe-sweep-test';
const PROBE_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:certrotor-probe';
const SHARD_SIZE = 2;

interface Endpoint {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
  handshakes: number;
}

let output: CapturedOutput;
let probe: ProbeModule['handler'];
let endpoints: Endpoint[];
let stack: Stack;
let template: Template;
let definition: Record<string, unknown>;
let replaced: { old: BuiltCertificate; next: BuiltCertificate };

async function serve(name: string, certificate: BuiltCertificate): Promise<Endpoint> {
  const server = createServer({
    cert: certificate.certificatePem + certificate.chainPem,
    key: certificate.privateKey.reveal(),
  });
  const endpoint: Endpoint = { name, port: 0, server, handshakes: 0 };
  server.on('secureConnection', (socket) => {
    endpoint.handshakes++;
    socket.end();
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(endpoint, { port: (server.address() as { port: number }).port });
}

const fingerprint = (c: BuiltCertificate) => new X509Certificate(c.certificatePem).fingerprint256;
const heartbeats = () =>
  output.records().filter((r) => (r as { ProbeHeartbeat?: unknown }).ProbeHeartbeat !== undefined);

/** The sweep workflow's definition as synthesized, its function ARNs resolved to the probe's. */
function sweepDefinition(t: Template): Record<string, unknown> {
  const machine = Object.values(resourcesOf(t, 'AWS::StepFunctions::StateMachine')).find((m) =>
    JSON.stringify(m.Properties.DefinitionString).includes('ProbeEachShard'),
  )!;
  const [, parts] = (machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : PROBE_ARN)).join('')) as Record<
    string,
    unknown
  >;
}

async function sweep(): Promise<{ shards: { index: number; probed: number; failed: number }[] }> {
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const task = (input: unknown) => probe(input as never);
  const run = machine.run({ job: 'probe', scheduledAt: new Date().toISOString() } as never, {
    overrides: {
      taskResourceLocalHandlers: { PlanShards: task, ProbeShard: task, CompleteSweep: task },
    } as never,
  });
  return (await run.result) as never;
}

beforeAll(async () => {
  output = captureOutput();
  const ca = await buildCa();
  const healthy = await buildCertificate({ dnsNames: ['api.test'], daysLeft: 80, issuer: ca });
  replaced = {
    old: await buildCertificate({ dnsNames: ['old.test'], daysLeft: 80, issuer: ca }),
    next: await buildCertificate({ dnsNames: ['old.test'], daysLeft: 85, issuer: ca }),
  };
  endpoints = [
    ...(await Promise.all(['e0', 'e1', 'e2', 'e3'].map((n) => serve(n, healthy)))),
    await serve('e4', replaced.old),
  ];
  const directory = await temp.make('probe-sweep');
  const caFile = join(directory, 'ca.pem');
  await writeFile(caFile, ca.certificatePem);
  const configuration = {
    version: 1,
    environments: [{ name: 'lab' }],
    endpoints: endpoints.map((e) => ({
      name: e.name,
      environment: 'lab',
      host: '127.0.0.1',
      port: e.port,
      servername: e.name === 'e4' ? 'old.test' : 'api.test',
      caFile,
    })),
    probe: { timeout: '2s' },
  };
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new Stack(app, 'Swept');
  new CertRotor(stack, 'CertRotor', { configuration, probeShardSize: SHARD_SIZE });
  template = Template.fromStack(stack);
  definition = sweepDefinition(template);

  await createTable(TABLE);
  const sink = await busWithSink('certrotor-probe-sweep-bus');
  const configFile = await writeConfig(directory, configuration);
  ({ handler: probe } = await loadHandler<ProbeModule>('probe', { configFile, table: TABLE, bus: sink.bus }));
}, 120_000);

afterAll(async () => {
  output?.restore();
  delete process.env.CERTROTOR_PROBE_PLACEMENT;
  await Promise.all((endpoints ?? []).map((e) => new Promise((resolve) => e.server.close(resolve))));
});

describe('a fleet larger than one shard', () => {
  it('schedules the sharded sweep workflow instead of the probe function', () => {
    const machines = resourcesOf(template, 'AWS::StepFunctions::StateMachine');
    const sweepId = Object.keys(machines).find((id) => id.startsWith('CertRotorProbeShardsWorkflow'))!;
    const probeSchedules = Object.values(resourcesOf(template, 'AWS::Scheduler::Schedule')).filter(
      (s) => s.Properties.Description === 'certrotor probe',
    );
    expect(probeSchedules.map((s) => (s.Properties.Target as { Arn: unknown }).Arn)).toEqual([
      { Ref: sweepId },
    ]);
  });

  it('refuses a shard size that is not a whole number of at least 1, naming the prop', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const configuration = { version: 1, environments: [{ name: 'lab' }] };
    expect(
      () => new CertRotor(new Stack(app, 'Zero'), 'CertRotor', { configuration, probeShardSize: 0 }),
    ).toThrow('probeShardSize: 0 must be a whole number of at least 1');
  });

  it('has no unacknowledged AwsSolutions or ServerlessChecks findings on the sweep', () => {
    const unacknowledged = [new AwsSolutionsChecks(stack), new ServerlessChecks(stack)].flatMap((pack) =>
      pack
        .validateScope(stack)
        .violations.flatMap((v) =>
          v.violatingResources.map((r) => `${v.ruleName}: ${r.resourceLogicalId ?? r.constructPath ?? ''}`),
        ),
    );
    expect(unacknowledged).toEqual([]);
  });
});

describe('the sharded probe sweep with the real probe handler', () => {
  let first: Awaited<ReturnType<typeof sweep>>;
  let beatsOfFirst: number;

  beforeAll(async () => {
    first = await sweep();
    beatsOfFirst = heartbeats().length;
  }, 120_000);

  it('probes every endpoint exactly once, split across shards of at most the shard size', async () => {
    expect(first.shards.map((s) => s.index)).toEqual([0, 1, 2]);
    // Balanced contiguous ranges: e0 | e1 e2 | e3 e4.
    expect(first.shards.map((s) => s.probed)).toEqual([1, 2, 2]);
    expect(first.shards.every((s) => s.failed === 0)).toBe(true);
    expect(Object.fromEntries(endpoints.map((e) => [e.name, e.handshakes]))).toEqual({
      e0: 1,
      e1: 1,
      e2: 1,
      e3: 1,
      e4: 1,
    });
    const places = await stateStore(TABLE).list(COLLECTIONS.observations, new Date());
    expect(places.map((p) => p.id).sort()).toEqual(endpoints.map((e) => `lab|127.0.0.1:${e.port}`).sort());
  });

  it('emits one heartbeat and records one job run for the sweep, none per shard', async () => {
    expect(beatsOfFirst).toBe(1);
    const run = await stateStore(TABLE).get<{ lastRunAt?: string }>(
      HEARTBEATS_COLLECTION,
      'probe',
      new Date(),
    );
    expect(run?.value.lastRunAt).toEqual(expect.any(String));
  });

  it("leaves another shard's places as they were, so its alert stays open until that shard sees them again", async () => {
    // Prepare: an alert watched at e4's place (last shard); e4 then serves a replacement.
    const store = stateStore(TABLE);
    const watched = await watchCritical(
      store,
      [
        {
          channel: 'lab-alerts',
          key: 'expired:e4',
          detailType: 'Certificate Expired',
          detail: { certificate: { fingerprintSha256: fingerprint(replaced.old) } },
          headline: 'Certificate Expired: old.test',
        },
      ],
      new Date(),
    );
    expect(watched).toBe(1);
    const e4 = endpoints.find((e) => e.name === 'e4')!;
    e4.server.setSecureContext({
      cert: replaced.next.certificatePem + replaced.next.chainPem,
      key: replaced.next.privateKey.reveal(),
    });
    const place = `lab|127.0.0.1:${e4.port}`;
    const before = await store.get<{ observedAt: string; fingerprintSha256: string }>(
      COLLECTIONS.observations,
      place,
      new Date(),
    );
    const beats = heartbeats().length;

    // Act: shard 0 alone, as its Map iteration runs it.
    const result = await probe({ job: 'probe-shard', shard: { index: 0, of: 3, endpoints: 5 } });

    // Assess
    expect(result).toEqual({ index: 0, probed: 1, failed: 0 });
    expect(endpoints.map((e) => e.handshakes)).toEqual([2, 1, 1, 1, 1]);
    const after = await store.get<{ observedAt: string; fingerprintSha256: string }>(
      COLLECTIONS.observations,
      place,
      new Date(),
    );
    expect(after?.value).toEqual(before?.value);
    expect(await store.get(RESOLUTION_WATCH_COLLECTION, 'lab-alerts:expired:e4', new Date())).toBeDefined();
    expect(heartbeats().length).toBe(beats);
  });

  it("observes the replacement at e4's place on the next whole sweep of a placement's probe, whose heartbeat names its placement", async () => {
    // Prepare: the sweep of a placement's probe function.
    process.env.CERTROTOR_PROBE_PLACEMENT = 'Lab';
    const beats = heartbeats().length;
    const defaultRun = await stateStore(TABLE).get(HEARTBEATS_COLLECTION, 'probe', new Date());

    // Act
    const second = await sweep();

    // Assess
    expect(second.shards.reduce((sum, s) => sum + s.probed, 0)).toBe(5);
    const e4 = endpoints.find((e) => e.name === 'e4')!;
    const seen = await stateStore(TABLE).get<{ fingerprintSha256: string }>(
      COLLECTIONS.observations,
      `lab|127.0.0.1:${e4.port}`,
      new Date(),
    );
    expect(seen?.value.fingerprintSha256).toBe(fingerprint(replaced.next));
    const newBeats = heartbeats().slice(beats);
    expect(newBeats).toHaveLength(1);
    expect(newBeats[0]).toMatchObject({ placement: 'Lab', ProbeHeartbeat: 1 });
    // The recorded run is the default probe's: a placement's sweep does not hide it stopping.
    expect((await stateStore(TABLE).get(HEARTBEATS_COLLECTION, 'probe', new Date()))?.value).toEqual(
      defaultRun?.value,
    );
  });
});

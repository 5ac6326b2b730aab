/**
 * The planner Lambda against the emulator: certificate state and locks in DynamoDB (moto), executions
 * started on a Step Functions state machine (moto). moto cannot make StartExecution fail for one
 * certificate while it succeeds for the others, so that error path alone mocks the SFN client
 * (aws-sdk-client-mock); DynamoDB stays on the emulator there too.
 */
import {
  CreateStateMachineCommand,
  type ExecutionListItem,
  ListExecutionsCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import {
  COLLECTIONS,
  type CertificateState,
  type Lock,
  nextVersionId,
} from '../../lambda/use-cases/certificate-state';
import { DAY } from '../builders/certificates';
import { MOTO_ACCOUNT_ID, useMoto } from '../support/moto';
import { useTempDirs } from '../support/temp-dir';
import {
  type CapturedOutput,
  busWithSink,
  captureOutput,
  createTable,
  loadHandler,
  stateStore,
  writeConfig,
} from './support/handler-harness';

type PlannerModule = typeof import('../../lambda/handlers/planner');
type RotationStepModule = typeof import('../../lambda/handlers/rotation-step');

const moto = useMoto();
const temp = useTempDirs();
const BUS = 'certrotor-planner-test-bus';
let output: CapturedOutput;
beforeAll(() => {
  output = captureOutput();
});
afterAll(() => output.restore());

const CA_ARN = `arn:aws:acm-pca:us-east-1:${MOTO_ACCOUNT_ID}:certificate-authority/11111111-2222-3333-4444-555555555555`;

/** A managed certificate issued by the deployed service's private CA, with nowhere to deliver. */
function managed(name: string) {
  return { name, commonName: `${name}.example.com`, dnsNames: [`${name}.example.com`], issuer: 'private-ca' };
}

function configFor(names: readonly string[]) {
  return {
    version: 1,
    environments: [{ name: 'prod' }],
    issuers: [
      { name: 'private-ca', kind: 'acm-pca', certificateAuthorityArn: CA_ARN },
      { name: 'laptop-ca', kind: 'local-ca' },
    ],
    certificates: [
      ...names.map(managed),
      { name: 'local-only', commonName: 'local.example.com', issuer: 'laptop-ca' },
    ],
  };
}

/** Certificate state whose current version was issued `ageDays` ago and lives 90 days. */
function stateWithCurrent(name: string, ageDays: number): CertificateState {
  const notBefore = new Date(Date.now() - ageDays * DAY);
  const hex = Buffer.from(name.padEnd(32, '0')).toString('hex').slice(0, 64).toUpperCase();
  return {
    name,
    failedAttempts: 0,
    current: {
      version: 'v0',
      fingerprintSha256: hex.match(/../g)!.join(':'),
      notBefore: notBefore.toISOString(),
      notAfter: new Date(notBefore.getTime() + 90 * DAY).toISOString(),
      bundle: {
        name,
        version: 'v0',
        location: `arn:aws:secretsmanager:us-east-1:${MOTO_ACCOUNT_ID}:secret:${name}`,
      },
    },
  };
}

async function createStateMachine(name: string): Promise<string> {
  const sfn = createAwsClient(SFNClient, moto.clientConfig());
  const { stateMachineArn } = await sfn.send(
    new CreateStateMachineCommand({
      name,
      roleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/certrotor-rotation`,
      definition: JSON.stringify({ StartAt: 'Rotate', States: { Rotate: { Type: 'Pass', End: true } } }),
    }),
  );
  return stateMachineArn!;
}

async function executionsOf(stateMachineArn: string): Promise<ExecutionListItem[]> {
  const sfn = createAwsClient(SFNClient, moto.clientConfig());
  return (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? [];
}

describe('the planner handler', () => {
  const TABLE = 'certrotor-planner-test';
  const state = () => stateStore(TABLE);
  let stateMachineArn: string;
  let planner: PlannerModule;
  let rotationStep: RotationStepModule['handler'];
  let expected: { due: string; initial: string };

  beforeAll(async () => {
    await createTable(TABLE);
    await busWithSink(BUS);
    stateMachineArn = await createStateMachine('certrotor-rotation');
    const now = new Date();
    const due = stateWithCurrent('due', 75);
    await state().put(COLLECTIONS.certificates, 'due', due, now);
    await state().put(COLLECTIONS.certificates, 'fresh', stateWithCurrent('fresh', 1), now);
    await state().put(COLLECTIONS.certificates, 'busy', stateWithCurrent('busy', 80), now);
    await state().put<Lock>(
      COLLECTIONS.locks,
      'busy',
      { owner: 'cli-0f3c', acquiredAt: now.toISOString(), purpose: 'manual rotation' },
      now,
    );
    const configFile = await writeConfig(
      await temp.make('planner'),
      configFor(['due', 'fresh', 'initial', 'busy']),
    );
    const setup = { configFile, table: TABLE, bus: BUS, stateMachineArn };
    planner = await loadHandler<PlannerModule>('planner', setup);
    ({ handler: rotationStep } = await loadHandler<RotationStepModule>('rotation-step', setup));
    expected = {
      due: planner.executionNameFor('due', nextVersionId('due', due)),
      initial: planner.executionNameFor('initial', nextVersionId('initial', undefined)),
    };
  });

  it('starts one execution per certificate whose renewal is due, or that has no version yet', async () => {
    const result = await planner.handler();

    expect(result).toEqual({ started: 2, alreadyStarted: 0, locked: 1, failed: 0 });
    const executions = await executionsOf(stateMachineArn);
    expect(executions.map((e) => e.name).sort()).toEqual([expected.due, expected.initial].sort());
  });

  it('passes the certificate, its next version and the trigger as the execution input', async () => {
    const sfn = createAwsClient(SFNClient, moto.clientConfig());
    const arn = (await executionsOf(stateMachineArn)).find((e) => e.name === expected.due)!.executionArn!;
    const { DescribeExecutionCommand } = await import('@aws-sdk/client-sfn');

    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));

    expect(JSON.parse(described.input!)).toEqual({
      name: 'due',
      version: nextVersionId('due', stateWithCurrent('due', 75)),
      trigger: 'schedule',
    });
  });

  it('holds the per-certificate lock for each execution it started, owned by that execution', async () => {
    const now = new Date();

    const due = await state().get<Lock>(COLLECTIONS.locks, 'due', now);
    const initial = await state().get<Lock>(COLLECTIONS.locks, 'initial', now);
    const fresh = await state().get<Lock>(COLLECTIONS.locks, 'fresh', now);

    expect(due?.value.owner).toBe(expected.due);
    expect(initial?.value.owner).toBe(expected.initial);
    expect(fresh).toBeUndefined();
  });

  it('leaves a certificate alone while someone else holds its lock', async () => {
    const lock = await state().get<Lock>(COLLECTIONS.locks, 'busy', new Date());

    expect(lock?.value.owner).toBe('cli-0f3c');
    expect((await executionsOf(stateMachineArn)).map((e) => e.name)).not.toContain(
      planner.executionNameFor('busy', nextVersionId('busy', stateWithCurrent('busy', 80))),
    );
  });

  it('is a no-op when the schedule fires twice: nothing new is started', async () => {
    const result = await planner.handler();

    expect(result).toEqual({ started: 0, alreadyStarted: 2, locked: 1, failed: 0 });
    expect(await executionsOf(stateMachineArn)).toHaveLength(2);
  });

  it('treats ExecutionAlreadyExists (the execution already finished) as success', async () => {
    const sfn = createAwsClient(SFNClient, moto.clientConfig());
    for (const execution of await executionsOf(stateMachineArn))
      await sfn.send(new StopExecutionCommand({ executionArn: execution.executionArn! }));
    await expect(
      sfn.send(
        new StartExecutionCommand({
          stateMachineArn,
          name: expected.due,
          input: JSON.stringify({ name: 'due' }),
        }),
      ),
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });

    const result = await planner.handler();

    expect(result).toEqual({ started: 0, alreadyStarted: 2, locked: 1, failed: 0 });
    expect(await executionsOf(stateMachineArn)).toHaveLength(2);
  });

  it('hands its lock to the execution: the workflow start step of that execution proceeds, any other is refused', async () => {
    const version = nextVersionId('initial', undefined);

    const other = await rotationStep({
      action: 'start',
      name: 'initial',
      version,
      execution: 'initial-manual',
    });
    const own = await rotationStep({
      action: 'start',
      name: 'initial',
      version,
      execution: expected.initial,
    });

    expect(other).toEqual({
      started: false,
      kind: 'locked',
      reason: expect.stringContaining(`lock held by ${expected.initial}`),
    });
    expect(own).toEqual({ started: true, resumed: false });
  });

  it('resumes a rotation whose execution ended with its version still pending, in a new execution', async () => {
    // Prepare: the execution of `initial` (started above, its version now pending) dies; its lock lapses.
    const sfn = createAwsClient(SFNClient, moto.clientConfig());
    for (const execution of await executionsOf(stateMachineArn))
      if (execution.status === 'RUNNING')
        await sfn.send(new StopExecutionCommand({ executionArn: execution.executionArn! }));
    await state().delete(COLLECTIONS.locks, 'initial');

    // Act
    await planner.handler();

    // Assess
    const names = (await executionsOf(stateMachineArn)).map((e) => e.name);
    expect(names).toContain(`${expected.initial}-resume1`);
    const lock = await state().get<Lock>(COLLECTIONS.locks, 'initial', new Date());
    expect(lock?.value.owner).toBe(`${expected.initial}-resume1`);
  });
});

describe('the planner handler when Step Functions refuses one start', () => {
  const TABLE = 'certrotor-planner-failure-test';
  let planner: PlannerModule;
  let sfnMock: AwsClientStub<SFNClient>;
  let isolatedStart: typeof StartExecutionCommand;

  beforeAll(async () => {
    await createTable(TABLE);
    const configFile = await writeConfig(
      await temp.make('planner-failure'),
      configFor(['alpha', 'beta', 'gamma']),
    );
    planner = await loadHandler<PlannerModule>(
      'planner',
      { configFile, table: TABLE, bus: BUS, stateMachineArn: await createStateMachine('certrotor-refusing') },
      async () => {
        const isolated = await import('@aws-sdk/client-sfn');
        sfnMock = mockClient(isolated.SFNClient);
        isolatedStart = isolated.StartExecutionCommand;
        sfnMock.on(isolated.StartExecutionCommand).callsFake((input: { name: string }) => {
          if (input.name.startsWith('beta-'))
            throw new SFNServiceException({
              name: 'AccessDeniedException',
              $fault: 'client',
              $metadata: { httpStatusCode: 400 },
              message: 'not authorized to perform states:StartExecution',
            });
          return {
            executionArn: `arn:aws:states:us-east-1:${MOTO_ACCOUNT_ID}:execution:x:${input.name}`,
            startDate: new Date(),
          };
        });
      },
    );
  });

  afterAll(() => sfnMock?.restore());

  it('starts the others, fails the invocation naming the refused certificate, and frees its lock', async () => {
    const outcome = await planner.handler().then(
      () => undefined,
      (error: unknown) => error as Error,
    );

    expect(outcome?.message).toMatch(/1 rotation\(s\) could not be started: beta \(.*not authorized/);
    const started = sfnMock
      .commandCalls(isolatedStart)
      .map((c) => (c.args[0].input as { name: string }).name);
    expect(started.map((n) => n.split('-')[0]).sort()).toEqual(['alpha', 'beta', 'gamma']);
    const now = new Date();
    const locks = await stateStore(TABLE).list<Lock>(COLLECTIONS.locks, now);
    expect(locks.map((l) => l.id).sort()).toEqual(['alpha', 'gamma']);
  });
});

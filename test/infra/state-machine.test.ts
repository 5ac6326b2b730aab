/**
 * The rotation state machine as synthesized, executed locally (aws-local-stepfunctions) with every
 * Lambda task bound to the real rotation-step handler, whose AWS clients talk to the emulator.
 * Destinations are two Secrets Manager secrets (canary and prod environments); each environment has a
 * TLS endpoint on loopback that serves what its secret holds (AWSPENDING first, like a host that
 * reloads on delivery) or, when stuck, only AWSCURRENT (a process that never picks up the new version).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createSecureContext, createServer, type SecureContext, type Server } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ACMPCAClient,
  CreateCertificateAuthorityCommand,
  GetCertificateAuthorityCsrCommand,
  GetCertificateCommand,
  ImportCertificateAuthorityCertificateCommand,
  IssueCertificateCommand,
} from '@aws-sdk/client-acm-pca';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { StateMachine } from 'aws-local-stepfunctions';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { DynamoDbStateStore, createStateTable } from '../../lambda/adapters/aws/dynamodb-state-store';
import { parseSecretBundle, requestTokenFor } from '../../lambda/adapters/aws/secrets-manager';
import { looksLikeKeyMaterial } from '../../lambda/domain/events';
import { containsPrivateKey } from '../../lambda/domain/secret';
import { readCertificateState } from '../../lambda/use-cases/certificate-state';
import { buildCertificate } from '../builders/certificates';
import { type BusEnvelope, type BusSink, busSink } from '../support/bus-sink';
import { MOTO_ACCOUNT_ID, MOTO_REGION, useMoto } from '../support/moto';
import { rotationDefinitionFromTemplate, taskStatesOf } from '../support/rotation-definition';

const moto = useMoto();
const TABLE = 'certrotor-state-machine-test';
const BUS = 'certrotor-test-bus';
const SECRETS = { canary: 'certrotor/app-canary', prod: 'certrotor/app-prod' } as const;
const STEP_ARN = `arn:aws:lambda:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:function:certrotor-rotation-step`;

type Mode = 'follow' | 'stuck';
interface Endpoint {
  port: number;
  mode: Mode;
  server: Server;
}

let secrets: SecretsManagerClient;
let endpoints: Record<'canary' | 'prod', Endpoint>;
let definition: Record<string, unknown>;
let taskStates: string[];
let handler: (event: unknown) => Promise<unknown>;
let initialContext: SecureContext;
let bus: BusSink;

/** What one execution passed around: the engine's event history and every task's Lambda payloads. */
interface RecordedExecution {
  readonly version: string;
  readonly history: unknown[];
  readonly invocations: { state: string; input: unknown; output?: unknown; error?: string }[];
  status?: 'SUCCEEDED' | 'FAILED';
}
const executions: RecordedExecution[] = [];

function definitionFromTemplate(): Record<string, unknown> {
  return rotationDefinitionFromTemplate(STEP_ARN, MOTO_REGION, MOTO_ACCOUNT_ID);
}

const tasksOf = taskStatesOf;

async function createRootCa(pca: ACMPCAClient): Promise<string> {
  const created = await pca.send(
    new CreateCertificateAuthorityCommand({
      CertificateAuthorityType: 'ROOT',
      CertificateAuthorityConfiguration: {
        KeyAlgorithm: 'RSA_2048',
        SigningAlgorithm: 'SHA256WITHRSA',
        Subject: { CommonName: 'certrotor workflow test CA' },
      },
    }),
  );
  const arn = created.CertificateAuthorityArn!;
  const { Csr } = await pca.send(new GetCertificateAuthorityCsrCommand({ CertificateAuthorityArn: arn }));
  const { CertificateArn } = await pca.send(
    new IssueCertificateCommand({
      CertificateAuthorityArn: arn,
      Csr: Buffer.from(Csr!),
      SigningAlgorithm: 'SHA256WITHRSA',
      TemplateArn: 'arn:aws:acm-pca:::template/RootCACertificate/V1',
      Validity: { Type: 'YEARS', Value: 10 },
    }),
  );
  const { Certificate } = await pca.send(
    new GetCertificateCommand({ CertificateAuthorityArn: arn, CertificateArn: CertificateArn! }),
  );
  await pca.send(
    new ImportCertificateAuthorityCertificateCommand({
      CertificateAuthorityArn: arn,
      Certificate: Buffer.from(Certificate!),
    }),
  );
  return arn;
}

/** What the secret holds at `stage`, as a TLS context, or undefined. */
async function contextFor(
  secretId: string,
  stage: 'AWSPENDING' | 'AWSCURRENT',
): Promise<SecureContext | undefined> {
  try {
    const value = await secrets.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
    const bundle = parseSecretBundle(value.SecretString!, secretId);
    return createSecureContext({
      cert: bundle.certificatePem + bundle.chainPem,
      key: bundle.privateKey.reveal(),
    });
  } catch {
    return undefined;
  }
}

async function startEndpoint(secretId: string): Promise<Endpoint> {
  const endpoint = { port: 0, mode: 'follow' as Mode, server: undefined as unknown as Server };
  endpoint.server = createServer({
    SNICallback: (_servername: string, callback: (error: Error | null, context?: SecureContext) => void) => {
      void (async () => {
        const pending = endpoint.mode === 'follow' ? await contextFor(secretId, 'AWSPENDING') : undefined;
        callback(null, pending ?? (await contextFor(secretId, 'AWSCURRENT')) ?? initialContext);
      })();
    },
    secureContext: initialContext,
  } as never);
  endpoint.server.on('secureConnection', (socket) => socket.end());
  endpoint.server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => endpoint.server.listen(0, '127.0.0.1', resolve));
  endpoint.port = (endpoint.server.address() as { port: number }).port;
  return endpoint;
}

async function stages(secretId: string): Promise<Record<string, string[]>> {
  const described = await secrets.send(new DescribeSecretCommand({ SecretId: secretId }));
  return described.VersionIdsToStages ?? {};
}

async function fingerprintAt(secretId: string, stage: string): Promise<string | undefined> {
  try {
    const value = await secrets.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
    return parseSecretBundle(value.SecretString!, secretId).facts.fingerprintSha256;
  } catch {
    return undefined;
  }
}

function state() {
  return new DynamoDbStateStore({
    client: createAwsClient(DynamoDBClient, moto.clientConfig()),
    tableName: TABLE,
  });
}

async function nextVersion(): Promise<string> {
  const { nextVersionId } = await import('../../lambda/use-cases/certificate-state');
  return nextVersionId('app', (await readCertificateState(state(), 'app', new Date()))?.value);
}

async function execute(version: string, executionName = `app-${version}`) {
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const recorded: RecordedExecution = { version, history: [], invocations: [] };
  executions.push(recorded);
  const invoke = async (state: string, input: unknown) => {
    try {
      const output = await handler(input);
      recorded.invocations.push({ state, input, output });
      return output;
    } catch (error) {
      recorded.invocations.push({ state, input, error: (error as Error).message });
      throw error;
    }
  };
  const overrides = {
    taskResourceLocalHandlers: Object.fromEntries(
      taskStates.map((name) => [name, (input: unknown) => invoke(name, input)]),
    ),
    waitTimeOverrides: { WaitBeforeReprobe: 200 },
    retryIntervalOverrides: Object.fromEntries(taskStates.map((name) => [name, 10])),
  };
  const run = machine.run({ name: 'app', version, trigger: 'manual' } as never, {
    overrides: overrides as never,
    context: { Execution: { Name: executionName } } as never,
  });
  // The engine's history: every state entered and exited with its input and output, Map iterations included.
  const history = (async () => {
    for await (const event of run.eventLogs) recorded.history.push(event);
  })();
  try {
    const output = await run.result;
    recorded.status = 'SUCCEEDED';
    return { status: 'SUCCEEDED' as const, output };
  } catch (error) {
    recorded.status = 'FAILED';
    return { status: 'FAILED' as const, error: (error as Error).message };
  } finally {
    await history;
  }
}

/** Every private key PEM the emulator's Secrets Manager holds, at every version of every secret. */
async function privateKeysInSecretsManager(): Promise<string[]> {
  const keys: string[] = [];
  const { SecretList = [] } = await secrets.send(new ListSecretsCommand({ MaxResults: 100 }));
  for (const secret of SecretList) {
    for (const versionId of Object.keys(await stages(secret.ARN!))) {
      const value = await secrets.send(
        new GetSecretValueCommand({ SecretId: secret.ARN!, VersionId: versionId }),
      );
      try {
        keys.push(parseSecretBundle(value.SecretString!, secret.Name!).privateKey.reveal());
      } catch {
        // Not a certificate bundle.
      }
    }
  }
  return keys;
}

/** The private key of an issued bundle, from its reference `<secret ARN>#<version id>`. */
async function bundleKey(location: string): Promise<string> {
  const at = location.lastIndexOf('#');
  const value = await secrets.send(
    new GetSecretValueCommand({ SecretId: location.slice(0, at), VersionId: location.slice(at + 1) }),
  );
  return parseSecretBundle(value.SecretString!, location).privateKey.reveal();
}

/** 32-character pieces of a key's base64 body: any one of them in a text means the key leaked. */
function keyPieces(pem: string): string[] {
  const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const pieces: string[] = [];
  for (let i = 0; i + 32 <= body.length; i += 32) pieces.push(body.slice(i, i + 32));
  return pieces;
}

/** Every string in `value` (keys and values), with where it is. */
function stringsIn(value: unknown, path = '$'): [string, string][] {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringsIn(item, `${path}[${i}]`));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([key, item]) => [
      [path, key] as [string, string],
      ...stringsIn(item, `${path}.${key}`),
    ]);
  return [];
}

/** Where in `documents` key material shows: a PEM key, anything like key material, or a piece of a real key. */
function keyMaterialIn(documents: Record<string, unknown>, pieces: readonly string[]): string[] {
  const found: string[] = [];
  for (const [name, document] of Object.entries(documents)) {
    const text = JSON.stringify(document);
    if (containsPrivateKey(text)) found.push(`${name}: a PEM private key`);
    for (const [path, value] of stringsIn(document))
      if (looksLikeKeyMaterial(value)) found.push(`${name} ${path}: looks like key material`);
    for (const piece of pieces)
      if (text.includes(piece)) found.push(`${name}: carries a piece of a real key`);
  }
  return found;
}

beforeAll(async () => {
  const config = moto.clientConfig();
  secrets = createAwsClient(SecretsManagerClient, config);
  await createStateTable(createAwsClient(DynamoDBClient, config), TABLE);
  await createAwsClient(EventBridgeClient, config).send(new CreateEventBusCommand({ Name: BUS }));
  bus = await busSink(moto, BUS);
  const caArn = await createRootCa(createAwsClient(ACMPCAClient, config));

  const initial = await buildCertificate({ commonName: 'app.test' });
  initialContext = createSecureContext({ cert: initial.certificatePem, key: initial.privateKey.reveal() });
  endpoints = { canary: await startEndpoint(SECRETS.canary), prod: await startEndpoint(SECRETS.prod) };

  const directory = mkdtempSync(join(tmpdir(), 'certrotor-workflow-'));
  const configFile = join(directory, 'certrotor.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      version: 1,
      environments: [{ name: 'canary' }, { name: 'prod' }],
      issuers: [{ name: 'private-ca', kind: 'acm-pca', certificateAuthorityArn: caArn }],
      destinations: [
        { name: 'canary-secret', kind: 'secrets-manager', environment: 'canary', secretId: SECRETS.canary },
        { name: 'prod-secret', kind: 'secrets-manager', environment: 'prod', secretId: SECRETS.prod },
      ],
      endpoints: [
        {
          name: 'canary-app',
          environment: 'canary',
          host: '127.0.0.1',
          port: endpoints.canary.port,
          servername: 'app.test',
        },
        {
          name: 'prod-app',
          environment: 'prod',
          host: '127.0.0.1',
          port: endpoints.prod.port,
          servername: 'app.test',
        },
      ],
      certificates: [
        {
          name: 'app',
          commonName: 'app.test',
          dnsNames: ['app.test'],
          keySpec: 'EC_P256',
          issuer: 'private-ca',
          validity: '30d',
          destinations: ['canary-secret', 'prod-secret'],
          endpoints: ['canary-app', 'prod-app'],
          rollout: { canary: 1, batchSize: 5, verifyTimeout: '2s', verifyInterval: '1s' },
        },
      ],
      probe: { timeout: '2s' },
      aws: { eventBusName: BUS },
    }),
  );
  Object.assign(process.env, {
    CERTROTOR_CONFIG_FILE: configFile,
    CERTROTOR_TABLE_NAME: TABLE,
    CERTROTOR_EVENT_BUS_NAME: BUS,
    POWERTOOLS_DEV: 'false',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_TRACE_ENABLED: 'false',
  });
  ({ handler } = await import('../../lambda/handlers/rotation-step'));

  definition = definitionFromTemplate();
  taskStates = tasksOf(definition.States as never);
});

afterAll(async () => {
  await Promise.all(
    Object.values(endpoints ?? {}).map((e) => new Promise((resolve) => e.server.close(resolve))),
  );
});

describe('the rotation state machine from the synthesized template', () => {
  it('binds every task to the rotation-step function', () => {
    expect(taskStates).toEqual(
      expect.arrayContaining([
        'Start',
        'Plan',
        'Issue',
        'NextBatch',
        'Deliver',
        'Verify',
        'Promote',
        'Rollback',
        'FinishSucceeded',
        'FinishRolledBack',
        'FinishHeld',
        'FinishFailed',
      ]),
    );
  });

  it('rotates: the canary then the rest are delivered and verified by handshake, then promoted', async () => {
    const version = await nextVersion();

    const outcome = await execute(version);

    expect(outcome).toEqual({ status: 'SUCCEEDED', output: expect.anything() });
    const current = (await readCertificateState(state(), 'app', new Date()))?.value;
    expect(current?.current?.version).toBe(version);
    expect(current?.pending).toBeUndefined();
    for (const secret of Object.values(SECRETS)) {
      expect(await fingerprintAt(secret, 'AWSCURRENT')).toBe(current?.current?.fingerprintSha256);
      expect(Object.values(await stages(secret)).flat()).not.toContain('AWSPENDING');
    }
    expect(await state().get('locks', 'app', new Date())).toBeUndefined();
  });

  it('treats a duplicate start of the same execution as a no-op: nothing is issued or delivered again', async () => {
    const current = (await readCertificateState(state(), 'app', new Date()))!.value.current!;
    const before = await Promise.all(Object.values(SECRETS).map(stages));

    const outcome = await execute(current.version);

    expect(outcome.status).toBe('SUCCEEDED');
    expect(await Promise.all(Object.values(SECRETS).map(stages))).toEqual(before);
    expect((await readCertificateState(state(), 'app', new Date()))!.value.current).toEqual(current);
  });

  it('rolls every target back when one host keeps serving the old certificate past its deadline', async () => {
    const previous = (await readCertificateState(state(), 'app', new Date()))!.value.current!;
    // The emulated CA stamps validity to the second; a new version issued in the same second as the
    // current one would (rightly) be refused for not expiring later. Step past that second.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, Date.parse(previous.notBefore) + 2_000 - Date.now()) + 1_100),
    );
    endpoints.prod.mode = 'stuck';
    const version = await nextVersion();

    const outcome = await execute(version);

    endpoints.prod.mode = 'follow';
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toMatch(/every touched target was rolled back/);
    const after = (await readCertificateState(state(), 'app', new Date()))!.value;
    expect(after.current?.fingerprintSha256).toBe(previous.fingerprintSha256);
    expect(after.pending).toBeUndefined();
    expect(after.lastFailure).toMatchObject({ version, reason: expect.stringContaining('prod') });
    // The canary had received the new version before the rollout failed: the rollback undid it.
    expect(Object.keys(await stages(SECRETS.canary))).toContain(requestTokenFor('app', version));
    for (const secret of Object.values(SECRETS)) {
      expect(await fingerprintAt(secret, 'AWSCURRENT')).toBe(previous.fingerprintSha256);
      expect(await fingerprintAt(secret, 'AWSPENDING')).toBeUndefined();
    }
    expect(await state().get('locks', 'app', new Date())).toBeUndefined();
  });
  it('keeps private keys out of every state input and output, the state table and the events on the bus', async () => {
    // Prepare: the real keys, fetched from Secrets Manager: each issued bundle's, and every version of
    // every secret (the destinations' current, previous and rolled-back versions).
    expect(executions.map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'FAILED']);
    const issued = executions
      .flatMap((e) => e.invocations)
      .filter((i) => i.state === 'Issue' && i.output !== undefined)
      .map((i) => (i.output as { bundle: { location: string } }).bundle.location);
    expect(issued).toHaveLength(2);
    const keys = [...(await Promise.all(issued.map(bundleKey))), ...(await privateKeysInSecretsManager())];
    expect(keys.every(containsPrivateKey)).toBe(true);
    const pieces = [...new Set(keys.flatMap(keyPieces))];

    // Act
    const { Items: items = [] } = await createAwsClient(DynamoDBClient, moto.clientConfig()).send(
      new ScanCommand({ TableName: TABLE }),
    );
    const events: BusEnvelope[] = await bus.received();

    // Assess: what is inspected is really there.
    const states = (e: RecordedExecution) =>
      new Set(e.history.map((h) => (h as { state?: { name: string } }).state?.name).filter(Boolean));
    for (const name of ['Issue', 'NextBatch', 'Deliver', 'Verify', 'Promote'])
      expect(states(executions[0]!)).toContain(name);
    expect(states(executions[2]!)).toContain('Rollback');
    expect(JSON.stringify(items)).toContain(executions[2]!.version);
    expect(events.map((e) => e['detail-type'])).toEqual(
      expect.arrayContaining(['Rotation Started', 'Rotation Succeeded', 'Rotation Rolled Back']),
    );
    // Convergence is measured: every target after success; the canary of two before the rollback.
    const convergence = (type: string) =>
      events
        .filter((e) => e['detail-type'] === type)
        .map((e) => (e.detail as { convergencePercent?: number }).convergencePercent);
    expect(convergence('Rotation Succeeded')).toEqual([100]);
    expect(convergence('Rotation Rolled Back')).toEqual([50]);
    // Assess: no key material anywhere.
    const documents: Record<string, unknown> = {};
    for (const [i, e] of executions.entries()) {
      for (const [j, h] of e.history.entries()) documents[`execution ${i} history ${j}`] = h;
      for (const [j, call] of e.invocations.entries())
        documents[`execution ${i} task ${call.state} call ${j}`] = call;
    }
    for (const [i, item] of items.entries()) documents[`state table item ${i}`] = item;
    for (const [i, event] of events.entries()) documents[`bus event ${i} (${event['detail-type']})`] = event;
    expect(keyMaterialIn(documents, pieces)).toEqual([]);
    // The detector itself finds one line of a real key, JSON-encoded, however it is labelled.
    const line = keys[0]!.split('\n')[2]!;
    expect(keyMaterialIn({ planted: { note: `copied ${line}` } }, pieces)).toContain(
      'planted: carries a piece of a real key',
    );
  });
});

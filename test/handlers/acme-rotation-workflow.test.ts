/**
 * The deployed rotation with an ACME issuer: the state machine exactly as `cdk synth` writes it,
 * executed locally (aws-local-stepfunctions) with every task bound to what the rotation-step Lambda
 * runs (its rotationDeps over the AWS clients, the step router), against a real ACME server (Pebble),
 * DNS-01 through moto's Route 53 (mirrored into challtestsrv, test/support/route53-mirror.ts), the
 * state and the order journal in moto's DynamoDB, order keys sealed with a moto KMS key.
 *
 * A Lambda that dies in the issue step after the authorization and before finalisation (its DNS-01
 * cleanup never answered; the task fails as a timed-out function does) fails that execution; the
 * next execution for the certificate resumes the same order: one certificate issued, not two.
 */
import { globalAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { StateMachine } from 'aws-local-stepfunctions';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { X509Certificate } from 'node:crypto';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { DynamoDbStateStore, createStateTable } from '../../lambda/adapters/aws/dynamodb-state-store';
import { parseSecretBundle } from '../../lambda/adapters/aws/secrets-manager';
import { validateConfig } from '../../lambda/config/configuration';
import { rotationDeps } from '../../lambda/handlers/support/rotation-deps';
import { AwsClients, workflowSpec } from '../../lambda/handlers/support/runtime';
import { nextVersionId, readCertificateState } from '../../lambda/use-cases/certificate-state';
import { parseRotationStep, runRotationStep } from '../../lambda/use-cases/rotation/step-router';
import { MOTO_REGION, useMoto } from '../support/moto';
import { type Pebble, startPebble } from '../support/pebble';
import { rotationDefinitionFromTemplate, taskStatesOf } from '../support/rotation-definition';
import { type Route53Mirror, startRoute53Mirror } from '../support/route53-mirror';
import { createTempDirs } from '../support/temp-dir';

jest.setTimeout(180_000);

const STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:certrotor-rotation-step';
const CERT = 'api';
const NAME = 'api.example.test';
const SECRET = 'app/acme-workflow-tls';
const TABLE = 'certrotor-acme-workflow';

const moto = useMoto();
const temp = createTempDirs();
let pebble: Pebble | undefined;
let mirror: Route53Mirror | undefined;
// The global agent's options override each request's (a test file later in this worker passes its
// own `ca`): restored exactly, the key removed when it was not there.
const hadCa = Object.hasOwn(globalAgent.options, 'ca');
const savedCa = globalAgent.options.ca;
const savedEndpoint = process.env.AWS_ENDPOINT_URL;
const zombies: Promise<unknown>[] = [];

afterAll(async () => {
  await pebble?.stop();
  await mirror?.close();
  await Promise.allSettled(zombies);
  if (hadCa) globalAgent.options.ca = savedCa;
  else delete globalAgent.options.ca;
  if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
  else process.env.AWS_ENDPOINT_URL = savedEndpoint;
  await temp.cleanup();
});

function configuration(directoryUrl: string, zoneId: string) {
  return validateConfig(
    {
      version: 1,
      environments: [{ name: 'prod' }],
      issuers: [
        {
          name: 'pebble',
          kind: 'acme',
          directoryUrl,
          email: 'ops@example.test',
          profile: 'default',
          challenge: { type: 'dns-01', route53: { hostedZoneId: zoneId } },
        },
      ],
      destinations: [{ name: 'app-secret', kind: 'secrets-manager', environment: 'prod', secretId: SECRET }],
      certificates: [
        {
          name: CERT,
          commonName: NAME,
          dnsNames: [NAME],
          keySpec: 'EC_P256',
          issuer: 'pebble',
          validity: '90d',
          destinations: ['app-secret'],
        },
      ],
      aws: { tableName: TABLE },
    },
    'acme-workflow.json',
    { backend: 'aws' },
  );
}

describe('the deployed rotation (synthesized state machine, rotation-step router) with an ACME issuer', () => {
  it('resumes the order of an execution whose Lambda died between authorization and finalisation, and issues once', async () => {
    const root = await temp.make('acme-workflow');
    pebble = await startPebble(root);
    // The Lambda trusts the CA's TLS through its trust store; here, the process's https agent.
    globalAgent.options.ca = [...rootCertificates, pebble.caPem];
    const aws = { ...moto.clientConfig(), maxAttempts: 1 };
    await createStateTable(createAwsClient(DynamoDBClient, aws), TABLE);
    await createAwsClient(EventBridgeClient, aws)
      .send(new CreateEventBusCommand({ Name: 'certrotor' }))
      .catch(() => undefined);
    const kmsKeyId = (await createAwsClient(KMSClient, aws).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const zone = await createAwsClient(Route53Client, aws).send(
      new CreateHostedZoneCommand({ Name: 'example.test', CallerReference: `workflow-${Date.now()}` }),
    );
    const zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');

    // The first issue step dies once its DNS-01 record is cleaned up: the cleanup is never answered.
    let die: ((error: Error) => void) | undefined;
    let hang = true;
    mirror = await startRoute53Mirror(moto.endpoint, zoneId, pebble, {
      afterChange: async (action) => {
        if (action !== 'DELETE' || !die) return;
        const kill = die;
        die = undefined;
        kill(Object.assign(new Error('Task timed out after 300.00 seconds'), { name: 'Sandbox.Timedout' }));
        while (hang) await new Promise((r) => setTimeout(r, 200));
      },
    });
    process.env.AWS_ENDPOINT_URL = mirror.url;

    const config = configuration(pebble.directoryUrl, zoneId);
    const env = {
      CERTROTOR_TABLE_NAME: TABLE,
      CERTROTOR_EVENT_BUS_NAME: 'certrotor',
      CERTROTOR_KMS_KEY_ID: kmsKeyId,
      AWS_REGION: MOTO_REGION,
    };
    const clients = new AwsClients(MOTO_REGION);
    const invocations: string[] = [];
    let firstIssue = true;
    // What the rotation-step handler does with each task's input.
    const step = (input: unknown) => {
      const parsed = parseRotationStep(input);
      invocations.push(parsed.action);
      const run = runRotationStep(
        rotationDeps(config, env, clients),
        workflowSpec(config, parsed.name),
        parsed,
      );
      if (parsed.action !== 'issue' || !firstIssue) return run;
      firstIssue = false;
      zombies.push(run.catch(() => undefined));
      return Promise.race([run, new Promise((_, reject) => (die = reject))]);
    };
    const definition = rotationDefinitionFromTemplate(STEP_ARN);
    const tasks = taskStatesOf(definition.States as never);
    const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
    const state = new DynamoDbStateStore({ client: createAwsClient(DynamoDBClient, aws), tableName: TABLE });
    const version = nextVersionId(CERT, (await readCertificateState(state, CERT, new Date()))?.value);
    const execute = async (attempt: number) => {
      const run = machine.run({ name: CERT, version, trigger: 'manual' } as never, {
        overrides: {
          taskResourceLocalHandlers: Object.fromEntries(tasks.map((t) => [t, step])),
          waitTimeOverrides: { WaitBeforeReprobe: 0 },
        } as never,
        context: { Execution: { Name: `${CERT}-${version}-${attempt}` } } as never,
      });
      try {
        return { status: 'SUCCEEDED', output: await run.result };
      } catch (error) {
        return { status: (error as Error).message };
      }
    };
    const orderUrl = async () =>
      (await state.get<{ orderUrl: string }>('acme-orders', `${CERT}-${version}`, new Date()))?.value
        .orderUrl;

    const first = await execute(1);

    expect(first.status).not.toBe('SUCCEEDED');
    const placed = await orderUrl();
    expect(placed).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/my-order\//);
    expect(mirror.actions).toEqual([`UPSERT _acme-challenge.${NAME}.`, `DELETE _acme-challenge.${NAME}.`]);
    const secrets = createAwsClient(SecretsManagerClient, aws);
    await expect(secrets.send(new GetSecretValueCommand({ SecretId: SECRET }))).rejects.toThrow();

    // The next execution (the planner's next run) for the same certificate version.
    const second = await execute(2);

    expect(second.status).toBe('SUCCEEDED');
    expect(await orderUrl()).toBe(placed);
    // Resumed: no second order, so no challenge answered again.
    expect(mirror.actions).toEqual([`UPSERT _acme-challenge.${NAME}.`, `DELETE _acme-challenge.${NAME}.`]);
    const value = await secrets.send(
      new GetSecretValueCommand({ SecretId: SECRET, VersionStage: 'AWSCURRENT' }),
    );
    const delivered = new X509Certificate(parseSecretBundle(value.SecretString!, SECRET).certificatePem);
    expect(delivered.issuer).toMatch(/Pebble Intermediate CA/);
    expect(delivered.subjectAltName).toContain(`DNS:${NAME}`);
    expect((await readCertificateState(state, CERT, new Date()))?.value.current?.fingerprintSha256).toBe(
      delivered.fingerprint256,
    );
    expect(invocations.filter((a) => a === 'issue').length).toBeGreaterThanOrEqual(2);
    hang = false;
  });
});

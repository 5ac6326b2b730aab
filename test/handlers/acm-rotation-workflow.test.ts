/**
 * The deployed rotation with an `acm` issuer (ACM exportable public certificates): the state machine
 * exactly as `cdk synth` writes it, executed locally (aws-local-stepfunctions) with every task bound
 * to what the rotation-step Lambda runs (its rotationDeps over the AWS clients, the step router),
 * against moto: RequestCertificate with export enabled, the validation CNAMEs in Route 53,
 * ExportCertificate with a passphrase, delivery to a Secrets Manager destination, the state in
 * DynamoDB and the key store sealed with a KMS key.
 *
 * The workflow's state (every state's input and output, in the execution's history) carries
 * references only: never the private key, never the export passphrase. The passphrase is observed
 * where it leaves the process (a middleware on the Lambda's own ACM client, reading the request).
 *
 * moto (5.2.5) issues an exportable certificate after MOTO_ACM_VALIDATION_WAIT seconds (2 in this
 * suite's own emulator) without resolving the CNAMEs; nothing here needs what moto lacks.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import { ACMClient, DescribeCertificateCommand, ListCertificatesCommand } from '@aws-sdk/client-acm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  ACM_ISSUANCE_COLLECTION,
  type AcmIssuanceRecord,
} from '../../lambda/adapters/aws/acm-exportable-issuer';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { DynamoDbStateStore, createStateTable } from '../../lambda/adapters/aws/dynamodb-state-store';
import { parseSecretBundle } from '../../lambda/adapters/aws/secrets-manager';
import { validateConfig } from '../../lambda/config/configuration';
import { rotationDeps } from '../../lambda/handlers/support/rotation-deps';
import { AwsClients, workflowSpec } from '../../lambda/handlers/support/runtime';
import { nextVersionId, readCertificateState } from '../../lambda/use-cases/certificate-state';
import { parseRotationStep, runRotationStep } from '../../lambda/use-cases/rotation/step-router';
import { MOTO_REGION, type RunningMoto, awsClientConfig, startMoto } from '../support/moto';
import { rotationDefinitionFromTemplate, taskStatesOf } from '../support/rotation-definition';

jest.setTimeout(120_000);

const STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:certrotor-rotation-step';
const CERT = 'api';
const NAME = 'api.example.test';
const SECRET = 'app/acm-workflow-tls';
const TABLE = 'certrotor-acm-workflow';

let moto: RunningMoto;
const savedEndpoint = process.env.AWS_ENDPOINT_URL;

beforeAll(async () => {
  const previous = process.env.MOTO_ACM_VALIDATION_WAIT;
  process.env.MOTO_ACM_VALIDATION_WAIT = '2';
  try {
    moto = await startMoto();
  } finally {
    if (previous === undefined) delete process.env.MOTO_ACM_VALIDATION_WAIT;
    else process.env.MOTO_ACM_VALIDATION_WAIT = previous;
  }
  // The Lambda's clients (AwsClients) find the emulator as the SDK finds any endpoint.
  process.env.AWS_ENDPOINT_URL = moto.endpoint;
});

afterAll(async () => {
  if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
  else process.env.AWS_ENDPOINT_URL = savedEndpoint;
  await moto?.stop();
});

function configuration(zoneId: string) {
  return validateConfig(
    {
      version: 1,
      environments: [{ name: 'prod' }],
      issuers: [{ name: 'public', kind: 'acm', validation: { route53: { hostedZoneId: zoneId } } }],
      destinations: [{ name: 'app-secret', kind: 'secrets-manager', environment: 'prod', secretId: SECRET }],
      certificates: [
        {
          name: CERT,
          commonName: NAME,
          dnsNames: [NAME],
          keySpec: 'RSA_2048',
          issuer: 'public',
          validity: '198d',
          destinations: ['app-secret'],
        },
      ],
      aws: { tableName: TABLE },
    },
    'acm-workflow.json',
    { backend: 'aws' },
  );
}

describe('the deployed rotation (synthesized state machine, rotation-step router) with an acm issuer', () => {
  it('requests an exportable certificate, exports it and delivers it to Secrets Manager, and no state of the execution holds the private key or the passphrase', async () => {
    const aws = { ...awsClientConfig(moto.endpoint), maxAttempts: 1 };
    await createStateTable(createAwsClient(DynamoDBClient, aws), TABLE);
    await createAwsClient(EventBridgeClient, aws).send(new CreateEventBusCommand({ Name: 'certrotor' }));
    const kmsKeyId = (await createAwsClient(KMSClient, aws).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const zone = await createAwsClient(Route53Client, aws).send(
      new CreateHostedZoneCommand({ Name: 'example.test', CallerReference: `acm-workflow-${Date.now()}` }),
    );
    const config = configuration(zone.HostedZone!.Id!.replace('/hostedzone/', ''));
    const env = {
      CERTROTOR_TABLE_NAME: TABLE,
      CERTROTOR_EVENT_BUS_NAME: 'certrotor',
      CERTROTOR_KMS_KEY_ID: kmsKeyId,
      AWS_REGION: MOTO_REGION,
    };
    const clients = new AwsClients(MOTO_REGION);
    // The export passphrases, copied as they leave the process (the issuer zeroes its buffer after).
    const passphrases: Buffer[] = [];
    clients.get(ACMClient).middlewareStack.add(
      (next) => async (args) => {
        const passphrase = (args.input as { Passphrase?: Uint8Array }).Passphrase;
        if (passphrase) passphrases.push(Buffer.from(passphrase));
        return next(args);
      },
      { step: 'initialize', name: 'observeExportPassphrase' },
    );
    const actions: string[] = [];
    const step = (input: unknown) => {
      const parsed = parseRotationStep(input);
      actions.push(parsed.action);
      return runRotationStep(rotationDeps(config, env, clients), workflowSpec(config, parsed.name), parsed);
    };
    const definition = rotationDefinitionFromTemplate(STEP_ARN);
    const tasks = taskStatesOf(definition.States as never);
    const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
    const state = new DynamoDbStateStore({ client: createAwsClient(DynamoDBClient, aws), tableName: TABLE });
    const version = nextVersionId(CERT, (await readCertificateState(state, CERT, new Date()))?.value);

    const execution = machine.run({ name: CERT, version, trigger: 'manual' } as never, {
      overrides: {
        taskResourceLocalHandlers: Object.fromEntries(tasks.map((t) => [t, step])),
        waitTimeOverrides: { WaitBeforeReprobe: 0 },
      } as never,
      context: { Execution: { Name: `${CERT}-${version}` } } as never,
    });
    const history: unknown[] = [];
    const logged = (async () => {
      for await (const event of execution.eventLogs) history.push(event);
    })();
    const status = await execution.result.then(
      () => 'SUCCEEDED',
      (error: Error) => error.message,
    );
    await logged;

    expect(status).toBe('SUCCEEDED');
    expect(actions).toContain('issue');
    // What ACM holds (exportable, the ARN recorded) is what the secret delivers and the state records.
    const record = (await state.get<AcmIssuanceRecord>(
      ACM_ISSUANCE_COLLECTION,
      `public/${CERT}`,
      new Date(),
    ))!.value;
    const acm = createAwsClient(ACMClient, aws);
    const detail = (await acm.send(new DescribeCertificateCommand({ CertificateArn: record.certificateArn })))
      .Certificate!;
    expect(detail.Options?.Export).toBe('ENABLED');
    expect((await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList).toHaveLength(1);
    const secret = await createAwsClient(SecretsManagerClient, aws).send(
      new GetSecretValueCommand({ SecretId: SECRET, VersionStage: 'AWSCURRENT' }),
    );
    const bundle = parseSecretBundle(secret.SecretString!, SECRET);
    const delivered = new X509Certificate(bundle.certificatePem);
    expect(delivered.serialNumber.replace(/^0+/, '')).toBe(BigInt(detail.Serial!).toString(16).toUpperCase());
    expect(delivered.checkPrivateKey(createPrivateKey(bundle.privateKey.reveal()))).toBe(true);
    const current = (await readCertificateState(state, CERT, new Date()))?.value.current;
    expect(current?.fingerprintSha256).toBe(delivered.fingerprint256);

    // The execution's history: every state's input and output, references only.
    expect(history.length).toBeGreaterThan(0);
    const text = JSON.stringify(history);
    expect(text).toContain(version);
    expect(text).not.toMatch(/PRIVATE KEY/);
    const keyBody = bundle.privateKey
      .reveal()
      .replace(/-----[^-]+-----/g, '')
      .replace(/\s+/g, '');
    for (const chunk of keyBody.match(/.{1,48}/g)!) expect(text).not.toContain(chunk);
    expect(passphrases).toHaveLength(1);
    const passphrase = passphrases[0]!;
    expect(passphrase.length).toBeGreaterThan(0);
    for (const form of [
      passphrase.toString('utf8'),
      passphrase.toString('base64'),
      passphrase.toString('hex'),
    ])
      expect(text).not.toContain(form);
  });
});

/**
 * The planner redistributes ACM's own renewals of exportable certificates (`acm` issuers), both on its
 * schedule (the reconciliation: events are best effort) and on ACM's "ACM Certificate Available" event
 * (the event's certificates only). State in DynamoDB, executions on Step Functions, certificates in
 * ACM: all moto.
 *
 * moto cannot renew an ACM certificate (no managed renewal: the serial and NotAfter of an ARN never
 * change) nor issue a requested one without waiting MOTO_ACM_VALIDATION_WAIT (60 s on the shared
 * emulator), so each ACM certificate here is imported, and "renewed" means ACM's NotAfter is later
 * than the version the state says the hosts have, which is all the reconciliation reads
 * (DescribeCertificate's Status and NotAfter, for real against moto).
 */
import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import {
  ACM_ISSUANCE_COLLECTION,
  type AcmIssuanceRecord,
  acmIssuanceId,
} from '../../lambda/domain/acm-issuance';
import { COLLECTIONS, type CertificateState, nextVersionId } from '../../lambda/use-cases/certificate-state';
import { DAY, buildCertificate } from '../builders/certificates';
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

const moto = useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-planner-acm-test';
const BUS = 'certrotor-planner-acm-bus';
let output: CapturedOutput;
beforeAll(() => {
  output = captureOutput();
});
afterAll(() => output.restore());

const NAMES = ['renewed', 'unchanged', 'other-renewed'] as const;

function configFor() {
  return {
    version: 1,
    environments: [{ name: 'prod' }],
    issuers: [{ name: 'public', kind: 'acm', validation: { route53: { hostedZoneId: 'Z0123456789ABC' } } }],
    certificates: NAMES.map((name) => ({
      name,
      commonName: `${name}.example.com`,
      dnsNames: [`${name}.example.com`],
      keySpec: 'RSA_2048',
      issuer: 'public',
    })),
  };
}

/** Imports a certificate for `name` ending `daysLeft` from now; returns its ARN and NotAfter. */
async function acmCertificate(name: string, daysLeft: number): Promise<{ arn: string; notAfter: string }> {
  const acm = createAwsClient(ACMClient, moto.clientConfig());
  const built = await buildCertificate({
    dnsNames: [`${name}.example.com`],
    daysLeft,
    lifetimeDays: 198,
    keySpec: 'RSA_2048',
  });
  const { CertificateArn } = await acm.send(
    new ImportCertificateCommand({
      Certificate: Buffer.from(built.certificatePem),
      PrivateKey: Buffer.from(built.privateKey.reveal()),
    }),
  );
  const notAfter = new Date(new (await import('node:crypto')).X509Certificate(built.certificatePem).validTo);
  return { arn: CertificateArn!, notAfter: notAfter.toISOString() };
}

/** The state of a certificate whose hosts have a version ending at `notAfter`. */
function distributed(name: string, notAfter: string): CertificateState {
  const hex = Buffer.from(name.padEnd(32, '0')).toString('hex').slice(0, 64).toUpperCase();
  return {
    name,
    failedAttempts: 0,
    current: {
      version: 'v0',
      fingerprintSha256: hex.match(/../g)!.join(':'),
      notBefore: new Date(Date.parse(notAfter) - 198 * DAY).toISOString(),
      notAfter,
      bundle: { name, version: 'v0', location: `certrotor:${name}` },
    },
  };
}

async function executionsOf(stateMachineArn: string): Promise<string[]> {
  const sfn = createAwsClient(SFNClient, moto.clientConfig());
  return ((await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? []).map(
    (e) => e.name!,
  );
}

describe('the planner and ACM renewals of exportable certificates', () => {
  const state = () => stateStore(TABLE);
  let planner: PlannerModule;
  let stateMachineArn: string;
  const arns: Record<string, string> = {};

  beforeAll(async () => {
    await createTable(TABLE);
    await busWithSink(BUS);
    const sfn = createAwsClient(SFNClient, moto.clientConfig());
    stateMachineArn = (
      await sfn.send(
        new CreateStateMachineCommand({
          name: 'certrotor-rotation-acm',
          roleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/certrotor-rotation`,
          definition: JSON.stringify({ StartAt: 'Rotate', States: { Rotate: { Type: 'Pass', End: true } } }),
        }),
      )
    ).stateMachineArn!;
    const now = new Date();
    for (const name of NAMES) {
      const acm = await acmCertificate(name, 190);
      arns[name] = acm.arn;
      const record: AcmIssuanceRecord = {
        issuer: 'public',
        certificate: name,
        certificateArn: acm.arn,
        names: [`${name}.example.com`],
        keyAlgorithm: 'RSA_2048',
        requestedAt: now.toISOString(),
      };
      await state().put(ACM_ISSUANCE_COLLECTION, acmIssuanceId('public', name), record, now);
      // `unchanged`: the hosts have ACM's latest version; the others: ACM renewed after distributing.
      const hostsHave =
        name === 'unchanged' ? acm.notAfter : new Date(now.getTime() + 20 * DAY).toISOString();
      await state().put(COLLECTIONS.certificates, name, distributed(name, hostsHave), now);
    }
    const configFile = await writeConfig(await temp.make('planner-acm'), configFor());
    planner = await loadHandler<PlannerModule>('planner', {
      configFile,
      table: TABLE,
      bus: BUS,
      stateMachineArn,
    });
  });

  it("starts a rotation for the certificate named by ACM's Certificate Available event only, when ACM renewed it", async () => {
    const result = await planner.handler({
      version: '0',
      source: 'aws.acm',
      'detail-type': 'ACM Certificate Available',
      region: 'us-east-1',
      resources: [arns.renewed, arns.unchanged],
      detail: { Action: 'RENEWAL', CertificateType: 'AMAZON_ISSUED', Exported: true },
    } as never);

    expect(result).toEqual({ started: 1, alreadyStarted: 0, locked: 0, failed: 0 });
    const name = planner.executionNameFor(
      'renewed',
      nextVersionId('renewed', distributed('renewed', new Date().toISOString())),
    );
    expect(await executionsOf(stateMachineArn)).toEqual([name]);
    const sfn = createAwsClient(SFNClient, moto.clientConfig());
    const execution = (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions![0]!;
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn! }));
    expect(JSON.parse(described.input!)).toMatchObject({ name: 'renewed', trigger: 'schedule' });
    expect(output.text()).toContain(`ACM renewed ${arns.renewed}`);
  });

  it('finds on its schedule the renewal whose event never arrived, and leaves the certificate ACM has not renewed alone', async () => {
    const result = await planner.handler();

    // `renewed` was started by the event (already started now); `other-renewed` only by the schedule.
    expect(result).toEqual({ started: 1, alreadyStarted: 1, locked: 0, failed: 0 });
    const executions = await executionsOf(stateMachineArn);
    expect(executions).toHaveLength(2);
    expect(executions).toContain(
      planner.executionNameFor(
        'other-renewed',
        nextVersionId('other-renewed', distributed('other-renewed', new Date().toISOString())),
      ),
    );
    expect(output.text()).toContain('its CA renews it: a rotation follows when the CA has renewed it');
  });
});

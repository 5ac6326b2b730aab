/**
 * The deployed planner asks the CA for its ACME Renewal Information (RFC 9773) of each acme-issued
 * certificate's current version, as the CLI's scan and run do: a CA-suggested early renewal starts a
 * rotation, and the plan says why. A real ACME server (Pebble, its ARI and its management API's
 * /set-renewal-info/ override), the planner handler itself, state, key store (Secrets Manager) and
 * Step Functions in moto.
 */
import { globalAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { CreateStateMachineCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import { Http01Responder } from '../../lambda/adapters/net/acme/challenges';
import { AcmeIssuer } from '../../lambda/adapters/net/acme/issuer';
import { LocalAcmeJournal } from '../../lambda/adapters/net/acme/journal';
import { validateConfig } from '../../lambda/config/configuration';
import type { CertificateBundle } from '../../lambda/domain/ports';
import { COLLECTIONS, type CertificateState, nextVersionId } from '../../lambda/use-cases/certificate-state';
import { buildRotationAdapters } from '../../lambda/wiring/aws';
import { AwsClients } from '../../lambda/handlers/support/runtime';
import { MOTO_ACCOUNT_ID, MOTO_REGION, useMoto } from '../support/moto';
import { type Pebble, startPebble } from '../support/pebble';
import { createTempDirs } from '../support/temp-dir';
import {
  type CapturedOutput,
  busWithSink,
  captureOutput,
  createTable,
  loadHandler,
  stateStore,
  writeConfig,
} from './support/handler-harness';

jest.setTimeout(120_000);

type PlannerModule = typeof import('../../lambda/handlers/planner');

const moto = useMoto();
const temp = createTempDirs();
const TABLE = 'certrotor-planner-ari-test';
const BUS = 'certrotor-planner-ari-bus';
const NAMES = ['early', 'steady'] as const;
let pebble: Pebble | undefined;
let output: CapturedOutput | undefined;
// The global agent's options override each request's: restored exactly afterwards.
const hadCa = Object.hasOwn(globalAgent.options, 'ca');
const savedCa = globalAgent.options.ca;

afterAll(async () => {
  output?.restore();
  await pebble?.stop();
  if (hadCa) globalAgent.options.ca = savedCa;
  else delete globalAgent.options.ca;
  await temp.cleanup();
});

function configFor(directoryUrl: string) {
  return {
    version: 1,
    environments: [{ name: 'prod' }],
    issuers: [
      {
        name: 'pebble',
        kind: 'acme',
        directoryUrl,
        email: 'ops@example.test',
        challenge: { type: 'dns-01', route53: { hostedZoneId: 'Z0123456789ABC' } },
      },
    ],
    certificates: NAMES.map((name) => ({
      name,
      commonName: `${name}.example.test`,
      dnsNames: [`${name}.example.test`],
      keySpec: 'EC_P256',
      issuer: 'pebble',
      validity: '90d',
    })),
    aws: { tableName: TABLE },
  };
}

/** A certificate from Pebble (HTTP-01 on loopback), as the rotation would have issued it. */
async function issue(server: Pebble, dir: string, name: string): Promise<CertificateBundle> {
  const journal = new LocalAcmeJournal(
    join(dir, 'acme'),
    new FileStateStore({ directory: join(dir, 'state') }),
    () => new Date(),
  );
  const issuer = new AcmeIssuer({
    name: 'pebble',
    directoryUrl: server.directoryUrl,
    caPem: server.caPem,
    solver: new Http01Responder({ host: '127.0.0.1', port: server.httpPort }),
    journal,
    keys: journal,
    pollIntervalMs: 50,
  });
  return issuer.issue(
    {
      name,
      version: 'v1',
      commonName: `${name}.example.test`,
      dnsNames: [`${name}.example.test`],
      keySpec: 'EC_P256',
      usage: 'server',
      validityDays: 90,
      idempotencyKey: `${name}-v1`,
    },
    new Date(),
  );
}

async function executions(stateMachineArn: string): Promise<string[]> {
  const sfn = createAwsClient(SFNClient, moto.clientConfig());
  return ((await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? []).map(
    (e) => e.name!,
  );
}

function planFor(name: string): Record<string, unknown> | undefined {
  return output
    ?.records()
    .filter((r) => r.message === 'rotation plan' && r.name === name)
    .at(-1);
}

describe('the planner and the CA’s renewal information (ARI)', () => {
  it('starts a rotation when the CA suggests renewing early, says why, and leaves the others to the policy', async () => {
    const root = await temp.make('planner-ari');
    pebble = await startPebble(root);
    // The Lambda trusts the CA's TLS through its trust store; here, the process's https agent.
    globalAgent.options.ca = [...rootCertificates, pebble.caPem];
    await createTable(TABLE);
    await busWithSink(BUS);
    const stateMachineArn = (
      await createAwsClient(SFNClient, moto.clientConfig()).send(
        new CreateStateMachineCommand({
          name: 'certrotor-rotation-ari',
          roleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/certrotor-rotation`,
          definition: JSON.stringify({ StartAt: 'Rotate', States: { Rotate: { Type: 'Pass', End: true } } }),
        }),
      )
    ).stateMachineArn!;
    const document = configFor(pebble.directoryUrl);
    const configFile = await writeConfig(root, document);
    const state = stateStore(TABLE);
    // The versions the hosts have: issued by Pebble, in the key store the rotation writes.
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    const { bundles } = buildRotationAdapters(
      validateConfig(document, 'planner-ari.json', { backend: 'aws' }),
      new AwsClients(MOTO_REGION),
      { clock: () => new Date(), state },
    );
    const issued: Record<string, CertificateBundle> = {};
    for (const name of NAMES) {
      const bundle = await issue(pebble, join(root, name), name);
      issued[name] = bundle;
      const ref = await bundles.put(bundle);
      const record: CertificateState = {
        name,
        failedAttempts: 0,
        current: {
          version: 'v1',
          fingerprintSha256: bundle.facts.fingerprintSha256,
          notBefore: bundle.facts.notBefore,
          notAfter: bundle.facts.notAfter,
          bundle: ref,
          facts: bundle.facts,
        },
      };
      await state.put(COLLECTIONS.certificates, name, record, new Date());
    }
    output = captureOutput();
    const planner = await loadHandler<PlannerModule>('planner', {
      configFile,
      table: TABLE,
      bus: BUS,
      stateMachineArn,
    });

    // Freshly issued, Pebble's own window far ahead: nothing is due.
    expect(await planner.handler()).toEqual({ started: 0, alreadyStarted: 0, locked: 0, failed: 0 });
    expect(planFor('early')).toMatchObject({ status: 'not-due' });

    // The CA asks for an early renewal of one certificate (an incident, a revocation).
    const window = {
      start: new Date(Date.now() - 3_600_000).toISOString(),
      end: new Date(Date.now() - 60_000).toISOString(),
    };
    await pebble.setRenewalInfo(issued.early!.certificatePem, window);

    const result = await planner.handler();

    expect(result).toEqual({ started: 1, alreadyStarted: 0, locked: 0, failed: 0 });
    const early = (await state.get<CertificateState>(COLLECTIONS.certificates, 'early', new Date()))!.value;
    expect(await executions(stateMachineArn)).toEqual([
      planner.executionNameFor('early', nextVersionId('early', early)),
    ]);
    expect(planFor('early')).toMatchObject({ status: 'started' });
    expect(String(planFor('early')?.reason)).toContain(
      `inside the CA's suggested renewal window ${window.start} – ${window.end} (ARI)`,
    );
    expect(planFor('steady')).toMatchObject({ status: 'not-due' });
    expect(output.text()).not.toContain('PRIVATE KEY');
  });
});

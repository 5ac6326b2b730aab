/**
 * Host agents' reports reach Slack through the outbox in the deployed service: agents report what
 * they installed into the state table (moto), the scheduled inventory Lambda judges the reports
 * against the current version in the same scan (one host serves an old version, another never
 * reported) and publishes Endpoint Drift Detected; the notifier Lambda, receiving it while Slack
 * answers 503, keeps the message in the outbox and fails (Lambda retries); once Slack recovers, the
 * outbox schedule's `{ job: "outbox" }` delivers it exactly once. A real HTTP server for Slack.
 */
import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { type HostReport, hostRecordId } from '../../lambda/domain/host-agent';
import { COLLECTIONS, updateCertificateState } from '../../lambda/use-cases/certificate-state';
import { buildBundleVersions } from '../builders/bundles';
import { buildCa } from '../builders/certificates';
import { type FakeSlackServer, startFakeSlackServer } from '../support/fake-slack-server';
import { MOTO_ACCOUNT_ID, MOTO_REGION, useMoto } from '../support/moto';
import { useTempDirs } from '../support/temp-dir';
import {
  type BusSink,
  type CapturedOutput,
  busWithSink,
  captureOutput,
  createTable,
  loadHandler,
  stateStore,
  writeConfig,
} from './support/handler-harness';

type InventoryModule = typeof import('../../lambda/handlers/inventory');
type NotifierModule = typeof import('../../lambda/handlers/notifier');

const moto = useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-agent-reports-test';
const SECRET = 'certrotor/slack/agent-alerts';

let output: CapturedOutput;
let sink: BusSink;
let slack: FakeSlackServer;
let inventory: () => Promise<unknown>;
let notifier: (event: unknown) => Promise<{ sent: number; duplicates: number; failed: number }>;

beforeAll(async () => {
  output = captureOutput();
  slack = await startFakeSlackServer({ path: '/services/T0AGT/B0AGT/agent-s3cr3t' });
  await createAwsClient(SecretsManagerClient, moto.clientConfig()).send(
    new CreateSecretCommand({ Name: SECRET, SecretString: slack.url }),
  );
  await createTable(TABLE);
  sink = await busWithSink('certrotor-agent-reports-test-bus');
  const configFile = await writeConfig(await temp.make('agent-reports'), {
    version: 1,
    environments: [{ name: 'prod' }],
    issuers: [{ name: 'vendor', kind: 'external' }],
    hosts: [
      { name: 'app-1', environment: 'prod', agent: {} },
      { name: 'app-2', environment: 'prod', agent: {} },
    ],
    destinations: [
      {
        name: 'app-agents',
        kind: 'agent',
        directory: '/etc/certrotor/tls',
        hosts: ['app-1', 'app-2'],
        healthCheck: { handshake: false },
      },
    ],
    certificates: [
      {
        name: 'api',
        commonName: 'api.example.com',
        dnsNames: ['api.example.com'],
        issuer: 'vendor',
        destinations: ['app-agents'],
      },
    ],
    notifications: {
      channels: [{ name: 'alerts', kind: 'slack', webhook: { secretId: SECRET } }],
      defaultChannel: 'alerts',
      delivery: { messagesPerSecond: 10, commandWait: '2s', retryDelay: '1s', maxRetryDelay: '1s' },
    },
  });
  const setup = { configFile, table: TABLE, bus: sink.bus };
  inventory = (await loadHandler<InventoryModule>('inventory', setup)).handler as () => Promise<unknown>;
  const loaded = await loadHandler<NotifierModule>('notifier', setup);
  notifier = (event) =>
    loaded.handler(event, {
      functionName: 'certrotor-notifier',
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:function:certrotor-notifier`,
      memoryLimitInMB: '256',
      awsRequestId: randomUUID(),
      logGroupName: '/aws/lambda/certrotor-notifier',
      logStreamName: 'test',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => 60_000,
    } as never);
});

afterAll(async () => {
  output?.restore();
  await slack?.close();
});

describe("host agents' reports in the deployed service", () => {
  it('reach Slack through the outbox: kept while Slack is down, delivered once by the outbox schedule after it recovers', async () => {
    // Prepare: api is at v2; app-1's agent reports it still has v1 installed; app-2 never reported.
    const [v1, v2] = await buildBundleVersions(2, { issuer: await buildCa(), name: 'api' });
    const state = stateStore(TABLE);
    const now = new Date();
    await updateCertificateState(state, 'api', now, () => ({
      name: 'api',
      current: {
        version: v2!.version,
        fingerprintSha256: v2!.facts.fingerprintSha256,
        notAfter: v2!.facts.notAfter,
        notBefore: v2!.facts.notBefore,
        bundle: { name: 'api', version: v2!.version, location: 'table' },
        facts: v2!.facts,
      },
      failedAttempts: 0,
    }));
    const report: HostReport = {
      host: 'app-1',
      certificate: 'api',
      environment: 'prod',
      installedFingerprint: v1!.facts.fingerprintSha256,
      installedVersion: v1!.version,
      reloadOk: true,
      healthy: true,
      at: now.toISOString(),
    };
    await state.put(COLLECTIONS.hosts, hostRecordId('app-1', 'api'), report, now);
    slack.script(Array.from({ length: 20 }, () => ({ status: 503, body: 'service_unavailable' })));

    // Act: the inventory judges the reports; the notifier gets its event while Slack is down.
    await inventory();
    const events = await sink.drain();
    const outcomes: string[] = [];
    for (const event of events)
      await notifier({ ...event, id: randomUUID() }).then(
        () => outcomes.push('sent'),
        (error: Error) => outcomes.push(error.message),
      );
    const whileDown = slack.delivered().length;
    slack.script([]);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the item's backoff
    const sweeps: number[] = [];
    for (let i = 0; i < 3 && (sweeps.length === 0 || sweeps.at(-1)! > 0); i++)
      sweeps.push((await notifier({ job: 'outbox', scheduledAt: `${new Date().toISOString()}#${i}` })).sent);
    await inventory();
    const again = await sink.drain();

    // Assess
    expect(events.map((e) => e['detail-type'])).toEqual(['Endpoint Drift Detected']);
    expect(outcomes).toEqual([expect.stringMatching(/not delivered yet \(Endpoint Drift Detected\)/)]);
    expect(whileDown).toBe(0);
    expect(sweeps.reduce((a, b) => a + b, 0)).toBe(1);
    const delivered = slack.delivered().map((m) => JSON.stringify(m));
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toContain('app-1');
    expect(delivered[0]).toContain('app-2');
    expect(again).toEqual([]);
  });
});

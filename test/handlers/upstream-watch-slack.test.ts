/**
 * The upstream watcher's warnings reach Slack through the outbox in the deployed service: a vendor
 * rotation announced (`certrotor upstream announce --backend aws` records it in the state table,
 * moto), the scheduled upstream-watch Lambda publishes its warning to the bus (moto, read back from
 * a queue), the notifier Lambda keeps the message in the outbox while Slack answers 503 and fails
 * (Lambda retries); once Slack recovers the outbox schedule delivers it exactly once, and the next
 * watch publishes nothing again. A real HTTP server for Slack.
 */
import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { recordAnnouncement } from '../../lambda/use-cases/upstream/announcements';
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

type UpstreamWatchModule = typeof import('../../lambda/handlers/upstream-watch');
type NotifierModule = typeof import('../../lambda/handlers/notifier');

const moto = useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-upstream-slack-test';
const SECRET = 'certrotor/slack/upstream-alerts';
const DAY = 86_400_000;

let output: CapturedOutput;
let sink: BusSink;
let slack: FakeSlackServer;
let watch: (event: unknown) => Promise<{ events: number }>;
let notifier: (event: unknown) => Promise<{ sent: number; duplicates: number; failed: number }>;

beforeAll(async () => {
  output = captureOutput();
  slack = await startFakeSlackServer({ path: '/services/T0UPS/B0UPS/upstream-s3cr3t' });
  await createAwsClient(SecretsManagerClient, moto.clientConfig()).send(
    new CreateSecretCommand({ Name: SECRET, SecretString: slack.url }),
  );
  await createTable(TABLE);
  sink = await busWithSink('certrotor-upstream-slack-test-bus');
  const configFile = await writeConfig(await temp.make('upstream-slack'), {
    version: 1,
    environments: [{ name: 'prod' }],
    // Nothing listens on port 1: the watch reports the endpoint and goes on.
    upstreams: [{ name: 'payments', endpoints: [{ host: '127.0.0.1', port: 1, environment: 'prod' }] }],
    notifications: {
      channels: [{ name: 'alerts', kind: 'slack', webhook: { secretId: SECRET } }],
      defaultChannel: 'alerts',
      delivery: { messagesPerSecond: 10, commandWait: '2s', retryDelay: '1s', maxRetryDelay: '1s' },
    },
  });
  const setup = { configFile, table: TABLE, bus: sink.bus };
  watch = (await loadHandler<UpstreamWatchModule>('upstream-watch', setup)).handler as never;
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

describe('upstream warnings in the deployed service', () => {
  it('reach Slack through the outbox: kept while Slack is down, delivered once by the outbox schedule after it recovers', async () => {
    // Prepare: the vendor announced a rotation whose overlap is open, cutover in 20 days.
    const now = new Date();
    await recordAnnouncement(
      stateStore(TABLE),
      {
        source: 'manual',
        sourceId: `vend-7-${randomUUID().slice(0, 6)}`,
        upstream: 'payments',
        title: 'VEND-7 server certificate rotation',
        rawText: 'VEND-7 server certificate rotation',
        publishedAt: now.toISOString(),
        windowStart: new Date(now.getTime() - DAY).toISOString(),
        cutover: new Date(now.getTime() + 20 * DAY).toISOString(),
        needsReview: false,
      } as never,
      now,
    );
    slack.script(Array.from({ length: 20 }, () => ({ status: 503, body: 'service_unavailable' })));

    // Act: the scheduled watch; each event to the notifier while Slack is down; then the sweeps.
    await watch({ job: 'upstream', scheduledAt: now.toISOString() });
    const events = await sink.drain();
    const outcomes: string[] = [];
    for (const event of events)
      await notifier({ ...event, id: randomUUID() }).then(
        () => outcomes.push('sent'),
        (error: Error) => outcomes.push(error.message),
      );
    const whileDown = slack.delivered().length;
    slack.script([]);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the items' backoff
    const sweeps: number[] = [];
    for (let i = 0; i < 4 && (sweeps.length === 0 || sweeps.at(-1)! > 0); i++)
      sweeps.push((await notifier({ job: 'outbox', scheduledAt: `${new Date().toISOString()}#${i}` })).sent);
    await watch({ job: 'upstream', scheduledAt: new Date().toISOString() });
    const again = await sink.drain();

    // Assess
    expect(events.length).toBeGreaterThan(0);
    expect(events.map((e) => e['detail-type'])).toContain('Upstream Rotation Announced');
    for (const outcome of outcomes) expect(outcome).toMatch(/not delivered yet/);
    expect(whileDown).toBe(0);
    const delivered = slack.delivered().map((m) => JSON.stringify(m));
    expect(sweeps.reduce((a, b) => a + b, 0)).toBe(events.length);
    expect(delivered).toHaveLength(events.length);
    expect(delivered.filter((m) => m.includes('VEND-7'))).toHaveLength(1);
    expect(again).toEqual([]);
  });
});

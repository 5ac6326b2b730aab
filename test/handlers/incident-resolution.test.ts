/**
 * Inhibition and resolution in the deployed service, through the real handlers: the scheduled probe
 * Lambda (fresh handshakes to TLS servers on loopback) records its batch's messages in the outbox
 * (the state table, moto) and publishes its events to the bus (moto, read back from a queue); each
 * event is handed to the notifier Lambda as EventBridge would, which posts to Slack (a real HTTP
 * server on loopback, its URL in Secrets Manager, moto); the outbox schedule's `{ job: "outbox" }`
 * sends what is left, such as a "resolved" message.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Server, createServer } from 'node:tls';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { type BuiltCertificate, DAY, buildCa, buildCertificate } from '../builders/certificates';
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
  writeConfig,
} from './support/handler-harness';

type ProbeModule = typeof import('../../lambda/handlers/probe');
type NotifierModule = typeof import('../../lambda/handlers/notifier');

const moto = useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-incident-test';
const SECRET = 'certrotor/slack/incident-alerts';

let output: CapturedOutput;
let sink: BusSink;
let slack: FakeSlackServer;
let probe: () => Promise<unknown>;
let notifier: (event: unknown) => Promise<{ sent: number; duplicates: number; failed: number }>;
const servers = new Map<string, Server>();
let ca: BuiltCertificate;

function lambdaContext() {
  return {
    functionName: 'certrotor-notifier',
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:function:certrotor-notifier`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/certrotor-notifier',
    logStreamName: 'test',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
  };
}

const certificate = (name: string, daysLeft: number) =>
  buildCertificate({
    issuer: ca,
    dnsNames: [`${name}.example.test`],
    notAfter: new Date(Date.now() + daysLeft * DAY),
    lifetimeDays: 365,
  });

async function serve(name: string, daysLeft: number): Promise<number> {
  const built = await certificate(name, daysLeft);
  const server = createServer({ cert: built.certificatePem, key: built.privateKey.reveal() });
  server.on('secureConnection', (socket) => socket.end());
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.set(name, server);
  return (server.address() as { port: number }).port;
}

/** Runs the probe, then hands every event it published to the notifier, as the NotifyRule does. */
async function probeAndNotify(): Promise<string[]> {
  await probe();
  const events = await sink.drain();
  for (const event of events) await notifier({ ...event, id: randomUUID() });
  return events.map((e) => e['detail-type']);
}

/** The outbox schedule's invocation. */
const sweep = () => notifier({ job: 'outbox', scheduledAt: new Date().toISOString() });

const texts = (since: number) =>
  slack
    .delivered()
    .slice(since)
    .map((m) => m.text ?? '');
const subject = (text: string) =>
  /Incident in \w+|Resolved:.*?(prod-\w+)|(prod-\w+)\.example\.test/.exec(text)?.[0] ?? text;

beforeAll(async () => {
  output = captureOutput();
  ca = await buildCa({ commonName: 'Incident test CA', now: new Date(Date.now() - 400 * DAY) });
  const directory = await temp.make('incident');
  const caFile = join(directory, 'ca.pem');
  await writeFile(caFile, ca.certificatePem);
  // prod: three expired (critical, most of prod: an incident), one expiring inside the 10-day
  // window (escalates), one expiring in 20 days (held back and summarised).
  const plan: [string, number][] = [
    ['prod-a', -1],
    ['prod-b', -2],
    ['prod-c', -1],
    ['prod-soon', 6],
    ['prod-later', 20],
  ];
  const endpoints = [];
  for (const [name, daysLeft] of plan)
    endpoints.push({
      name,
      environment: 'prod',
      host: '127.0.0.1',
      port: await serve(name, daysLeft),
      servername: `${name}.example.test`,
      caFile,
    });
  slack = await startFakeSlackServer({ path: '/services/T0INC/B0INC/incident-s3cr3t' });
  const secrets = createAwsClient(SecretsManagerClient, moto.clientConfig());
  await secrets.send(new CreateSecretCommand({ Name: SECRET, SecretString: slack.url }));
  await createTable(TABLE);
  sink = await busWithSink('certrotor-incident-test-bus');
  const configFile = await writeConfig(directory, {
    version: 1,
    environments: [{ name: 'prod' }],
    endpoints,
    probe: { timeout: '2s' },
    notifications: {
      channels: [{ name: 'alerts', kind: 'slack', webhook: { secretId: SECRET } }],
      defaultChannel: 'alerts',
      delivery: { messagesPerSecond: 10, commandWait: '5s', retryDelay: '1s', maxRetryDelay: '1s' },
      inhibition: { window: '10d' },
    },
  });
  const setup = { configFile, table: TABLE, bus: sink.bus };
  probe = (await loadHandler<ProbeModule>('probe', setup)).handler as () => Promise<unknown>;
  const loaded = await loadHandler<NotifierModule>('notifier', setup);
  notifier = (event) => loaded.handler(event, lambdaContext());
});

afterAll(async () => {
  output?.restore();
  await slack?.close();
  await Promise.all([...servers.values()].map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('inhibition and resolution in the deployed service', () => {
  it('holds back the lower alert of an environment in a critical incident and summarises it in one message, while the critical alerts and what expires inside the window go out on their own', async () => {
    // Act
    const published = await probeAndNotify();

    // Assess: every finding is still an event on the bus; Slack gets the summary instead of prod-later.
    expect(published).toHaveLength(5);
    const sent = texts(0);
    expect(sent.map(subject).sort()).toEqual(
      [
        'Incident in prod',
        'prod-a.example.test',
        'prod-b.example.test',
        'prod-c.example.test',
        'prod-soon.example.test',
      ].sort(),
    );
    const summary = slack.requests.find((r) => /Incident in prod/.test(r.json?.text ?? ''))!;
    expect(summary.json!.text).toContain('1 lower alert held back');
    expect(summary.body).toContain('prod-later');
  });

  it('sends nothing more for the same incident on the next probe and outbox sweep', async () => {
    // Prepare
    const before = slack.requests.length;

    // Act
    const published = await probeAndNotify();
    await sweep();

    // Assess
    expect(published).toEqual([]);
    expect(slack.requests.length).toBe(before);
  });

  it('sends one "resolved" message to the channel that got the alert once the expired certificate is replaced', async () => {
    // Prepare: prod-b now serves a renewed certificate.
    const renewed = await certificate('prod-b', 200);
    servers
      .get('prod-b')!
      .setSecureContext({ cert: renewed.certificatePem, key: renewed.privateKey.reveal() });
    const before = slack.delivered().length;

    // Act: the next probe sees it; the outbox schedule sends the message; later runs send nothing.
    await probeAndNotify();
    const swept = await sweep();
    await probeAndNotify();
    await sweep();

    // Assess
    expect(swept.sent).toBe(1);
    const sent = texts(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^\[resolved\] Resolved: .*prod-b\.example\.test/);
  });

  it('logs no key material and no webhook URL', () => {
    expect(output.text()).not.toMatch(/PRIVATE KEY/);
    expect(output.text()).not.toContain('incident-s3cr3t');
  });
});

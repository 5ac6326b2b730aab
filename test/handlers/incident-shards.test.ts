/**
 * Inhibition with the sharded probe sweep: a shard probes part of a placement's endpoints, but an
 * incident is "most of an environment", judged against all of its endpoints, not most of a shard.
 * The real probe handler answering `{ job: 'probe-shard' }` (TLS servers on loopback), the notifier
 * handler, moto and a loopback Slack server, as in incident-resolution.test.ts.
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
const TABLE = 'certrotor-incident-shards-test';
const SECRET = 'certrotor/slack/incident-shard-alerts';

let output: CapturedOutput;
let sink: BusSink;
let slack: FakeSlackServer;
let probe: (event: unknown) => Promise<unknown>;
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

/** Runs one shard of the probe, then hands every event it published to the notifier. */
async function probeShardAndNotify(index: number): Promise<string[]> {
  await probe({ job: 'probe-shard', shard: { index, of: 2, endpoints: 6 } });
  const events = await sink.drain();
  for (const event of events) await notifier({ ...event, id: randomUUID() });
  return events.map((e) => e['detail-type']);
}

const texts = (since: number) =>
  slack
    .delivered()
    .slice(since)
    .map((m) => m.text ?? '');
const subject = (text: string) => /Incident in \w+|(prod-\w+)\.example\.test/.exec(text)?.[0] ?? text;

beforeAll(async () => {
  output = captureOutput();
  ca = await buildCa({ commonName: 'Incident test CA', now: new Date(Date.now() - 400 * DAY) });
  const directory = await temp.make('incident');
  const caFile = join(directory, 'ca.pem');
  await writeFile(caFile, ca.certificatePem);
  // prod: six endpoints in two shards of three. The first shard has two expired certificates and
  // one expiring in 20 days: most of that shard, but not most of prod.
  const plan: [string, number][] = [
    ['prod-a', -1],
    ['prod-b', -2],
    ['prod-later', 20],
    ['prod-ok1', 200],
    ['prod-ok2', 200],
    ['prod-ok3', 200],
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
  sink = await busWithSink('certrotor-incident-shards-test-bus');
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
  probe = (await loadHandler<ProbeModule>('probe', setup)).handler as (event: unknown) => Promise<unknown>;
  const loaded = await loadHandler<NotifierModule>('notifier', setup);
  notifier = (event) => loaded.handler(event, lambdaContext());
});

afterAll(async () => {
  output?.restore();
  await slack?.close();
  await Promise.all([...servers.values()].map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('inhibition with a sharded probe sweep', () => {
  it("judges an incident against all of the environment's endpoints, not the shard's: two expired of six is no incident, so every alert goes out on its own", async () => {
    // Act
    const first = await probeShardAndNotify(0);
    const second = await probeShardAndNotify(1);

    // Assess
    expect(first).toHaveLength(3);
    expect(second).toEqual([]);
    expect(texts(0).map(subject).sort()).toEqual(
      ['prod-a.example.test', 'prod-b.example.test', 'prod-later.example.test'].sort(),
    );
  });
});

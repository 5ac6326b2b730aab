/**
 * The digest Lambda as deployed, through the outbox: held routine alerts (state table on the emulator)
 * become one digest per channel and schedule occurrence, recorded in the outbox and sent to a real
 * Slack webhook on loopback; with Slack failing, the digest stays pending and the next invocation
 * delivers it, once.
 */
import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { catalogue } from '../../lambda/domain/events';
import { holdForDigest } from '../../lambda/use-cases/notify/digest';
import { type FakeSlackServer, startFakeSlackServer } from '../support/fake-slack-server';
import { useMoto } from '../support/moto';
import { useTempDirs } from '../support/temp-dir';
import {
  captureOutput,
  type CapturedOutput,
  createTable,
  loadHandler,
  stateStore,
  writeConfig,
} from './support/handler-harness';

type DigestModule = typeof import('../../lambda/handlers/digest');

const moto = useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-digest-test';
const SECRET = 'certrotor/slack/digest-alerts';
const DAY = 86_400_000;

let slack: FakeSlackServer;
let output: CapturedOutput;
let handler: DigestModule['handler'];
let config: Record<string, unknown>;

beforeAll(async () => {
  slack = await startFakeSlackServer({ path: '/services/T0D/B0D/digest-s3cr3t' });
  const secrets = createAwsClient(SecretsManagerClient, moto.clientConfig());
  await secrets.send(new CreateSecretCommand({ Name: SECRET, SecretString: slack.url }));
  await createTable(TABLE);
  config = {
    version: 1,
    environments: [{ name: 'prod-eu' }, { name: 'staging' }],
    notifications: {
      channels: [{ name: 'alerts', kind: 'slack', webhook: { secretId: SECRET } }],
      // Every minute: an occurrence is always due.
      digest: { enabled: true, schedule: 'cron(* * * * ? *)', timeZone: 'UTC', horizon: '30d' },
      delivery: { messagesPerSecond: 10, commandWait: '2s', retryDelay: '1s', maxRetryDelay: '1s' },
    },
  };
  const configFile = await writeConfig(await temp.make('digest'), config);
  output = captureOutput();
  const loaded = await loadHandler<DigestModule>('digest', {
    configFile,
    table: TABLE,
    bus: 'certrotor-digest-test-bus',
  });
  handler = () => loaded.handler();
});

afterAll(async () => {
  output?.restore();
  await slack?.close();
});

async function hold(name: string): Promise<void> {
  const example = catalogue['Certificate Expiring'].example as Record<string, unknown>;
  const certificate = example.certificate as Record<string, unknown>;
  const now = new Date();
  await holdForDigest(
    stateStore(TABLE),
    [
      {
        channel: 'alerts',
        event: {
          detailType: 'Certificate Expiring',
          detail: {
            ...example,
            dedupeKey: `expiry:${name}:${randomUUID()}`,
            certificate: { ...certificate, name, notAfter: new Date(now.getTime() + 10 * DAY).toISOString() },
          },
        } as never,
      },
    ],
    { notifications: { digest: { horizon: 30 * DAY } } } as never,
    now,
  );
}

describe('the digest handler through the outbox', () => {
  it('keeps the digest pending while Slack fails and delivers it once on the next invocation', async () => {
    // Prepare
    await hold('digest-api');
    slack.script(Array.from({ length: 10 }, () => ({ status: 503, body: 'service_unavailable' })));

    // Act
    await handler().catch(() => undefined);
    const whileFailing = slack.delivered().length;
    slack.script([]);
    await new Promise((r) => setTimeout(r, 1100));
    await handler().catch(() => undefined);
    const again = slack.requests.length;
    await handler().catch(() => undefined);

    // Assess
    expect(whileFailing).toBe(0);
    const digests = slack.delivered().filter((m) => /digest/i.test(m.text ?? ''));
    expect(digests).toHaveLength(1);
    expect(JSON.stringify(digests[0])).toContain('digest-api');
    expect(slack.requests.length).toBe(again);
  });
});

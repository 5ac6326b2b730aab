/**
 * The deployed notifier with a Slack webhook that never answers (every request held open until it
 * is "fixed"): each invocation still ends, within the time Lambda gave it (it waits for delivery at
 * most `delivery.commandWait`, each request at most `delivery.timeout`), failing so Lambda retries it; nothing is lost, and once Slack answers again
 * the outbox sweeps deliver every held message exactly once, one per second. The real handler,
 * moto (state table, Secrets Manager) and a real HTTP server on loopback.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { catalogue } from '../../lambda/domain/events';
import { MOTO_ACCOUNT_ID, MOTO_REGION, useMoto } from '../support/moto';
import { useTempDirs } from '../support/temp-dir';
import {
  type CapturedOutput,
  captureOutput,
  createTable,
  loadHandler,
  writeConfig,
} from './support/handler-harness';

type NotifierModule = typeof import('../../lambda/handlers/notifier');

const moto = useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-notifier-slow-test';
const SECRET = 'certrotor/slack/slow-alerts';
const COMMAND_WAIT_MS = 2000;
const TIMEOUT_MS = 1000;
const TIME_LEFT_MS = 60_000;

let output: CapturedOutput;
let notifier: (event: unknown) => Promise<{ sent: number; duplicates: number; failed: number }>;
let fixed = false;
const held: ServerResponse[] = [];
const accepted: { key: string; at: number }[] = [];
const server = createServer((request: IncomingMessage, response: ServerResponse) => {
  let body = '';
  request.on('data', (c: Buffer) => (body += c.toString()));
  request.on('end', () => {
    if (!fixed) {
      held.push(response);
      return;
    }
    accepted.push({ key: /slow-(\d)/.exec(body)?.[1] ?? '?', at: Date.now() });
    response.end('ok');
  });
});

function envelope(index: number) {
  const example = catalogue['Rotation Failed'].example as Record<string, unknown> & { dedupeKey: string };
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Rotation Failed',
    source: 'certrotor',
    account: MOTO_ACCOUNT_ID,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: MOTO_REGION,
    resources: [],
    detail: { ...example, dedupeKey: `${example.dedupeKey}:slow-${index}`, summary: `slow-${index}` },
  };
}

beforeAll(async () => {
  output = captureOutput();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0SLOW/B0SLOW/slow-s3cr3t`;
  await createAwsClient(SecretsManagerClient, moto.clientConfig()).send(
    new CreateSecretCommand({ Name: SECRET, SecretString: url }),
  );
  await createTable(TABLE);
  const configFile = await writeConfig(await temp.make('notifier-slow'), {
    version: 1,
    environments: [{ name: 'prod' }],
    notifications: {
      channels: [{ name: 'alerts', kind: 'slack', webhook: { secretId: SECRET } }],
      defaultChannel: 'alerts',
      delivery: {
        commandWait: `${COMMAND_WAIT_MS}ms`,
        timeout: `${TIMEOUT_MS}ms`,
        retryDelay: '1s',
        maxRetryDelay: '1s',
      },
    },
  });
  const loaded = await loadHandler<NotifierModule>('notifier', {
    configFile,
    table: TABLE,
    bus: 'unused-bus',
  });
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
      getRemainingTimeInMillis: () => TIME_LEFT_MS,
    } as never);
});

afterAll(async () => {
  output?.restore();
  for (const r of held.splice(0)) r.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('the notifier with a Slack webhook that never answers', () => {
  it('ends each invocation although Slack never answers, loses nothing, and delivers every message once, one per second, after Slack answers again', async () => {
    // Act: three events while Slack holds every request open
    const durations: number[] = [];
    const outcomes: string[] = [];
    for (const index of [1, 2, 3]) {
      const started = Date.now();
      await notifier(envelope(index)).then(
        () => outcomes.push('returned'),
        (error: Error) => outcomes.push(error.message),
      );
      durations.push(Date.now() - started);
    }
    const answeredWhileDown = accepted.length;
    fixed = true;
    for (const r of held.splice(0)) r.destroy();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the items' backoff
    // The outbox schedule's sweeps (each sends what fits in its bound) until one has nothing to send.
    const sweeps: number[] = [];
    for (let i = 0; i < 5 && (sweeps.length === 0 || sweeps.at(-1)! > 0); i++)
      sweeps.push((await notifier({ job: 'outbox', scheduledAt: `${new Date().toISOString()}#${i}` })).sent);

    // Assess
    for (const outcome of outcomes) expect(outcome).toMatch(/not delivered yet \(Rotation Failed\)/);
    // Every invocation ended although Slack never answered: within the time Lambda gave it (the
    // context's 60 s), waiting at most commandWait for delivery, not for Slack.
    expect(answeredWhileDown).toBe(0);
    for (const duration of durations) expect(duration).toBeLessThan(TIME_LEFT_MS);
    expect(sweeps.reduce((a, b) => a + b, 0)).toBe(3);
    expect(sweeps.at(-1)).toBe(0);
    expect(accepted.map((a) => a.key).sort()).toEqual(['1', '2', '3']);
    const gaps = accepted.slice(1).map((a, i) => a.at - accepted[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(950);
    expect(output.text()).not.toContain('slow-s3cr3t');
  });
});

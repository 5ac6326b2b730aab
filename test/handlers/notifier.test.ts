/**
 * The Slack notifier Lambda as deployed: an EventBridge rule delivers certrotor events (the envelope
 * EventBridge hands a Lambda target), the handler reads the webhook URL from Secrets Manager (moto)
 * and posts to Slack (a real HTTP server on loopback), deduplicating through the state table (moto).
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { DETAIL_TYPES, type DetailTypeName, catalogue } from '../../lambda/domain/events';
import type { ChatMessage } from '../../lambda/domain/ports';
import { containsPrivateKey } from '../../lambda/domain/secret';
import { createSilence } from '../../lambda/domain/silences';
import { COLLECTIONS } from '../../lambda/use-cases/certificate-state';
import { buildCertificate } from '../builders/certificates';
import { type FakeSlackServer, startFakeSlackServer } from '../support/fake-slack-server';
import { MOTO_ACCOUNT_ID, MOTO_REGION, useMoto } from '../support/moto';
import { messageText, slackLimitViolations } from '../support/slack-limits';
import { useTempDirs } from '../support/temp-dir';
import type { OutgoingEvent } from '../../lambda/domain/ports';
import { updateCertificateState } from '../../lambda/use-cases/certificate-state';
import { DEFAULT_VERIFY } from '../../lambda/use-cases/managed-certificate';
import { rotateCertificate } from '../../lambda/use-cases/rotation/in-process-driver';
import { buildCa } from '../builders/certificates';
import { FakeFleet, type HostFault, MemoryBundleStore } from '../fakes/fake-fleet';
import { CountingIssuer, minimalFacts } from '../fakes/fake-issuer';
import { MemoryStateStore } from '../fakes/memory-state-store';
import {
  type CapturedOutput,
  captureOutput,
  createTable,
  loadHandler,
  stateStore,
  writeConfig,
} from './support/handler-harness';

const DAY = 86_400_000;

type NotifierModule = typeof import('../../lambda/handlers/notifier');

const moto = useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-notifier-test';
// One channel's webhook in a Secrets Manager secret, the other's in an SSM SecureString parameter.
const SECRET = { alerts: 'certrotor/slack/alerts' } as const;
const PARAMETER = { operators: '/certrotor/slack/operators' } as const;

let alerts: FakeSlackServer;
let operators: FakeSlackServer;
let handler: NotifierModule['handler'];
let output: CapturedOutput;

/** The notifier's idempotency records (Powertools, in the state table's own partition). */
async function idempotencyRecords(): Promise<Record<string, unknown>[]> {
  const client = DynamoDBDocumentClient.from(createAwsClient(DynamoDBClient, moto.clientConfig()));
  const result = await client.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'idempotency#notifier' },
    }),
  );
  return result.Items ?? [];
}

/** What Lambda passes as the handler's second argument (Powertools idempotency reads the time left). */
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

/** The event exactly as EventBridge delivers it to a Lambda target. */
function envelope(detailType: DetailTypeName, detail: Record<string, unknown>, id = randomUUID()) {
  return {
    version: '0',
    id,
    'detail-type': detailType,
    source: 'certrotor',
    account: MOTO_ACCOUNT_ID,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: MOTO_REGION,
    resources: [],
    detail,
  };
}

/** The catalogue example of `detailType` with a dedupe key of its own, so tests never share a claim. */
function exampleDetail(detailType: DetailTypeName, suffix = randomUUID().slice(0, 8)) {
  const example = catalogue[detailType].example as Record<string, unknown> & { dedupeKey: string };
  return { ...example, dedupeKey: `${example.dedupeKey}:${suffix}` };
}

function posted(server: FakeSlackServer, since: number): ChatMessage[] {
  return server.requests.slice(since).map((r) => r.json as ChatMessage);
}

/** What each message must name for the reader to act: the certificate, the place, the upstream… */
const mustName: Record<DetailTypeName, readonly string[]> = {
  'Certificate Expiring': ['api.example.com', '13', 'prod-eu', 'staging', '3F2A9C11D47E'],
  'Certificate Expired': ['api.example.com', 'ingress-1', 'prod-eu'],
  'Renewal Due': ['api-public', '2026-02-12'],
  'Endpoint Drift Detected': ['web-7', 'prod-eu', '8C51E70A3B96', '3F2A9C11D47E'],
  'Endpoint Problem Detected': ['internal-api', 'staging', 'without reaching a trusted root'],
  'Rotation Started': ['api-public', 'web-fleet', 'api-secret'],
  'Rotation Succeeded': ['api-public', 'web-1', '8C51E70A3B96'],
  'Rotation Failed': ['api-public', 'web-7', 'still serves 3F2A9C11D47E after reload'],
  'Rotation Rolled Back': ['api-public', 'web-7', 'web-1', 'connection refused'],
  'Upstream Rotation Announced': ['payments-gateway', 'checkout-1', 'billing-worker'],
  'Upstream Rotation Deadline Approaching': ['payments-gateway', 'billing-worker', 'prod-us'],
  'Upstream Certificate Changed': ['payments-gateway', 'api.pay.example.net', 'checkout-1'],
  'Upstream Announcement Needs Review': [
    'payments-gateway',
    'Upcoming TLS certificate update',
    'no cutover date found',
  ],
  'Consumers Not Ready': ['payments-gateway', 'billing-worker', 'test handshake'],
  'Notification Delivery Failed': ['payments-alerts', 'channel_not_found'],
  'Scan Missed': ['probe'],
  'Client Certificate Sunset': ['api-public', 'payments-gateway', '2027-03-15', 'Chrome Root Program'],
};

beforeAll(async () => {
  alerts = await startFakeSlackServer({ path: '/services/T0ALERTS/B0ALERTS/alerts-s3cr3t' });
  operators = await startFakeSlackServer({ path: '/services/T0OPS/B0OPS/operators-s3cr3t' });
  const secrets = createAwsClient(SecretsManagerClient, moto.clientConfig());
  await secrets.send(new CreateSecretCommand({ Name: SECRET.alerts, SecretString: `${alerts.url}\n` }));
  await createAwsClient(SSMClient, moto.clientConfig()).send(
    new PutParameterCommand({ Name: PARAMETER.operators, Type: 'SecureString', Value: operators.url }),
  );
  await createTable(TABLE);
  const configFile = await writeConfig(await temp.make('notifier'), {
    version: 1,
    environments: [{ name: 'prod-eu' }, { name: 'prod-us' }, { name: 'staging' }],
    notifications: {
      channels: [
        { name: 'alerts', kind: 'slack', webhook: { secretId: SECRET.alerts } },
        { name: 'operators', kind: 'slack', webhook: { parameter: PARAMETER.operators } },
      ],
      defaultChannel: 'alerts',
      operatorChannel: 'operators',
      // Fast pacing and one retry keep the suite quick; the webhook adapter's own suite covers pacing.
      delivery: {
        messagesPerSecond: 10,
        maxAttempts: 2,
        timeout: '2s',
        commandWait: '2s',
        retryDelay: '1s',
        maxRetryDelay: '1s',
      },
    },
  });
  output = captureOutput();
  const loaded = await loadHandler<NotifierModule>('notifier', {
    configFile,
    table: TABLE,
    bus: 'certrotor-notifier-test-bus',
  });
  handler = (event) => loaded.handler(event, lambdaContext());
});

afterAll(async () => {
  output?.restore();
  await Promise.all([alerts?.close(), operators?.close()]);
});

describe('the Slack notifier handler', () => {
  it.each(DETAIL_TYPES.filter((t) => t !== 'Notification Delivery Failed').map((t) => [t]))(
    'posts exactly one message for a %s event that names what the reader must act on',
    async (detailType) => {
      const before = alerts.requests.length;

      const result = await handler(envelope(detailType, exampleDetail(detailType)));

      expect(result).toEqual({ sent: 1, duplicates: 0, failed: 0 });
      const messages = posted(alerts, before);
      expect(messages).toHaveLength(1);
      const text = messageText(messages[0]!);
      for (const expected of mustName[detailType]) expect(text).toContain(expected);
      expect(slackLimitViolations(messages[0]!)).toEqual([]);
    },
  );

  it('posts nothing for a Notification Delivery Failed event: the outbox that raised it already sent its one operator alert', async () => {
    const before = alerts.requests.length;
    const beforeOperators = operators.requests.length;

    const result = await handler(
      envelope('Notification Delivery Failed', exampleDetail('Notification Delivery Failed')),
    );

    expect(result).toEqual({ sent: 0, duplicates: 0, failed: 0 });
    expect(posted(alerts, before)).toHaveLength(0);
    expect(posted(operators, beforeOperators)).toHaveLength(0);
  });

  it('catalogues a message expectation for every detail type', () => {
    expect(Object.keys(mustName).sort()).toEqual([...DETAIL_TYPES].sort());
  });

  it('posts once when EventBridge delivers the same event twice', async () => {
    const event = envelope('Certificate Expiring', exampleDetail('Certificate Expiring'));
    const before = alerts.requests.length;

    const first = await handler(event);
    const second = await handler(event);

    expect(first).toEqual({ sent: 1, duplicates: 0, failed: 0 });
    // The idempotent handler answers a redelivery with the recorded result and posts nothing.
    expect(second).toEqual(first);
    expect(posted(alerts, before)).toHaveLength(1);
    const records = await idempotencyRecords();
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.status === 'COMPLETED' && typeof r.expiresAt === 'number')).toBe(true);
    expect(containsPrivateKey(JSON.stringify(records))).toBe(false);
  });

  it('posts once when the same finding arrives again as a new event (a re-published finding)', async () => {
    const detail = exampleDetail('Renewal Due');
    const before = alerts.requests.length;

    await handler(envelope('Renewal Due', detail));
    const again = await handler(envelope('Renewal Due', detail));

    expect(again.duplicates).toBe(1);
    expect(posted(alerts, before)).toHaveLength(1);
  });

  it('fails the invocation when Slack answers 5xx, so Lambda retries it, and the retry posts once', async () => {
    const event = envelope('Rotation Failed', exampleDetail('Rotation Failed'));
    const before = alerts.requests.length;
    alerts.script([
      { status: 500, body: 'internal_error' },
      { status: 503, body: 'service_unavailable' },
    ]);

    await expect(handler(event)).rejects.toThrow(/not delivered yet \(Rotation Failed\)/);
    const retry = await handler(event);
    const redelivery = await handler(event);

    expect(retry).toEqual({ sent: 1, duplicates: 0, failed: 0 });
    // The redelivery (same event id) gets the recorded result; nothing is posted again.
    expect(redelivery).toEqual(retry);
    const arrived = alerts.requests
      .slice(before)
      .map((r) => ('status' in r.response ? r.response.status : 0));
    expect(arrived).toEqual([500, 503, 200]);
    expect(alerts.delivered().filter((m) => m.text?.includes('api-public'))).not.toHaveLength(0);
    expect(posted(operators, 0)).toHaveLength(0);
  });

  it('does not retry a 404 channel_not_found, does not fail the invocation, and alerts the operator channel', async () => {
    const event = envelope('Certificate Expired', exampleDetail('Certificate Expired'));
    const beforeAlerts = alerts.requests.length;
    const beforeOperators = operators.requests.length;
    const beforeLog = output.records().length;
    alerts.script([{ status: 404, body: 'channel_not_found' }]);

    const result = await handler(event);

    expect(result).toEqual({ sent: 0, duplicates: 0, failed: 1 });
    expect(alerts.requests.slice(beforeAlerts)).toHaveLength(1);
    const operatorMessages = posted(operators, beforeOperators);
    expect(operatorMessages).toHaveLength(1);
    expect(messageText(operatorMessages[0]!)).toEqual(expect.stringContaining('alerts'));
    expect(messageText(operatorMessages[0]!)).toEqual(expect.stringContaining('channel_not_found'));
    const problems = output
      .records()
      .slice(beforeLog)
      .filter((r) => r.message === 'notification problem');
    expect(problems).toEqual([
      expect.objectContaining({ level: 'ERROR', kind: 'permanent', channel: 'alerts' }),
    ]);

    // The webhook is fixed: the next invocation (any event) delivers the held message, once; the
    // operator is not told again.
    const afterFix = alerts.requests.length;
    const succeeded = exampleDetail('Rotation Succeeded');
    const next = await handler(envelope('Rotation Succeeded', succeeded));
    const again = await handler(envelope('Rotation Succeeded', succeeded));

    expect(next).toEqual({ sent: 1, duplicates: 0, failed: 0 });
    expect(again).toEqual({ sent: 0, duplicates: 1, failed: 0 });
    const delivered = posted(alerts, afterFix).map((m) => messageText(m));
    expect(delivered).toHaveLength(2);
    expect(delivered.filter((t) => /Certificate EXPIRED/i.test(t))).toHaveLength(1);
    expect(posted(operators, beforeOperators)).toHaveLength(1);
  });

  it('delivers every event of a 429-then-5xx storm exactly once across Lambda retries, honouring Retry-After', async () => {
    // Prepare: 6 events with their own keys; Slack answers 429 (Retry-After 1) twice, then 503 three times
    const suffixes = ['s1', 's2', 's3', 's4', 's5', 's6'].map((s) => `${s}-${randomUUID().slice(0, 6)}`);
    const before = alerts.requests.length;
    alerts.script([
      { status: 429, body: 'rate_limited', headers: { 'retry-after': '1' } },
      { status: 429, body: 'rate_limited', headers: { 'retry-after': '1' } },
      { status: 503, body: 'service_unavailable' },
      { status: 503, body: 'service_unavailable' },
      { status: 503, body: 'service_unavailable' },
    ]);

    // Act: each event as EventBridge delivers it; a failed invocation is retried as Lambda would
    let failedInvocations = 0;
    for (const suffix of suffixes) {
      const event = envelope('Rotation Failed', exampleDetail('Rotation Failed', suffix));
      for (let attempt = 0; attempt < 6; attempt++) {
        try {
          await handler(event);
          break;
        } catch {
          failedInvocations++;
        }
      }
    }

    // Assess: each key accepted exactly once, none lost; the request after each 429 waited its Retry-After
    const requests = alerts.requests.slice(before);
    const accepted = requests
      .filter((r) => 'status' in r.response && r.response.status < 300)
      .map((r) => suffixes.find((s) => r.body.includes(s)) ?? '?');
    expect([...accepted].sort()).toEqual([...suffixes].sort());
    const afterRateLimit = requests
      .map((r, i) => ({ r, previous: requests[i - 1] }))
      .filter(({ previous }) => previous && 'status' in previous.response && previous.response.status === 429)
      .map(({ r, previous }) => r.at - previous!.at);
    expect(afterRateLimit).toHaveLength(2);
    expect(Math.min(...afterRateLimit)).toBeGreaterThanOrEqual(950);
    // Some invocations failed (Lambda retried them); none lost a message.
    expect(failedInvocations).toBeGreaterThan(0);
  });

  it('sends what an earlier invocation left pending when a schedule invokes it with { job: "outbox" }', async () => {
    // Prepare: an event whose message Slack refuses with 503 until it recovers
    const event = envelope(
      'Rotation Failed',
      exampleDetail('Rotation Failed', `sweep-${randomUUID().slice(0, 6)}`),
    );
    alerts.script(Array.from({ length: 10 }, () => ({ status: 503, body: 'service_unavailable' })));
    await expect(handler(event)).rejects.toThrow(/not delivered yet/);
    alerts.script([]);
    const before = alerts.requests.length;

    // Act: no new event, only the sweep (after the item's backoff)
    await new Promise((r) => setTimeout(r, 1100));
    const swept = await handler({ job: 'outbox', scheduledAt: new Date().toISOString() });

    // Assess
    expect(swept).toEqual({ sent: 1, duplicates: 0, failed: 0 });
    expect(
      posted(alerts, before)
        .map((m) => messageText(m))
        .filter((t) => t.includes('sweep-')),
    ).toHaveLength(1);
  });

  it('rejects an event carrying a private key without posting it or echoing it anywhere', async () => {
    const canary = (await buildCertificate({ commonName: 'canary.test' })).privateKey.reveal();
    const detail = { ...exampleDetail('Certificate Expiring'), summary: canary };
    const before = alerts.requests.length + operators.requests.length;

    const error = await handler(envelope('Certificate Expiring', detail)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );

    expect(error?.message).toMatch(/does not match the catalogue/);
    expect(containsPrivateKey(error?.message ?? '')).toBe(false);
    expect(alerts.requests.length + operators.requests.length).toBe(before);
    expect(output.text()).not.toContain(canary.split('\n')[1]);
  });

  it('honours silences stored in the table (certrotor silence --backend aws), except for what expires inside them', async () => {
    // Prepare: api-public silenced for two days; one alert about it expiring in 13 days, one in 1 day
    const now = new Date();
    const silence = createSilence(
      {
        scope: 'certificate=api-public',
        until: new Date(now.getTime() + 2 * DAY).toISOString(),
        reason: 'INC-7',
      },
      now,
    );
    await stateStore(TABLE).put(COLLECTIONS.silences, silence.id, silence, now);
    const expiring = (days: number) => {
      const detail = exampleDetail('Certificate Expiring');
      const certificate = (detail as Record<string, unknown>).certificate as Record<string, unknown>;
      return envelope('Certificate Expiring', {
        ...detail,
        daysLeft: days,
        certificate: { ...certificate, notAfter: new Date(now.getTime() + days * DAY).toISOString() },
      });
    };
    const before = alerts.requests.length;

    try {
      // Act
      const quiet = await handler(expiring(13));
      const urgent = await handler(expiring(1));

      // Assess
      expect(quiet).toEqual({ sent: 0, duplicates: 0, failed: 0 });
      expect(urgent).toEqual({ sent: 1, duplicates: 0, failed: 0 });
      expect(posted(alerts, before)).toHaveLength(1);
    } finally {
      await stateStore(TABLE).delete(COLLECTIONS.silences, silence.id);
    }
  });

  it('never posts or logs key material or the webhook URLs', () => {
    const bodies = [...alerts.requests, ...operators.requests].map((r) => r.body);
    const logged = output.text();

    expect(bodies.length).toBeGreaterThan(DETAIL_TYPES.length);
    for (const body of bodies) {
      expect(containsPrivateKey(body)).toBe(false);
      expect(body).not.toMatch(/-----BEGIN/);
    }
    expect(containsPrivateKey(logged)).toBe(false);
    expect(logged).not.toMatch(/-----BEGIN/);
    expect(logged).not.toContain(alerts.path);
    expect(logged).not.toContain(operators.path);
    expect(logged).toContain('"message":"notified"');
  });
});

describe('the Slack notifier handler with a channel whose webhook parameter or secret is missing', () => {
  let isolated: NotifierModule['handler'];

  beforeAll(async () => {
    const configFile = await writeConfig(await temp.make('notifier-missing'), {
      version: 1,
      environments: [{ name: 'prod-eu' }, { name: 'staging' }],
      notifications: {
        channels: [
          { name: 'alerts', kind: 'slack', webhook: { secretId: SECRET.alerts } },
          { name: 'payments', kind: 'slack', webhook: { parameter: '/certrotor/slack/deleted' } },
          { name: 'operators', kind: 'slack', webhook: { secretId: 'certrotor/slack/never-created' } },
        ],
        defaultChannel: 'alerts',
        operatorChannel: 'operators',
        routes: [{ owner: 'payments', channel: 'payments' }],
        delivery: {
          messagesPerSecond: 10,
          maxAttempts: 2,
          timeout: '2s',
          commandWait: '2s',
          retryDelay: '1s',
          maxRetryDelay: '1s',
        },
      },
    });
    const loaded = await loadHandler<NotifierModule>('notifier', {
      configFile,
      table: TABLE,
      bus: 'certrotor-notifier-test-bus',
    });
    isolated = (event) => loaded.handler(event, lambdaContext());
  });

  it('still posts events routed to the other channels', async () => {
    const before = alerts.requests.length;

    const result = await isolated(envelope('Certificate Expiring', exampleDetail('Certificate Expiring')));

    expect(result).toEqual({ sent: 1, duplicates: 0, failed: 0 });
    expect(posted(alerts, before)).toHaveLength(1);
  });

  it('fails an event routed to that channel, naming the channel and its parameter, so it ends in the dead-letter queue', async () => {
    const detail = { ...exampleDetail('Rotation Failed'), owner: 'payments' };

    await expect(isolated(envelope('Rotation Failed', detail))).rejects.toThrow(
      /notification channel payments \(parameter \/certrotor\/slack\/deleted\)/,
    );
  });
});

/** The events one real rotation produces through the rotation steps (not catalogue examples). */
async function rotationEvents(fault?: HostFault): Promise<OutgoingEvent[]> {
  const now = new Date();
  const ca = await buildCa({ now });
  const old = minimalFacts(
    (await buildCertificate({ issuer: ca, now, daysLeft: 20, dnsNames: ['api.internal'] })).certificatePem,
  );
  const hosts = ['web-1', 'web-2', 'web-3'];
  const fleet = new FakeFleet(
    'web-fleet',
    hosts,
    { fingerprint: old.fingerprintSha256, notAfter: old.notAfter },
    () => new Date(),
  );
  if (fault) fleet.faults.set('web-3', fault);
  const state = new MemoryStateStore();
  await updateCertificateState(state, 'api', now, () => ({
    name: 'api',
    current: {
      version: 'v0',
      fingerprintSha256: old.fingerprintSha256,
      notAfter: old.notAfter,
      notBefore: old.notBefore,
      bundle: { name: 'api', version: 'v0', location: 'memory:api#v0' },
    },
    failedAttempts: 0,
  }));
  const events: OutgoingEvent[] = [];
  await rotateCertificate(
    {
      issuers: new Map([['ca', new CountingIssuer(ca)]]),
      destinations: new Map([['web-fleet', fleet]]),
      bundles: new MemoryBundleStore(),
      state,
      prober: fleet,
      clock: () => new Date(),
      sleep: async () => undefined,
      events: {
        name: 'memory',
        publish: async (e) => (events.push(...e), { published: e.length, failed: [] }),
      },
    },
    {
      name: 'api',
      commonName: 'api.internal',
      dnsNames: ['api.internal'],
      keySpec: 'EC_P256',
      usage: 'server',
      validityDays: 90,
      issuer: 'ca',
      destinations: ['web-fleet'],
      verify: hosts.map((h) => ({ environment: 'prod-eu', host: h, port: 443, target: h })),
      environments: ['prod-eu'],
      rollout: { canary: 1, batchSize: 2, failureTolerance: 0 },
      verifyPolicy: { ...DEFAULT_VERIFY, attempts: 1, intervalMs: 0 },
    },
    { reason: 'test', owner: 'notifier-test' },
  );
  return events;
}

describe('the Slack notifier handler fed by the rotation steps', () => {
  it.each([
    ['succeeds', undefined, 'Rotation Succeeded'],
    ['rolls back', 'keeps-old' as const, 'Rotation Rolled Back'],
  ])(
    'posts the Rotation Started and the outcome of a rotation that %s once each, however often they are delivered',
    async (_case, fault, outcome) => {
      // Prepare
      const events = await rotationEvents(fault);
      const before = alerts.requests.length;

      // Act: each event delivered, then the same events published again (a re-run) under new event ids.
      const first = [];
      for (const e of events) first.push(await handler(envelope(e.detailType as DetailTypeName, e.detail)));
      const again = [];
      for (const e of events) again.push(await handler(envelope(e.detailType as DetailTypeName, e.detail)));

      // Assess
      expect(events.map((e) => e.detailType)).toEqual(['Rotation Started', outcome]);
      expect(first).toEqual([
        { sent: 1, duplicates: 0, failed: 0 },
        { sent: 1, duplicates: 0, failed: 0 },
      ]);
      expect(again.map((r) => r.duplicates)).toEqual([1, 1]);
      const texts = posted(alerts, before).map(messageText);
      expect(texts).toHaveLength(2);
      expect(texts[0]).toContain('api');
      expect(texts[1]).toContain(outcome === 'Rotation Succeeded' ? 'web-1' : 'web-3');
    },
  );
});

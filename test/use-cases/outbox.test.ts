/**
 * The notification outbox as a use case, over the real local state store and a real Slack webhook on
 * loopback: two drainers at once send each message once (the lease); a message failing past
 * `giveUpAfter` is dead-lettered once, the operator told once, Notification Delivery Failed published,
 * and it is still delivered when Slack recovers.
 */
import { join } from 'node:path';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import { SlackWebhookNotifier, WebhookPacer } from '../../lambda/adapters/net/slack-webhook';
import type { OutgoingEvent } from '../../lambda/domain/ports';
import {
  DEAD_LETTER_COLLECTION,
  type DrainDeps,
  drainOutbox,
  enqueue,
  pendingItems,
} from '../../lambda/use-cases/notify/outbox';
import { type FakeSlackServer, startFakeSlackServer } from '../support/fake-slack-server';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
let alerts: FakeSlackServer;
let ops: FakeSlackServer;

beforeEach(async () => {
  alerts = await startFakeSlackServer();
  ops = await startFakeSlackServer();
});

afterEach(async () => {
  await alerts.close();
  await ops.close();
});

const message = (n: number) => ({ text: `message ${n}`, blocks: [] });

function deps(store: FileStateStore, overrides: Partial<DrainDeps> = {}): DrainDeps {
  const pacer = new WebhookPacer();
  const notifiers = new Map([
    [
      'alerts',
      new SlackWebhookNotifier({
        webhookUrl: alerts.url,
        name: 'alerts',
        maxAttempts: 1,
        minIntervalMs: 10,
        pacer,
      }),
    ],
    [
      'ops',
      new SlackWebhookNotifier({
        webhookUrl: ops.url,
        name: 'ops',
        maxAttempts: 1,
        minIntervalMs: 10,
        pacer,
      }),
    ],
  ]);
  return {
    store,
    clock: () => new Date(),
    notifierFor: (c) => notifiers.get(c),
    operatorChannel: 'ops',
    deadline: (() => {
      const until = Date.now() + 5000;
      return () => until;
    })(),
    ...overrides,
  };
}

describe('the notification outbox', () => {
  it('sends each message once when two drainers run at the same time', async () => {
    // Prepare
    const store = new FileStateStore({ directory: join(await temp.make('outbox'), 'state') });
    await enqueue(
      store,
      [1, 2, 3, 4, 5].map((n) => ({ channel: 'alerts', key: `k${n}`, message: message(n) })),
      new Date(),
    );

    // Act: two independent drainers (two processes, two Lambda invocations)
    const [a, b] = await Promise.all([
      drainOutbox(deps(store), { minIntervalMs: 10 }),
      drainOutbox(deps(store), { minIntervalMs: 10 }),
    ]);

    // Assess
    expect(
      alerts
        .delivered()
        .map((m) => m.text)
        .sort(),
    ).toEqual([1, 2, 3, 4, 5].map((n) => `message ${n}`));
    expect(a.delivered + b.delivered).toBe(5);
    expect(await pendingItems({ store, clock: () => new Date() })).toEqual([]);
  });

  it('dead-letters a message still failing after giveUpAfter, tells the operator once, and still delivers it later', async () => {
    // Prepare: Slack answers 503 for a while
    const store = new FileStateStore({ directory: join(await temp.make('outbox'), 'state') });
    alerts.script(Array.from({ length: 20 }, () => ({ status: 503, body: 'service_unavailable' })));
    await enqueue(
      store,
      [
        {
          channel: 'alerts',
          key: 'expiry:AB:expired',
          message: message(1),
          detailType: 'Certificate Expired',
        },
      ],
      new Date(Date.now() - 2 * 3_600_000),
    );
    const published: OutgoingEvent[] = [];
    const policy = { minIntervalMs: 10, retryDelayMs: 50, maxRetryDelayMs: 50, giveUpAfterMs: 3_600_000 };
    const publish = async (events: readonly OutgoingEvent[]) => void published.push(...events);

    // Act: two drains while Slack fails, then one after it recovers
    const within = (ms: number) => {
      const until = Date.now() + ms;
      return () => until;
    };
    const failing = await drainOutbox(deps(store, { publish, deadline: within(300) }), policy);
    await drainOutbox(deps(store, { publish, deadline: within(300) }), policy);
    alerts.script([]);
    const recovered = await drainOutbox(deps(store, { publish }), policy);

    // Assess
    // The operator alert is the one message the failing drain delivered.
    expect(failing).toMatchObject({ delivered: 1, deadLettered: 1, pending: 1 });
    expect(ops.delivered()).toHaveLength(1);
    expect(ops.delivered()[0]!.text).toContain('Notifications to alerts are failing');
    expect(published.map((e) => [e.detailType, e.detail.originalDedupeKey, e.detail.permanent])).toEqual([
      ['Notification Delivery Failed', 'expiry:AB:expired', false],
    ]);
    expect((await store.list(DEAD_LETTER_COLLECTION, new Date())).map((i) => i.id)).toEqual([
      'alerts:expiry:AB:expired',
    ]);
    expect(recovered).toMatchObject({ delivered: 1, pending: 0 });
    expect(alerts.delivered().map((m) => m.text)).toEqual(['message 1']);
  });
});

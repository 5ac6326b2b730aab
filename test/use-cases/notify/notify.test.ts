import { SlackWebhookNotifier, WebhookPacer } from '../../../lambda/adapters/net/slack-webhook';
import type { ChatMessage, DeliveryOutcome, Notifier } from '../../../lambda/domain/ports';
import {
  type Delivery,
  NOTIFICATIONS_COLLECTION,
  type NotificationProblem,
  NotificationDispatcher,
} from '../../../lambda/use-cases/notify/notify';
import { MemoryStateStore } from '../../fakes/memory-state-store';
import { startFakeSlackServer } from '../../support/fake-slack-server';

/** The time operator messages carry. */
const operatorClock = () => new Date('2026-02-26T09:00:00.000Z');

const NOW = new Date('2026-03-01T12:00:00Z');

/** A notifier that answers from a script and records what it was asked to send. */
class ScriptedNotifier implements Notifier {
  readonly sent: ChatMessage[] = [];
  constructor(
    readonly name: string,
    private readonly answers: (DeliveryOutcome | Error)[] = [],
  ) {}

  async send(message: ChatMessage): Promise<DeliveryOutcome> {
    this.sent.push(message);
    const answer = this.answers.shift() ?? { ok: true, status: 200, attempts: 1 };
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

function delivery(id: string, channel = 'alerts', dedupeKey?: string): Delivery {
  return {
    id,
    channel,
    message: { text: `[warning] ${id}`, blocks: [] },
    ...(dedupeKey !== undefined ? { dedupeKey } : {}),
  };
}

const NOT_FOUND: DeliveryOutcome = {
  ok: false,
  status: 404,
  attempts: 1,
  permanent: true,
  error: 'slack webhook https://hooks.slack.com/…: HTTP 404 channel_not_found',
};
const UNAVAILABLE: DeliveryOutcome = {
  ok: false,
  status: 503,
  attempts: 5,
  error: 'HTTP 503 (gave up after 5 attempts)',
};

describe('NotificationDispatcher', () => {
  it('sends every delivery in order and reports each', async () => {
    // Prepare
    const alerts = new ScriptedNotifier('alerts');
    const dispatcher = new NotificationDispatcher({ clock: operatorClock, notifierFor: () => alerts });

    // Act
    const report = await dispatcher.dispatch([delivery('a'), delivery('b'), delivery('c')]);

    // Assess
    expect(alerts.sent.map((m) => m.text)).toEqual(['[warning] a', '[warning] b', '[warning] c']);
    expect(report.deliveries.map((d) => [d.id, d.status])).toEqual([
      ['a', 'sent'],
      ['b', 'sent'],
      ['c', 'sent'],
    ]);
    expect(report).toMatchObject({ sent: 3, failed: 0, duplicates: 0, retryable: [], problems: [] });
  });

  it('keeps order within each channel while channels proceed independently', async () => {
    // Prepare
    const notifiers = { a: new ScriptedNotifier('a'), b: new ScriptedNotifier('b') };
    const dispatcher = new NotificationDispatcher({
      clock: operatorClock,
      notifierFor: (c) => notifiers[c as 'a' | 'b'],
    });

    // Act
    const report = await dispatcher.dispatch([
      delivery('1', 'a'),
      delivery('2', 'b'),
      delivery('3', 'a'),
      delivery('4', 'b'),
    ]);

    // Assess
    expect(notifiers.a.sent.map((m) => m.text)).toEqual(['[warning] 1', '[warning] 3']);
    expect(notifiers.b.sent.map((m) => m.text)).toEqual(['[warning] 2', '[warning] 4']);
    expect(report.deliveries.map((d) => d.id)).toEqual(['1', '2', '3', '4']);
  });

  it('stops using a channel that is gone and raises one operator alert through the fallback channel', async () => {
    // Prepare
    const broken = new ScriptedNotifier('payments', [NOT_FOUND]);
    const operators = new ScriptedNotifier('platform');
    const problems: NotificationProblem[] = [];
    const dispatcher = new NotificationDispatcher({
      notifierFor: () => broken,
      fallback: operators,
      onProblem: (p) => problems.push(p),
      clock: () => NOW,
    });

    // Act
    const report = await dispatcher.dispatch([
      delivery('a', 'payments'),
      delivery('b', 'payments'),
      delivery('c', 'payments'),
    ]);

    // Assess
    expect(broken.sent).toHaveLength(1);
    expect(report.deliveries.map((d) => d.status)).toEqual(['failed', 'skipped', 'skipped']);
    expect(report.failed).toBe(3);
    expect(report.retryable).toEqual([]);
    expect(problems).toEqual([
      expect.objectContaining({
        kind: 'permanent',
        channel: 'payments',
        status: 404,
        deliveries: ['a', 'b', 'c'],
      }),
    ]);
    expect(operators.sent).toHaveLength(1);
    expect(operators.sent[0]!.text).toContain('Notifications to payments are failing');
    expect(JSON.stringify(operators.sent[0]!.blocks)).toContain('channel_not_found');
    expect(JSON.stringify(operators.sent[0]!.blocks)).toContain('[warning] b');
  });

  it('keeps trying later messages after one message is refused as invalid', async () => {
    // Prepare
    const invalid: DeliveryOutcome = {
      ok: false,
      status: 400,
      attempts: 1,
      permanent: true,
      error: 'HTTP 400 invalid_blocks',
    };
    const alerts = new ScriptedNotifier('alerts', [invalid]);
    const dispatcher = new NotificationDispatcher({ clock: operatorClock, notifierFor: () => alerts });

    // Act
    const report = await dispatcher.dispatch([delivery('a'), delivery('b')]);

    // Assess
    expect(report.deliveries.map((d) => d.status)).toEqual(['failed', 'sent']);
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'permanent', status: 400, deliveries: ['a'] }),
    ]);
  });

  it('returns transient failures for the dead-letter path and reports them to the callback only', async () => {
    // Prepare
    const alerts = new ScriptedNotifier('alerts', [UNAVAILABLE, UNAVAILABLE]);
    const operators = new ScriptedNotifier('platform');
    const problems: NotificationProblem[] = [];
    const dispatcher = new NotificationDispatcher({
      clock: operatorClock,
      notifierFor: () => alerts,
      fallback: operators,
      onProblem: (p) => problems.push(p),
    });
    const deliveries = [delivery('a'), delivery('b'), delivery('c')];

    // Act
    const report = await dispatcher.dispatch(deliveries);

    // Assess
    expect(report.retryable).toEqual([deliveries[0], deliveries[1]]);
    expect(report.sent).toBe(1);
    expect(problems).toEqual([expect.objectContaining({ kind: 'undelivered', deliveries: ['a', 'b'] })]);
    expect(operators.sent).toHaveLength(0);
  });

  it('never throws, whatever the notifier, the fallback or the callback do', async () => {
    // Prepare
    const throwing = new ScriptedNotifier('alerts', [new Error('socket hang up'), NOT_FOUND]);
    const fallback = new ScriptedNotifier('platform', [new Error('also down')]);
    const dispatcher = new NotificationDispatcher({
      clock: operatorClock,
      notifierFor: (c) => (c === 'nowhere' ? undefined : throwing),
      fallback,
      onProblem: () => {
        throw new Error('metrics are down');
      },
    });

    // Act
    const report = await dispatcher.dispatch([delivery('a'), delivery('b'), delivery('c', 'nowhere')]);

    // Assess
    expect(report.deliveries.map((d) => d.status)).toEqual(['failed', 'failed', 'no-channel']);
    expect(report.deliveries[0]!.outcome?.error).toBe('alerts: socket hang up');
    expect(report.problems.map((p) => p.kind).sort()).toEqual([
      'fallback-failed',
      'no-channel',
      'permanent',
      'undelivered',
    ]);
  });

  it('does not send the operator alert through the channel that is broken', async () => {
    const broken = new ScriptedNotifier('platform', [NOT_FOUND]);
    const dispatcher = new NotificationDispatcher({
      clock: operatorClock,
      notifierFor: () => broken,
      fallback: broken,
    });
    const report = await dispatcher.dispatch([delivery('a')]);
    expect(broken.sent).toHaveLength(1);
    expect(report.problems.map((p) => p.kind)).toEqual(['permanent']);
  });

  describe('with deduplication', () => {
    it('posts a delivery seen twice only once, even across dispatches', async () => {
      // Prepare
      const alerts = new ScriptedNotifier('alerts');
      const store = new MemoryStateStore();
      const dispatcher = new NotificationDispatcher({
        clock: operatorClock,
        notifierFor: () => alerts,
        dedupe: { store, clock: () => NOW },
      });

      // Act
      const first = await dispatcher.dispatch([
        delivery('a', 'alerts', 'expiry:AB:3d'),
        delivery('a again', 'alerts', 'expiry:AB:3d'),
      ]);
      const second = await dispatcher.dispatch([delivery('a', 'alerts', 'expiry:AB:3d')]);

      // Assess
      expect(alerts.sent).toHaveLength(1);
      expect(first.deliveries.map((d) => d.status)).toEqual(['sent', 'duplicate']);
      expect(second.deliveries.map((d) => d.status)).toEqual(['duplicate']);
      expect(await store.get(NOTIFICATIONS_COLLECTION, 'alerts:expiry:AB:3d', NOW)).toBeDefined();
    });

    it('posts the same key to each channel it is routed to', async () => {
      const alerts = new ScriptedNotifier('alerts');
      const dispatcher = new NotificationDispatcher({
        clock: operatorClock,
        notifierFor: () => alerts,
        dedupe: { store: new MemoryStateStore(), clock: () => NOW },
      });
      const report = await dispatcher.dispatch([delivery('a', 'one', 'k'), delivery('a', 'two', 'k')]);
      expect(report.sent).toBe(2);
    });

    it('releases the claim of a failed delivery so that a retry posts it', async () => {
      // Prepare
      const alerts = new ScriptedNotifier('alerts', [UNAVAILABLE]);
      const dispatcher = new NotificationDispatcher({
        clock: operatorClock,
        notifierFor: () => alerts,
        dedupe: { store: new MemoryStateStore(), clock: () => NOW },
      });

      // Act
      const first = await dispatcher.dispatch([delivery('a', 'alerts', 'k')]);
      const retry = await dispatcher.dispatch(first.retryable);

      // Assess
      expect(retry.deliveries.map((d) => d.status)).toEqual(['sent']);
      expect(alerts.sent).toHaveLength(2);
    });

    it('sends anyway when the deduplication store fails, and says so', async () => {
      const alerts = new ScriptedNotifier('alerts');
      const store = new MemoryStateStore();
      store.put = async () => {
        throw new Error('table unavailable');
      };
      const dispatcher = new NotificationDispatcher({
        clock: operatorClock,
        notifierFor: () => alerts,
        dedupe: { store, clock: () => NOW },
      });
      const report = await dispatcher.dispatch([delivery('a', 'alerts', 'k')]);
      expect(report.sent).toBe(1);
      expect(report.problems).toEqual([
        expect.objectContaining({
          kind: 'dedupe-store',
          error: expect.stringContaining('table unavailable'),
        }),
      ]);
    });
  });

  it('reports a deleted Slack channel through the operator channel over real HTTP', async () => {
    // Prepare
    const payments = await startFakeSlackServer({ fallback: { status: 404, body: 'channel_not_found' } });
    const platform = await startFakeSlackServer({ path: '/services/T0FAKE/B0PLAT/other-t0k3n' });
    const fast = { sleep: async () => {}, pacer: new WebhookPacer() };
    const notifiers: Record<string, Notifier> = {
      payments: new SlackWebhookNotifier({ webhookUrl: payments.url, name: 'payments', ...fast }),
      platform: new SlackWebhookNotifier({ webhookUrl: platform.url, name: 'platform', ...fast }),
    };
    const dispatcher = new NotificationDispatcher({
      notifierFor: (c) => notifiers[c],
      fallback: notifiers.platform,
      clock: () => NOW,
    });

    try {
      // Act
      const report = await dispatcher.dispatch([
        delivery('a', 'payments'),
        delivery('b', 'platform'),
        delivery('c', 'payments'),
      ]);

      // Assess
      expect(report.deliveries.map((d) => d.status)).toEqual(['failed', 'sent', 'skipped']);
      expect(payments.requests).toHaveLength(1);
      expect(platform.delivered().map((m) => m.text)).toEqual([
        '[warning] b',
        expect.stringContaining('Notifications to payments are failing'),
      ]);
      const operatorAlert = JSON.stringify(platform.delivered()[1]);
      expect(operatorAlert).toContain('channel_not_found');
      expect(operatorAlert).not.toContain('s3cr3t-t0k3n');
    } finally {
      await payments.close();
      await platform.close();
    }
  });
});

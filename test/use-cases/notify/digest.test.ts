import { type CertrotorConfig, validateConfig } from '../../../lambda/config/configuration';
import { type CatalogueEvent, type EventDetail, catalogue, parseDetail } from '../../../lambda/domain/events';
import type { ChatMessage, DeliveryOutcome, Notifier } from '../../../lambda/domain/ports';
import {
  DIGEST_ITEMS_COLLECTION,
  holdForDigest,
  sendDueDigests,
} from '../../../lambda/use-cases/notify/digest';
import { NotificationDispatcher } from '../../../lambda/use-cases/notify/notify';
import { buildConfig } from '../../builders/config';
import { MemoryStateStore } from '../../fakes/memory-state-store';
import { slackLimitViolations } from '../../support/slack-limits';

/** The time operator messages carry. */
const operatorClock = () => new Date('2026-02-26T09:00:00.000Z');

const DAY = 86_400_000;
/** A Tuesday, after the 08:00 Paris digest. */
const NOW = new Date('2026-03-03T09:30:00Z');

class RecordingNotifier implements Notifier {
  readonly sent: ChatMessage[] = [];
  constructor(
    readonly name: string,
    private readonly answers: DeliveryOutcome[] = [],
  ) {}

  async send(message: ChatMessage): Promise<DeliveryOutcome> {
    this.sent.push(message);
    return this.answers.shift() ?? { ok: true, status: 200, attempts: 1 };
  }
}

function digestConfig(digest: Record<string, unknown> = {}): CertrotorConfig {
  return validateConfig(
    buildConfig((c) => {
      c.notifications = {
        channels: [
          { name: 'alerts', kind: 'slack', webhook: { env: 'ALERTS_URL' }, mention: '<!subteam^S0ALERTS>' },
          { name: 'payments', kind: 'slack', webhook: { env: 'PAYMENTS_URL' } },
        ],
        defaultChannel: 'alerts',
        digest: {
          enabled: true,
          schedule: 'cron(0 8 ? * MON-FRI *)',
          timeZone: 'Europe/Paris',
          horizon: '30d',
          ...digest,
        },
      };
    }),
    'test configuration',
  );
}

function expiring(
  name: string,
  daysLeft: number,
  threshold = 14,
): Pick<CatalogueEvent, 'detailType' | 'detail'> {
  const base = catalogue['Certificate Expiring'].example;
  const detail = parseDetail('Certificate Expiring', {
    ...base,
    certificate: {
      ...base.certificate,
      name,
      notAfter: new Date(NOW.getTime() + daysLeft * DAY).toISOString(),
    },
    daysLeft: Math.floor(daysLeft),
    threshold,
    severity: 'warning',
    environments: ['prod'],
    locations: [{ environment: 'prod', location: `${name}.example.com:443` }],
    dedupeKey: `expiry:${name}:${threshold}d`,
  } satisfies Partial<EventDetail<'Certificate Expiring'>>);
  return { detailType: 'Certificate Expiring', detail } as Pick<CatalogueEvent, 'detailType' | 'detail'>;
}

function setup(config = digestConfig(), answers: DeliveryOutcome[] = []) {
  const store = new MemoryStateStore();
  const alerts = new RecordingNotifier('alerts', answers);
  const payments = new RecordingNotifier('payments');
  const notifiers = new Map<string, Notifier>([
    ['alerts', alerts],
    ['payments', payments],
  ]);
  const dispatcher = new NotificationDispatcher({
    clock: operatorClock,
    notifierFor: (name) => notifiers.get(name),
  });
  const send = (now: Date) => sendDueDigests({ store, clock: () => now, dispatcher }, config);
  return { store, alerts, payments, config, send };
}

describe('holdForDigest', () => {
  it('holds each event once per channel however often it is delivered', async () => {
    // Prepare
    const { store, config } = setup();
    const event = expiring('api', 10);

    // Act
    const first = await holdForDigest(store, [{ channel: 'alerts', event }], config, NOW);
    const again = await holdForDigest(store, [{ channel: 'alerts', event }], config, NOW);
    const elsewhere = await holdForDigest(store, [{ channel: 'payments', event }], config, NOW);

    // Assess
    expect([first, again, elsewhere]).toEqual([
      { held: 1, duplicates: 0 },
      { held: 0, duplicates: 1 },
      { held: 1, duplicates: 0 },
    ]);
  });

  it('lets held items expire after the horizon', async () => {
    // Prepare
    const { store, config } = setup();
    await holdForDigest(store, [{ channel: 'alerts', event: expiring('api', 10) }], config, NOW);

    // Act
    const within = await store.list(DIGEST_ITEMS_COLLECTION, new Date(NOW.getTime() + 29 * DAY));
    const after = await store.list(DIGEST_ITEMS_COLLECTION, new Date(NOW.getTime() + 31 * DAY));

    // Assess
    expect([within.length, after.length]).toEqual([1, 0]);
  });
});

describe('sendDueDigests', () => {
  it('gathers 200 held certificates into one message within Slack limits', async () => {
    // Prepare
    const { store, alerts, config, send } = setup();
    const held = Array.from({ length: 200 }, (_, i) => ({
      channel: 'alerts',
      event: expiring(`service-${String(i).padStart(3, '0')}`, 1 + (i % 7) + 0.5, 7),
    }));
    await holdForDigest(store, held, config, NOW);

    // Act
    const report = await send(NOW);

    // Assess
    expect(report.channels).toEqual([
      { channel: 'alerts', status: 'sent', occurrence: '2026-03-03T07:00:00.000Z', items: 200 },
      { channel: 'payments', status: 'nothing-held', occurrence: '2026-03-03T07:00:00.000Z', items: 0 },
    ]);
    expect(alerts.sent).toHaveLength(1);
    expect(alerts.sent[0]!.text).toMatch(/certrotor digest for alerts: 200 items within 30 days/);
    expect(slackLimitViolations(alerts.sent[0]!)).toEqual([]);
  });

  it('sends one digest per occurrence: a rerun sends nothing, the next occurrence sends what is new', async () => {
    // Prepare
    const { store, alerts, config, send } = setup();
    await holdForDigest(store, [{ channel: 'alerts', event: expiring('api', 10) }], config, NOW);
    await send(NOW);

    // Act
    await holdForDigest(store, [{ channel: 'alerts', event: expiring('web', 12) }], config, NOW);
    const rerun = await send(new Date(NOW.getTime() + 3_600_000));
    const nextMorning = await send(new Date(NOW.getTime() + DAY));

    // Assess
    expect(rerun.channels[0]).toMatchObject({ channel: 'alerts', status: 'already-sent', items: 1 });
    expect(nextMorning.channels[0]).toMatchObject({
      channel: 'alerts',
      status: 'sent',
      occurrence: '2026-03-04T07:00:00.000Z',
      items: 1,
    });
    expect(alerts.sent.map((m) => m.text.split(' (')[0])).toEqual([
      'certrotor digest for alerts: 1 item within 30 days',
      'certrotor digest for alerts: 1 item within 30 days',
    ]);
    expect(JSON.stringify(alerts.sent[1]!.blocks)).toContain('web');
    expect(JSON.stringify(alerts.sent[1]!.blocks)).not.toContain('api');
  });

  it('is not due before the first occurrence of the schedule', async () => {
    // Prepare: a schedule whose only year has not come
    const { store, alerts, config, send } = setup(digestConfig({ schedule: 'cron(0 8 1 1 ? 2199)' }));
    await holdForDigest(store, [{ channel: 'alerts', event: expiring('api', 10) }], config, NOW);

    // Act
    const report = await send(NOW);

    // Assess
    expect(report.channels.map((c) => c.status)).toEqual(['not-due', 'not-due']);
    expect(alerts.sent).toEqual([]);
  });

  it('lists a later threshold of the same certificate once', async () => {
    // Prepare
    const { store, alerts, config, send } = setup();
    await holdForDigest(
      store,
      [
        { channel: 'alerts', event: expiring('api', 7.5, 14) },
        { channel: 'alerts', event: expiring('api', 7.5, 7) },
      ],
      config,
      NOW,
    );

    // Act
    await send(NOW);

    // Assess
    expect(alerts.sent[0]!.text).toMatch(/^certrotor digest for alerts: 1 item within 30 days/);
  });

  it('keeps items beyond the horizon waiting until they come within it', async () => {
    // Prepare
    const { store, alerts, config, send } = setup(digestConfig({ horizon: '14d' }));
    await holdForDigest(store, [{ channel: 'alerts', event: expiring('far', 20, 30) }], config, NOW);

    // Act
    const today = await send(NOW);
    const inAWeek = await send(new Date(NOW.getTime() + 7 * DAY));

    // Assess
    expect(today.channels[0]!.status).toBe('nothing-held');
    expect(inAWeek.channels[0]!.status).toBe('sent');
    expect(alerts.sent).toHaveLength(1);
  });

  it('keeps the items and frees the occurrence when the digest could not be delivered', async () => {
    // Prepare
    const unavailable: DeliveryOutcome = { ok: false, status: 503, attempts: 5, error: 'HTTP 503' };
    const { store, alerts, config, send } = setup(digestConfig(), [unavailable]);
    await holdForDigest(store, [{ channel: 'alerts', event: expiring('api', 10) }], config, NOW);

    // Act
    const failed = await send(NOW);
    const retried = await send(new Date(NOW.getTime() + 60_000));

    // Assess
    expect(failed.channels[0]).toMatchObject({ status: 'failed', error: 'HTTP 503' });
    expect(failed.problems.map((p) => p.kind)).toEqual(['undelivered']);
    expect(retried.channels[0]).toMatchObject({ status: 'sent', items: 1 });
    expect(alerts.sent).toHaveLength(2);
  });

  it('mentions the channel group when something in the digest is within the escalation threshold', async () => {
    // Prepare: held at 10 days, sent when 2 days are left
    const { store, alerts, config, send } = setup();
    await holdForDigest(store, [{ channel: 'alerts', event: expiring('api', 2, 3) }], config, NOW);

    // Act
    await send(NOW);

    // Assess
    expect(alerts.sent[0]!.text).toMatch(/^<!subteam\^S0ALERTS> certrotor digest for alerts/);
  });

  it('does nothing when the digest is disabled', async () => {
    const { send } = setup(digestConfig({ enabled: false }));
    expect(await send(NOW)).toEqual({ channels: [], sent: 0, problems: [] });
  });
});

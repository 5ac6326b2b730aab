/**
 * recordNotifications, the one recording path of the CLI, the scan jobs and the notifier: an
 * incident's lower alerts are summarised once per channel they route to (each channel hears about
 * its own alerts), each held alert is recorded so that the same event recorded again alone (the
 * notifier receiving what the scan job already judged) is not sent after all.
 */
import { type CertrotorConfig, validateConfig } from '../../../lambda/config/configuration';
import { catalogue } from '../../../lambda/domain/events';
import type { OutgoingEvent } from '../../../lambda/domain/ports';
import { OUTBOX_COLLECTION, type OutboxItem } from '../../../lambda/use-cases/notify/outbox';
import { recordNotifications } from '../../../lambda/use-cases/notify/record';
import { buildConfig } from '../../builders/config';
import { MemoryStateStore } from '../../fakes/memory-state-store';

const NOW = new Date('2027-01-10T12:00:00Z');
const DAY = 86_400_000;

const config: CertrotorConfig = validateConfig(
  buildConfig((c) => {
    c.notifications = {
      channels: [
        { name: 'platform', kind: 'slack', webhook: { env: 'PLATFORM_URL' } },
        { name: 'payments', kind: 'slack', webhook: { env: 'PAYMENTS_URL' } },
      ],
      routes: [{ owner: 'payments-team', channel: 'payments' }],
      defaultChannel: 'platform',
    };
  }),
  'test configuration',
);

function event(detailType: 'Certificate Expired' | 'Certificate Expiring', key: string, extra: object = {}) {
  const example = catalogue[detailType].example as Record<string, unknown> & {
    certificate: Record<string, unknown>;
  };
  return {
    source: 'certrotor',
    detailType,
    time: NOW.toISOString(),
    detail: {
      ...example,
      dedupeKey: key,
      environments: ['prod'],
      locations: [{ environment: 'prod', location: `${key}.example.test:443` }],
      ...extra,
    },
  } as OutgoingEvent;
}

const lower = (key: string, owner?: string) =>
  event('Certificate Expiring', key, {
    severity: 'info',
    summary: `${key}.example.test expires in 25 days`,
    daysLeft: 25,
    threshold: 30,
    certificate: {
      ...(catalogue['Certificate Expiring'].example as { certificate: object }).certificate,
      notAfter: new Date(NOW.getTime() + 25 * DAY).toISOString(),
    },
    ...(owner ? { owner } : { owner: undefined }),
  });

describe('recording notifications during an incident', () => {
  it('summarises the held alerts once per channel they route to, and sends each channel only its own', async () => {
    // Prepare
    const store = new MemoryStateStore();
    const batch = [
      event('Certificate Expired', 'expired-a', { owner: undefined }),
      event('Certificate Expired', 'expired-b', { owner: undefined }),
      lower('later-payments', 'payments-team'),
      lower('later-platform'),
    ];

    // Act
    const report = await recordNotifications({ store, config, silences: [], now: NOW }, batch);

    // Assess
    const items = (await store.list<OutboxItem>(OUTBOX_COLLECTION, NOW)).map((i) => i.value);
    const summaries = items.filter((i) => i.key.startsWith('inhibited:'));
    expect(summaries.map((s) => s.channel).sort()).toEqual(['payments', 'platform']);
    const summaryOf = (channel: string) =>
      JSON.stringify(summaries.find((s) => s.channel === channel)!.message);
    expect(summaryOf('payments')).toContain('later-payments');
    expect(summaryOf('payments')).not.toContain('later-platform');
    expect(summaryOf('platform')).toContain('later-platform');
    expect(
      items
        .filter((i) => i.status === 'inhibited')
        .map((i) => `${i.channel}:${i.key}`)
        .sort(),
    ).toEqual(['payments:later-payments', 'platform:later-platform']);
    expect(report.send.map((d) => d.dedupeKey).sort()).toEqual(['expired-a', 'expired-b']);
    expect(report).toMatchObject({ inhibited: 2, summaries: 2 });
  });

  it('does not send a held alert when the same event is recorded again alone (the notifier receiving it from the bus)', async () => {
    // Prepare
    const store = new MemoryStateStore();
    const held = lower('later-payments', 'payments-team');
    await recordNotifications({ store, config, silences: [], now: NOW }, [
      event('Certificate Expired', 'expired-a', { owner: undefined }),
      event('Certificate Expired', 'expired-b', { owner: undefined }),
      held,
    ]);

    // Act
    const again = await recordNotifications({ store, config, silences: [], now: NOW }, [held]);

    // Assess
    expect(again).toMatchObject({ send: [], inhibited: 1, recorded: 0 });
    const pending = (await store.list<OutboxItem>(OUTBOX_COLLECTION, NOW)).filter(
      (i) => i.value.status === 'pending' && i.value.key === 'later-payments',
    );
    expect(pending).toEqual([]);
  });
});

import { shortFingerprint } from '../../../lambda/domain/certificate';
import {
  type CatalogueEvent,
  DETAIL_TYPES,
  type DetailTypeName,
  type EventDetail,
  catalogue,
  parseDetail,
  slugOf,
} from '../../../lambda/domain/events';
import {
  type DigestItem,
  buildDigest,
  digestItemFromEvent,
} from '../../../lambda/domain/notifications/digest-message';
import { FORMATTED_DETAIL_TYPES } from '../../../lambda/domain/notifications/event-parts';
import { buildDeliveryProblemMessage } from '../../../lambda/domain/notifications/delivery-problem-message';
import { buildSlackMessage } from '../../../lambda/domain/notifications/event-message';
import {
  describeTimeLeft,
  enforceLimits,
  escapeText,
  summariseList,
} from '../../../lambda/domain/notifications/slack-blocks';
import { messageText, slackLimitViolations } from '../../support/slack-limits';

const NOW = new Date('2026-03-10T12:00:00Z');
const DAY = 86_400_000;
const RUNBOOKS = 'https://runbooks.example.com/certrotor';
const MENTION = '<!subteam^S0PLATFORM>';

/** The catalogue's example of a type, without its own runbook link so that the configured base applies. */
function example<T extends DetailTypeName>(
  type: T,
  overrides: Partial<EventDetail<T>> = {},
): Pick<CatalogueEvent, 'detailType' | 'detail'> {
  const { runbookUrl: _ignored, ...detail } = catalogue[type].example as EventDetail<T> & {
    runbookUrl?: string;
  };
  return { detailType: type, detail: parseDetail(type, { ...detail, ...overrides }) } as Pick<
    CatalogueEvent,
    'detailType' | 'detail'
  >;
}

function build(event: Pick<CatalogueEvent, 'detailType' | 'detail'>, now = NOW) {
  return buildSlackMessage(event, { now, runbookBaseUrl: RUNBOOKS, ownerMention: MENTION });
}

/** The names a reader looks for: the certificate, rotation, upstream, endpoint, channel or job. */
function namesOf(detail: Record<string, unknown>): string[] {
  const d = detail as {
    certificate?: { name?: string; subject: string; fingerprintSha256: string };
    rotation?: { name: string };
    upstream?: { name: string };
    endpoint?: { host: string; port: number };
    channel?: string;
    schedule?: string;
  };
  const names: string[] = [];
  if (d.certificate)
    names.push(
      d.certificate.name ?? d.certificate.subject,
      shortFingerprint(d.certificate.fingerprintSha256),
    );
  if (d.rotation) names.push(d.rotation.name);
  if (d.upstream) names.push(d.upstream.name);
  if (d.endpoint) names.push(`${d.endpoint.host}:${d.endpoint.port}`);
  if (d.channel) names.push(d.channel);
  if (d.schedule) names.push(d.schedule);
  return names;
}

function placesOf(detail: Record<string, unknown>): string[] {
  const d = detail as {
    locations?: { location: string }[];
    drifts?: { endpoint: string }[];
    failedHosts?: { target: string }[];
    consumersNotReady?: { name: string }[];
    consumers?: { name: string }[];
    consumersAffected?: { name: string }[];
  };
  return [
    ...(d.locations ?? []).map((l) => l.location),
    ...(d.drifts ?? []).map((x) => x.endpoint),
    ...(d.failedHosts ?? []).map((h) => h.target),
    ...(d.consumersNotReady ?? []).map((c) => c.name),
    ...(d.consumers ?? []).map((c) => c.name),
    ...(d.consumersAffected ?? []).map((c) => c.name),
  ];
}

describe('buildSlackMessage', () => {
  it('formats every detail type in the catalogue', () => {
    expect(FORMATTED_DETAIL_TYPES).toEqual(DETAIL_TYPES);
  });

  describe.each(DETAIL_TYPES.map((type) => [type]))('for %s', (type) => {
    const event = example(type);
    const message = build(event);
    const text = messageText(message);
    const detail = event.detail as Record<string, unknown> & { environments: string[]; owner?: string };

    it('stays within Slack limits', () => {
      expect(slackLimitViolations(message)).toEqual([]);
    });

    it('opens with a header and carries fallback text for notifications', () => {
      expect((message.blocks[0] as { type: string }).type).toBe('header');
      expect(message.text).toContain(`[${detail.severity as string}]`);
    });

    it('names what it is about', () => {
      for (const name of namesOf(detail)) expect(text).toContain(name);
    });

    it('names every environment and place affected', () => {
      for (const environment of detail.environments) expect(text).toContain(environment);
      for (const place of placesOf(detail)) expect(text).toContain(place);
    });

    it('names the owner', () => {
      expect(text).toContain(detail.owner ?? 'no owner configured');
    });

    it('says what to do and links the runbook for this detail type', () => {
      expect(text).toMatch(/What to do\*\n\S/);
      expect(text).toContain(`${RUNBOOKS}/${slugOf(type)}`);
      expect(message.blocks.some((b) => (b as { type: string }).type === 'actions')).toBe(true);
    });
  });

  it('shows days left and the expiry time of an expiring certificate', () => {
    // Prepare
    const event = example('Certificate Expiring', {
      certificate: {
        ...catalogue['Certificate Expiring'].example.certificate,
        notAfter: new Date(NOW.getTime() + 13.5 * DAY).toISOString(),
      },
    });

    // Act
    const text = messageText(build(event));

    // Assess
    expect(text).toContain('13 days left');
    expect(text).toContain('2026-03-24 00:00 UTC');
  });

  it('counts hours once less than two days are left', () => {
    // Prepare
    const notAfter = new Date(NOW.getTime() + 30 * 3_600_000).toISOString();
    const event = example('Certificate Expiring', {
      certificate: { ...catalogue['Certificate Expiring'].example.certificate, notAfter },
      threshold: 3,
      daysLeft: 1,
    });

    // Act
    const text = messageText(build(event));

    // Assess
    expect(text).toContain('30 hours left');
  });

  it.each([
    ['does not mention the owner at the 14-day threshold', 13, 14, false],
    ['does not mention the owner at the 7-day threshold', 6.5, 7, false],
    ['mentions the owner group at the 3-day threshold', 2.5, 3, true],
    ['mentions the owner group at the last day', 0.2, 1, true],
  ])('%s', (_name, daysLeft, threshold, mentioned) => {
    // Prepare
    const notAfter = new Date(NOW.getTime() + daysLeft * DAY).toISOString();
    const event = example('Certificate Expiring', {
      certificate: { ...catalogue['Certificate Expiring'].example.certificate, notAfter },
      threshold,
      daysLeft: Math.floor(daysLeft),
      severity: 'warning',
    });

    // Act
    const message = build(event);

    // Assess
    expect(message.text.includes(MENTION)).toBe(mentioned);
    expect(messageText(message).includes('*Escalated*')).toBe(mentioned);
  });

  it('escalates an expired certificate and a failed rollback regardless of time', () => {
    const expired = build(example('Certificate Expired'), new Date('2026-03-15T12:00:00Z'));
    const unverified = build(
      example('Rotation Rolled Back', { rollbackVerified: false, severity: 'warning' }),
      new Date('2026-01-01T00:00:00Z'),
    );
    expect(expired.text).toContain(MENTION);
    expect(messageText(expired)).toContain('expired 24 hours ago');
    expect(unverified.text).toContain(MENTION);
    expect(messageText(unverified)).toContain('NOT verified');
  });

  it('does not escalate a routine rotation near expiry', () => {
    const message = build(example('Rotation Started'), new Date('2026-03-13T12:00:00Z'));
    expect(message.text).not.toContain(MENTION);
  });

  it('escalates with a configurable threshold', () => {
    const event = example('Certificate Expiring', { severity: 'warning' });
    const at = new Date('2026-03-08T12:00:00Z'); // six days before notAfter
    expect(buildSlackMessage(event, { now: at, ownerMention: MENTION }).text).not.toContain(MENTION);
    expect(buildSlackMessage(event, { now: at, ownerMention: MENTION, escalateAtDays: 7 }).text).toContain(
      MENTION,
    );
  });

  it('takes the owner from configuration when the event names none', () => {
    const { owner: _owner, ...detail } = example('Renewal Due').detail as EventDetail<'Renewal Due'>;
    const event = { detailType: 'Renewal Due', detail } as Pick<CatalogueEvent, 'detailType' | 'detail'>;
    expect(messageText(buildSlackMessage(event, { now: NOW, owner: 'team-payments' }))).toContain(
      'team-payments',
    );
    expect(messageText(buildSlackMessage(event, { now: NOW }))).toContain('no owner configured');
  });

  it('prefers the runbook link the event carries', () => {
    const event = example('Certificate Expiring', { runbookUrl: 'https://wiki.example.com/tls/api-public' });
    const text = messageText(build(event));
    expect(text).toContain('https://wiki.example.com/tls/api-public');
    expect(text).not.toContain(`${RUNBOOKS}/certificate-expiring`);
  });

  it('says so when no runbook is configured', () => {
    const message = buildSlackMessage(example('Scan Missed'), { now: NOW });
    expect(messageText(message)).toContain('No runbook configured');
  });

  it('escapes text that would otherwise be read as Slack markup', () => {
    // Prepare
    const event = example('Rotation Failed', { error: 'reload said <!channel> & <script>' });

    // Act
    const text = messageText(build(event));

    // Assess
    expect(text).toContain('reload said &lt;!channel&gt; &amp; &lt;script&gt;');
    expect(text).not.toContain('<!channel>');
  });

  it.each([
    ['every place an expiring certificate is seen', 'Certificate Expiring', 'locations'],
    ['every failed host of a rotation', 'Rotation Failed', 'failedHosts'],
    ['every drifting endpoint', 'Endpoint Drift Detected', 'drifts'],
    ['every consumer not ready', 'Consumers Not Ready', 'consumersNotReady'],
    ['every host restored by a rollback', 'Rotation Rolled Back', 'restoredHosts'],
    ['every host verified by a rotation', 'Rotation Succeeded', 'verifiedHosts'],
  ] as const)('summarises the longest list of %s within limits', (_name, type, key) => {
    // Prepare: the schema's maximum of 1000 entries, each as long as realistic
    const template = (catalogue[type].example as unknown as Record<string, Record<string, unknown>[]>)[
      key
    ]![0]!;
    const entries = Array.from({ length: 1000 }, (_, i) => {
      const entry: Record<string, unknown> = { ...template };
      for (const field of ['location', 'target', 'endpoint', 'name']) {
        if (typeof entry[field] === 'string')
          entry[field] = `${field}-${i}.${'very-long-segment.'.repeat(12)}example.internal`;
      }
      if (typeof entry.reason === 'string' && entry.reason.includes(' '))
        entry.reason = `failed: ${'connection reset by peer; '.repeat(30)}`;
      return entry;
    });
    const environments = Array.from({ length: 40 }, (_, i) => `environment-${i}-eu-west-1`);
    const event = example(type, { [key]: entries, environments } as never);

    // Act
    const message = build(event);
    const text = messageText(message);

    // Assess
    expect(slackLimitViolations(message)).toEqual([]);
    expect(text).toMatch(/…and \d+ more/);
    expect(text).toContain('(1000)');
    expect(text).toContain('-0.very-long-segment');
  });

  it('keeps a header within 150 characters for a very long certificate name', () => {
    const name = `svc-${'x'.repeat(190)}`;
    const event = example('Renewal Due', { name });
    const header = (build(event).blocks[0] as { text: { text: string } }).text.text;
    expect(header.length).toBeLessThanOrEqual(150);
    expect(header.endsWith('…')).toBe(true);
  });
});

describe('buildDigest', () => {
  const owners = ['platform', 'payments', 'search', 'identity', 'data'];

  function certificates(count: number, spreadDays: number): DigestItem[] {
    return Array.from({ length: count }, (_, i) => ({
      title: `service-${String(i).padStart(3, '0')}.internal.example.com`,
      kind: 'Certificate Expiring',
      expiresAt: new Date(NOW.getTime() + ((i % 50) / 50) * spreadDays * DAY + 3_600_000).toISOString(),
      environments: i % 2 === 0 ? ['prod-eu', 'prod-us'] : ['staging'],
      owner: owners[i % owners.length]!,
      fingerprintSha256: 'AA:BB',
    }));
  }

  it('makes one message of 200 certificates expiring within a week, within limits', () => {
    // Act
    const message = buildDigest(certificates(200, 7), { horizon: '7d', now: NOW, channel: '#certificates' });
    const text = messageText(message);

    // Assess
    expect(slackLimitViolations(message)).toEqual([]);
    expect(message.blocks.length).toBeLessThanOrEqual(12);
    expect(message.text).toContain('200 items within 7 days');
    for (const owner of owners) expect(text).toContain(owner);
    expect(text).toMatch(/…and \d+ more/);
  });

  it('groups by time left with counts that add up to every item', () => {
    // Act
    const message = buildDigest(certificates(200, 7), {
      horizon: 7 * DAY + 3_600_000,
      now: NOW,
      channel: 'ops',
    });

    // Assess
    const counts = [
      ...message.text.matchAll(/(Within 1 day|1 to 3 days|3 to 7 days|7 to 14 days): (\d+)/g),
    ].map((m) => Number(m[2]));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(200);
    expect(message.text).toMatch(/Within 1 day: \d+ · 1 to 3 days|Within 1 day: \d+, 1 to 3 days/);
  });

  it('leaves out what expires after the horizon and lists findings without an expiry apart', () => {
    // Prepare
    const items: DigestItem[] = [
      {
        title: 'soon',
        kind: 'Certificate Expiring',
        expiresAt: new Date(NOW.getTime() + 2 * DAY).toISOString(),
        environments: ['prod'],
        owner: 'platform',
      },
      {
        title: 'later',
        kind: 'Certificate Expiring',
        expiresAt: new Date(NOW.getTime() + 40 * DAY).toISOString(),
        environments: ['prod'],
      },
      { title: 'web-7:8443', kind: 'Endpoint Problem Detected', environments: ['staging'], owner: 'search' },
    ];

    // Act
    const text = messageText(buildDigest(items, { horizon: '14d', now: NOW, channel: 'ops' }));

    // Assess
    expect(text).toContain('soon');
    expect(text).not.toContain('later');
    expect(text).toContain('Other findings');
    expect(text).toContain('web-7:8443');
    expect(text).toContain('2 items within 14 days');
  });

  it('mentions the owners of anything within the escalation threshold', () => {
    // Prepare
    const items: DigestItem[] = [
      {
        title: 'a',
        kind: 'Certificate Expiring',
        expiresAt: new Date(NOW.getTime() + 1 * DAY).toISOString(),
        environments: ['prod'],
        owner: 'payments',
      },
      {
        title: 'b',
        kind: 'Certificate Expiring',
        expiresAt: new Date(NOW.getTime() + 10 * DAY).toISOString(),
        environments: ['prod'],
        owner: 'search',
      },
    ];
    const mentions: Record<string, string> = { payments: '<!subteam^SPAY>', search: '<!subteam^SSEARCH>' };

    // Act
    const message = buildDigest(items, {
      horizon: '30d',
      now: NOW,
      channel: 'ops',
      mentionFor: (o) => mentions[o],
    });

    // Assess
    expect(message.text).toContain('<!subteam^SPAY>');
    expect(message.text).not.toContain('<!subteam^SSEARCH>');
  });

  it('says nothing needs attention when the digest is empty', () => {
    const message = buildDigest([], { horizon: '7d', now: NOW, channel: 'ops' });
    expect(messageText(message)).toContain('Nothing expires within 7 days');
    expect(slackLimitViolations(message)).toEqual([]);
  });

  it('turns every catalogue event into a digest item naming it', () => {
    for (const type of DETAIL_TYPES) {
      const event = example(type);
      const item = digestItemFromEvent(event);
      expect(item.kind).toBe(type);
      expect(
        namesOf(event.detail as Record<string, unknown>).some(
          (n) => item.title.includes(n) || n.includes(item.title),
        ),
      ).toBe(true);
      expect(item.environments).toEqual(event.detail.environments);
    }
  });
});

describe('buildDeliveryProblemMessage', () => {
  it('names the channel, Slack’s reason and what was not delivered', () => {
    // Act
    const message = buildDeliveryProblemMessage({
      channel: 'payments-alerts',
      error: 'slack webhook https://hooks.slack.com/…: HTTP 404 channel_not_found',
      status: 404,
      undelivered: ['[warning] Certificate expiring: api-public', '[critical] Certificate EXPIRED: billing'],
      now: NOW,
      runbookBaseUrl: RUNBOOKS,
    });
    const text = messageText(message);

    // Assess
    expect(text).toContain('payments-alerts');
    expect(text).toContain('channel_not_found');
    expect(text).toContain('Certificate expiring: api-public');
    expect(text).toContain(`${RUNBOOKS}/notification-delivery-failed`);
    expect(slackLimitViolations(message)).toEqual([]);
  });
});

describe('text helpers', () => {
  it.each([
    [30 * DAY, '30 days left'],
    [2 * DAY, '2 days left'],
    [47 * 3_600_000, '47 hours left'],
    [3_600_000, '1 hour left'],
    [59 * 60_000, '59 minutes left'],
    [-3 * 3_600_000, 'expired 3 hours ago'],
    [-10 * DAY, 'expired 10 days ago'],
  ])('describes %i ms as %s', (ms, expected) => {
    expect(describeTimeLeft(ms)).toBe(expected);
  });

  it('summarises a list that does not fit with a count of what was left out', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `• item ${i}`);
    const out = summariseList(lines, 100);
    expect(out.length).toBeLessThanOrEqual(100);
    const shown = out.split('\n').filter((l) => l.startsWith('•')).length;
    expect(out.endsWith(`…and ${100 - shown} more`)).toBe(true);
  });

  it('keeps a list that fits as it is', () => {
    expect(summariseList(['a', 'b'], 100)).toBe('a\nb');
    expect(summariseList(['a', 'b', 'c'], 100, 2)).toBe('a\nb\n…and 1 more');
  });

  it('cuts any message to 50 blocks, saying how many were dropped', () => {
    const blocks = Array.from({ length: 60 }, (_, i) => ({
      type: 'section',
      text: { type: 'mrkdwn', text: `b${i}` },
    }));
    const out = enforceLimits({ text: 'x', blocks });
    expect(out.blocks).toHaveLength(50);
    expect(JSON.stringify(out.blocks[49])).toContain('…and 11 more blocks not shown');
  });

  it('escapes Slack control characters', () => {
    expect(escapeText('a < b & c > d')).toBe('a &lt; b &amp; c &gt; d');
  });
});

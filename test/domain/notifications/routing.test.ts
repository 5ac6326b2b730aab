import { type CertrotorConfigInput, validateConfig } from '../../../lambda/config/configuration';
import {
  type CatalogueEvent,
  type DetailTypeName,
  type EventDetail,
  catalogue,
  parseDetail,
} from '../../../lambda/domain/events';
import {
  alertSubjectOfEvent,
  heldForDigest,
  operatorChannel,
  planEventNotifications,
  resolveOwner,
  routeEvent,
} from '../../../lambda/domain/notifications/routing';
import { mentionThresholdMs } from '../../../lambda/domain/notifications/event-message';
import { createSilence } from '../../../lambda/domain/silences';
import { messageText } from '../../support/slack-limits';

const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;

type Notifications = NonNullable<CertrotorConfigInput['notifications']>;

function config(notifications: Notifications = {}) {
  return validateConfig(
    {
      version: 1,
      environments: [{ name: 'prod-eu' }, { name: 'prod-us' }, { name: 'staging' }],
      issuers: [{ name: 'local', kind: 'local-ca' }],
      certificates: [
        {
          name: 'api-public',
          issuer: 'local',
          dnsNames: ['api.example.com'],
          owner: 'payments',
          runbookUrl: 'https://wiki.example.com/api-public',
        },
        { name: 'billing', issuer: 'local', dnsNames: ['billing.example.com'] },
      ],
      notifications: {
        channels: [
          {
            name: 'platform-alerts',
            kind: 'slack',
            webhook: { env: 'SLACK_PLATFORM' },
            mention: '<!subteam^SPLAT>',
          },
          {
            name: 'payments-alerts',
            kind: 'slack',
            webhook: { env: 'SLACK_PAYMENTS' },
            mention: '<!subteam^SPAY>',
          },
          { name: 'staging-noise', kind: 'slack', webhook: { env: 'SLACK_STAGING' } },
        ],
        defaultChannel: 'platform-alerts',
        routes: [
          { environments: ['staging'], channel: 'staging-noise' },
          { owner: 'payments', channel: 'payments-alerts' },
        ],
        runbookBaseUrl: 'https://runbooks.example.com/certrotor',
        ...notifications,
      },
    },
    'test config',
  );
}

/** A catalogue example without its owner and runbook, so that configuration decides. */
function event<T extends DetailTypeName>(
  type: T,
  overrides: Partial<EventDetail<T>> = {},
): Pick<CatalogueEvent, 'detailType' | 'detail'> {
  const {
    owner: _o,
    runbookUrl: _r,
    ...detail
  } = catalogue[type].example as EventDetail<T> & { owner?: string; runbookUrl?: string };
  return { detailType: type, detail: parseDetail(type, { ...detail, ...overrides }) } as Pick<
    CatalogueEvent,
    'detailType' | 'detail'
  >;
}

function expiring(name: string, daysLeft: number, environments = ['prod-eu']) {
  const base = catalogue['Certificate Expiring'].example;
  return event('Certificate Expiring', {
    certificate: {
      ...base.certificate,
      name,
      notAfter: new Date(NOW.getTime() + daysLeft * DAY).toISOString(),
    },
    daysLeft: Math.floor(daysLeft),
    threshold: daysLeft <= 3 ? 3 : 14,
    severity: daysLeft <= 3 ? 'critical' : 'warning',
    environments,
    locations: environments.map((environment) => ({ environment, location: `${name}.example.com:443` })),
    dedupeKey: `expiry:${name}:${daysLeft}`,
  });
}

describe('routeEvent', () => {
  it.each([
    [
      'A certificate owned by payments goes to the payments channel',
      expiring('api-public', 10),
      'payments-alerts',
      'routes[1]',
    ],
    [
      'Anything in staging goes to the staging channel first',
      expiring('api-public', 10, ['staging']),
      'staging-noise',
      'routes[0]',
    ],
    [
      'A certificate without a routed owner goes to the default channel',
      expiring('billing', 10),
      'platform-alerts',
      'defaultChannel',
    ],
  ])('%s', (_name, ev, channel, reason) => {
    expect(routeEvent(ev, config())).toMatchObject({ channel, reason });
  });

  it('uses the route mention, then the channel mention, then the escalation default', () => {
    expect(routeEvent(expiring('api-public', 10), config()).mention).toBe('<!subteam^SPAY>');
    expect(routeEvent(expiring('api-public', 10, ['staging']), config()).mention).toBe('<!here>');
    const routed = config({
      routes: [{ owner: 'payments', channel: 'payments-alerts', mention: '<@UONCALL>' }],
    });
    expect(routeEvent(expiring('api-public', 10), routed).mention).toBe('<@UONCALL>');
  });

  it('matches routes by detail type', () => {
    const byType = config({ routes: [{ detailTypes: ['Scan Missed'], channel: 'payments-alerts' }] });
    expect(routeEvent(event('Scan Missed'), byType).channel).toBe('payments-alerts');
    expect(routeEvent(event('Rotation Started'), byType).channel).toBe('platform-alerts');
  });

  it('uses the only channel when no default is configured, and reports no channel when there is none', () => {
    const single = config({
      channels: [{ name: 'only', kind: 'slack', webhook: { env: 'SLACK_ONLY' } }],
      defaultChannel: undefined,
      routes: [],
    });
    expect(routeEvent(expiring('billing', 10), single)).toMatchObject({
      channel: 'only',
      reason: 'only channel',
    });
    const none = config({ channels: [], defaultChannel: undefined, routes: [] });
    expect(routeEvent(expiring('billing', 10), none)).toEqual({ reason: 'no channel' });
  });
});

describe('resolveOwner', () => {
  it('prefers the event’s owner, then the configured certificate owner', () => {
    expect(resolveOwner(event('Certificate Expiring', { owner: 'search' }), config())).toBe('search');
    expect(resolveOwner(expiring('api-public', 10), config())).toBe('payments');
    expect(resolveOwner(expiring('billing', 10), config())).toBeUndefined();
  });
});

describe('operatorChannel', () => {
  it('is the operator channel, else the default channel', () => {
    expect(operatorChannel(config().notifications)).toBe('platform-alerts');
    expect(operatorChannel(config({ operatorChannel: 'staging-noise' }).notifications)).toBe('staging-noise');
  });
});

describe('planEventNotifications', () => {
  it('builds one message per event for its channel, with owner, mention and configured runbook', () => {
    // Act
    const plan = planEventNotifications(
      [expiring('api-public', 2), expiring('billing', 10)],
      config(),
      [],
      NOW,
    );

    // Assess
    expect(plan.send.map((p) => [p.channel, p.dedupeKey])).toEqual([
      ['payments-alerts', 'expiry:api-public:2'],
      ['platform-alerts', 'expiry:billing:10'],
    ]);
    const first = messageText(plan.send[0]!.message);
    expect(first).toContain('<!subteam^SPAY>');
    expect(first).toContain('payments');
    expect(first).toContain('https://wiki.example.com/api-public');
    expect(messageText(plan.send[1]!.message)).toContain(
      'https://runbooks.example.com/certrotor/certificate-expiring',
    );
  });

  it('inhibits a silenced scope but lets through what expires inside the silence window', () => {
    // Prepare
    const silence = createSilence(
      {
        scope: 'environment=prod-eu',
        until: new Date(NOW.getTime() + 5 * DAY).toISOString(),
        reason: 'INC-7',
      },
      NOW,
    );

    // Act
    const plan = planEventNotifications(
      [expiring('api-public', 2), expiring('billing', 10)],
      config(),
      [silence],
      NOW,
    );

    // Assess
    expect(plan.send.map((p) => p.dedupeKey)).toEqual(['expiry:api-public:2']);
    expect(plan.inhibited.map((i) => i.decision.reason)).toEqual([expect.stringContaining('INC-7')]);
  });

  it('never silences problems with certrotor itself', () => {
    const silence = createSilence(
      { scope: 'environment=*', until: new Date(NOW.getTime() + DAY).toISOString(), reason: 'maintenance' },
      NOW,
    );
    const plan = planEventNotifications(
      [event('Scan Missed', { environments: ['prod-eu'] })],
      config(),
      [silence],
      NOW,
    );
    expect(plan.send).toHaveLength(1);
  });

  it('holds routine expiry alerts for the digest but sends escalations at once', () => {
    // Prepare
    const digesting = config({ digest: { enabled: true } });

    // Act
    const plan = planEventNotifications(
      [expiring('billing', 10), expiring('billing', 2)],
      digesting,
      [],
      NOW,
    );

    // Assess
    expect(plan.held.map((h) => h.channel)).toEqual(['platform-alerts']);
    expect(plan.send.map((p) => p.dedupeKey)).toEqual(['expiry:billing:2']);
  });

  it('scales the owner mention with the certificate’s lifetime: 2 days left of 90 is routine, of 365 it is not', () => {
    // Prepare: warnings 2 days before expiry; the mention is at 3 days, scaled by lifetime (90/180).
    const digesting = config({ digest: { enabled: true } });
    const warning = (days: number) => {
      const notAfter = new Date(NOW.getTime() + 2 * DAY);
      return event('Certificate Expiring', {
        certificate: {
          ...catalogue['Certificate Expiring'].example.certificate,
          name: 'billing',
          notAfter: notAfter.toISOString(),
          notBefore: new Date(notAfter.getTime() - days * DAY).toISOString(),
        },
        daysLeft: 2,
        threshold: 7,
        severity: 'warning',
        environments: ['prod-eu'],
        locations: [{ environment: 'prod-eu', location: 'billing.example.com:443' }],
        dedupeKey: `expiry:billing:${days}`,
      });
    };

    // Act + Assess
    expect(heldForDigest(warning(90), 'platform-alerts', digesting, NOW)).toBe(true);
    expect(heldForDigest(warning(365), 'platform-alerts', digesting, NOW)).toBe(false);
    expect(mentionThresholdMs(warning(90).detail, 3, 'lifetime')).toBe(1.5 * DAY);
    expect(mentionThresholdMs(warning(90).detail, 3, 'absolute')).toBe(3 * DAY);
    expect(mentionThresholdMs(event('Consumers Not Ready').detail, 3, 'lifetime')).toBe(3 * DAY);
  });

  it('holds nothing for channels the digest does not cover', () => {
    const digesting = config({ digest: { enabled: true, channels: ['payments-alerts'] } });
    expect(heldForDigest(expiring('billing', 10), 'platform-alerts', digesting, NOW)).toBe(false);
    expect(heldForDigest(expiring('api-public', 10), 'payments-alerts', digesting, NOW)).toBe(true);
  });

  it('reports events no channel takes', () => {
    const none = config({ channels: [], defaultChannel: undefined, routes: [] });
    const plan = planEventNotifications([expiring('billing', 10)], none, [], NOW);
    expect(plan.unrouted).toHaveLength(1);
    expect(plan.send).toHaveLength(0);
  });
});

describe('alertSubjectOfEvent', () => {
  it('takes names, environments, owner, upstream and the deadline from an event', () => {
    expect(alertSubjectOfEvent(event('Consumers Not Ready'), 'payments')).toEqual({
      certificates: [],
      environments: ['prod-us'],
      owners: ['payments'],
      upstream: 'payments-gateway',
      expiresAt: catalogue['Consumers Not Ready'].example.announcement.deadline,
    });
    expect(alertSubjectOfEvent(expiring('api-public', 3)).certificates).toEqual([
      'api-public',
      'api.example.com',
    ]);
  });
});

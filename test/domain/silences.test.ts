import {
  type AlertSubject,
  type Silence,
  alertSubjectOfFinding,
  createSilence,
  globMatcher,
  isInhibited,
  liveSilences,
  parseSilenceScope,
  silenceId,
  silencesFromConfig,
} from '../../lambda/domain/silences';
import type { Finding } from '../../lambda/domain/findings';

const NOW = new Date('2026-03-10T12:00:00Z');
const DAY = 86_400_000;

function at(offsetDays: number): string {
  return new Date(NOW.getTime() + offsetDays * DAY).toISOString();
}

/** An incident silence from yesterday to two days from now unless told otherwise. */
function silence(scope: string, window: { from?: number; until?: number } = {}): Silence {
  return createSilence(
    { scope, from: at(window.from ?? -1), until: at(window.until ?? 2), reason: 'INC-42 database failover' },
    NOW,
  );
}

function subject(overrides: Partial<AlertSubject> = {}): AlertSubject {
  return {
    certificates: ['api-public', 'api.example.com'],
    environments: ['prod'],
    owners: ['team-payments'],
    expiresAt: at(20),
    ...overrides,
  };
}

describe('isInhibited', () => {
  it.each<[string, AlertSubject, Silence[], boolean]>([
    ['An alert with no silences gets through', subject(), [], false],
    ['A silence on the certificate name inhibits it', subject(), [silence('certificate=api-public')], true],
    ['A glob on the certificate name inhibits it', subject(), [silence('certificate=api-*')], true],
    [
      'The subject common name matches a certificate scope',
      subject(),
      [silence('certificate=*.example.com')],
      true,
    ],
    ['Certificate patterns are case-insensitive', subject(), [silence('certificate=API-PUBLIC')], true],
    [
      'A silence on another certificate does not inhibit it',
      subject(),
      [silence('certificate=billing')],
      false,
    ],
    ['A silence on its environment inhibits it', subject(), [silence('environment=prod')], true],
    ['A silence on its owner inhibits it', subject(), [silence('owner=team-payments')], true],
    ['A silence on another owner does not inhibit it', subject(), [silence('owner=team-search')], false],
    [
      'A silence on its upstream inhibits it',
      subject({ upstream: 'stripe-api' }),
      [silence('upstream=stripe*')],
      true,
    ],
    [
      'An upstream silence does not inhibit an alert about no upstream',
      subject(),
      [silence('upstream=*')],
      false,
    ],
    [
      'A silence on one of two environments leaves the other alerting',
      subject({ environments: ['staging', 'prod'] }),
      [silence('environment=staging')],
      false,
    ],
    [
      'Two silences together covering every environment inhibit it',
      subject({ environments: ['staging', 'prod'] }),
      [silence('environment=staging'), silence('environment=prod')],
      true,
    ],
    [
      'A certificate silence narrowed to staging does not inhibit prod',
      subject({ environments: ['prod'] }),
      [silence('certificate=api-public,environment=staging')],
      false,
    ],
    [
      'A certificate silence narrowed to staging inhibits staging',
      subject({ environments: ['staging'] }),
      [silence('certificate=api-public,environment=staging')],
      true,
    ],
    [
      'A silence that has not started yet does not inhibit',
      subject(),
      [silence('environment=prod', { from: 1, until: 3 })],
      false,
    ],
    [
      'A silence that has ended does not inhibit',
      subject(),
      [silence('environment=prod', { from: -3, until: -1 })],
      false,
    ],
    [
      'Something that expires inside the silence window gets through',
      subject({ expiresAt: at(1) }),
      [silence('environment=prod')],
      false,
    ],
    [
      'An upstream deadline inside the silence window gets through',
      subject({ upstream: 'stripe-api', expiresAt: at(0.5) }),
      [silence('upstream=stripe-api')],
      false,
    ],
    [
      'Something that expires just after the silence window is inhibited',
      subject({ expiresAt: at(2.01) }),
      [silence('environment=prod')],
      true,
    ],
    [
      'Something that expired before the silence began stays inhibited',
      subject({ expiresAt: at(-5) }),
      [silence('environment=prod')],
      true,
    ],
    [
      'A second, longer silence still inhibits what expires inside the first one only',
      subject({ expiresAt: at(1) }),
      [silence('environment=prod'), silence('owner=team-payments', { from: -10, until: 0.5 })],
      true,
    ],
    [
      'An alert without an expiry follows the silence',
      subject({ expiresAt: undefined }),
      [silence('environment=prod')],
      true,
    ],
    [
      'An alert about no environment is inhibited by a matching non-environment silence',
      subject({ environments: [] }),
      [silence('owner=team-payments')],
      true,
    ],
  ])('%s', (_name, alert, silences, inhibited) => {
    // Act
    const decision = isInhibited(alert, silences, NOW);

    // Assess
    expect(decision.inhibited).toBe(inhibited);
    expect(decision.reason).not.toBe('');
  });

  it('names the silences that inhibit and their reason', () => {
    // Act
    const decision = isInhibited(subject(), [silence('certificate=api-*')], NOW);

    // Assess
    expect(decision).toMatchObject({ inhibited: true });
    expect(decision.reason).toContain('certificate=api-*');
    expect(decision.reason).toContain('INC-42 database failover');
  });

  it('says which environments still alert', () => {
    // Act
    const decision = isInhibited(
      subject({ environments: ['staging', 'prod', 'prod-eu'] }),
      [silence('environment=prod*')],
      NOW,
    );

    // Assess
    expect(decision).toEqual({ inhibited: false, reason: 'not silenced in staging' });
  });

  it('reports the silences overridden because the certificate expires inside their window', () => {
    // Prepare
    const quiet = silence('environment=prod');

    // Act
    const decision = isInhibited(subject({ expiresAt: at(1) }), [quiet], NOW);

    // Assess
    expect(decision).toMatchObject({ inhibited: false, overriddenBy: [quiet] });
    expect(decision.reason).toMatch(/^expires .* inside the silence window/);
  });
});

describe('parseSilenceScope', () => {
  it('reads one or several kind=pattern conditions', () => {
    expect(parseSilenceScope('certificate=api-*, environment=prod')).toEqual([
      { kind: 'certificate', pattern: 'api-*' },
      { kind: 'environment', pattern: 'prod' },
    ]);
    expect(parseSilenceScope(['owner=team-payments', 'upstream=stripe'])).toHaveLength(2);
  });

  it.each([
    ['an unknown kind', 'host=web-1', /silence scope "host=web-1": expected certificate=PATTERN/],
    ['a missing pattern', 'owner=', /silence scope "owner=": empty pattern/],
    ['no equals sign', 'prod', /silence scope "prod": expected/],
    ['an empty scope', ' ', /silence scope: empty/],
  ])('rejects %s, naming the text', (_name, text, message) => {
    expect(() => parseSilenceScope(text)).toThrow(message);
  });
});

describe('createSilence', () => {
  it('starts now when no start is given and normalises times to UTC', () => {
    // Act
    const created = createSilence(
      { scope: 'environment=prod', until: '2026-03-11T00:00:00+02:00', reason: ' INC-1 ' },
      NOW,
    );

    // Assess
    expect(created).toMatchObject({
      from: NOW.toISOString(),
      until: '2026-03-10T22:00:00.000Z',
      reason: 'INC-1',
      scope: [{ kind: 'environment', pattern: 'prod' }],
    });
  });

  it('gives the same scope and window the same id, so silencing twice is idempotent', () => {
    const a = createSilence({ scope: 'environment=prod,owner=x', until: at(1), reason: 'a' }, NOW);
    const b = createSilence({ scope: 'owner=X,environment=prod', until: at(1), reason: 'b' }, NOW);
    expect(a.id).toBe(b.id);
    expect(silenceId(a.scope, a.from, at(2))).not.toBe(a.id);
  });

  it.each([
    ['an end before the start', { until: at(-1) }, /silence until: .* is not after from/],
    ['an unreadable end', { until: 'tomorrow' }, /silence until: "tomorrow" is not an ISO 8601 time/],
    ['an unreadable start', { from: 'now', until: at(1) }, /silence from: "now" is not an ISO 8601 time/],
    ['an empty reason', { until: at(1), reason: '  ' }, /silence reason: empty/],
  ])('rejects %s', (_name, overrides, message) => {
    expect(() =>
      createSilence({ scope: 'environment=prod', reason: 'r', ...{ until: at(1) }, ...overrides }, NOW),
    ).toThrow(message);
  });
});

describe('liveSilences', () => {
  it('keeps active and future silences and drops ended ones', () => {
    const ended = silence('environment=a', { from: -3, until: -1 });
    const active = silence('environment=b');
    const future = silence('environment=c', { from: 1, until: 2 });
    expect(liveSilences([ended, active, future], NOW)).toEqual([active, future]);
  });
});

describe('globMatcher', () => {
  it.each([
    ['*.example.com', 'api.example.com', true],
    ['*.example.com', 'example.com', false],
    ['prod-??', 'prod-eu', true],
    ['prod-??', 'prod-east', false],
    ['a.b', 'axb', false],
    ['[weird](name)', '[weird](name)', true],
  ])('%s against %s is %s', (pattern, value, expected) => {
    expect(globMatcher(pattern)(value)).toBe(expected);
  });
});

describe('alertSubjectOfFinding', () => {
  it('takes names, environments, owners and the expiry from a finding', () => {
    // Prepare
    const finding: Finding = {
      kind: 'expiring',
      severity: 'critical',
      certificate: {
        fingerprintSha256: 'AB:CD',
        subject: 'CN=api.example.com, O=Example',
        notAfter: at(2),
        name: 'api-public',
      },
      environments: ['staging', 'prod'],
      locations: [],
      daysLeft: 2,
      message: 'api-public expires in 2d',
      dedupeKey: 'expiry:ABCD:3d',
      details: {},
    };

    // Act
    const alert = alertSubjectOfFinding(finding, ['team-payments']);

    // Assess
    expect(alert).toEqual({
      certificates: ['api-public', 'api.example.com'],
      environments: ['staging', 'prod'],
      owners: ['team-payments'],
      expiresAt: at(2),
    });
  });

  it('uses an upstream deadline as the expiry', () => {
    const finding: Finding = {
      kind: 'upstream-window',
      severity: 'warning',
      environments: ['prod'],
      locations: [],
      message: 'stripe rotates',
      dedupeKey: 'upstream:stripe',
      details: { upstream: 'stripe-api', deadline: at(4) },
    };
    expect(alertSubjectOfFinding(finding)).toMatchObject({ upstream: 'stripe-api', expiresAt: at(4) });
  });
});

describe('silencesFromConfig', () => {
  it('treats a configured silence without a start as open-ended', () => {
    // Prepare
    const [quiet] = silencesFromConfig([{ scope: 'environment=prod', until: at(3), reason: 'migration' }]);

    // Act
    const alreadyExpired = isInhibited(subject({ expiresAt: at(-30) }), [quiet!], NOW);
    const expiresSoon = isInhibited(subject({ expiresAt: at(1) }), [quiet!], NOW);

    // Assess
    expect(quiet!.from).toBeUndefined();
    expect(alreadyExpired.inhibited).toBe(true);
    expect(expiresSoon.inhibited).toBe(false);
  });

  it('names the configured silence that is not valid', () => {
    expect(() =>
      silencesFromConfig([
        { scope: 'environment=prod', until: at(3), reason: 'ok' },
        { scope: 'host=x', until: at(3), reason: 'bad' },
      ]),
    ).toThrow(/^silences\[1\]: silence scope "host=x"/);
  });
});

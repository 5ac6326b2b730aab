import {
  FINDING_KINDS,
  type Finding,
  type Severity,
  certificateOf,
  groupAcrossEnvironments,
  keyFingerprint,
  maxSeverity,
} from '../../lambda/domain/findings';
import { DEFAULT_THRESHOLDS, expiryFinding } from '../../lambda/domain/thresholds';
import { DAY, NOW, at, buildFacts } from '../builders/facts';

const api = buildFacts({ notAfter: at(7 * DAY), seed: 'api' });
const web = buildFacts({ notAfter: at(7 * DAY), seed: 'web', subject: 'CN=web.example.test' });

function finding(overrides: Partial<Finding> = {}): Finding {
  return {
    kind: 'expiring',
    severity: 'warning',
    certificate: certificateOf(api, 'api'),
    environments: ['prod'],
    locations: ['acm:us-east-1'],
    daysLeft: 7,
    message: 'api expires in 7d',
    dedupeKey: 'expiry:API:7d',
    details: {},
    ...overrides,
  };
}

describe('FINDING_KINDS', () => {
  it('names every kind evaluation, events and messages rely on', () => {
    // Assess
    expect(FINDING_KINDS).toEqual(
      expect.arrayContaining([
        'expiring',
        'expired',
        'renewal-due',
        'drift',
        'not-yet-valid',
        'hostname-mismatch',
        'incomplete-chain',
        'chain-expired',
        'weak-key',
        'probe-failed',
        'upstream-window',
        'consumers-not-ready',
        'upstream-certificate-changed',
      ]),
    );
  });
});

describe('maxSeverity', () => {
  it.each<[Severity, Severity, Severity]>([
    ['info', 'warning', 'warning'],
    ['critical', 'warning', 'critical'],
    ['info', 'info', 'info'],
  ])('rates %s against %s as %s', (a, b, expected) => {
    // Act + Assess
    expect(maxSeverity(a, b)).toBe(expected);
  });
});

describe('keyFingerprint', () => {
  it('removes separators and upper-cases so keys match however a fingerprint was written', () => {
    // Act + Assess
    expect(keyFingerprint('ab:cd:0f')).toBe('ABCD0F');
  });
});

describe('certificateOf', () => {
  it('keeps what a message needs and adds the managed name when known', () => {
    // Act
    const certificate = certificateOf(api, 'api');

    // Assess
    expect(certificate).toEqual({
      fingerprintSha256: api.fingerprintSha256,
      subject: api.subject,
      serialNumber: api.serialNumber,
      notAfter: api.notAfter,
      notBefore: api.notBefore,
      name: 'api',
    });
  });

  it('leaves the name out when the certificate is not managed', () => {
    // Act + Assess
    expect(certificateOf(api)).not.toHaveProperty('name');
  });
});

describe('groupAcrossEnvironments', () => {
  it('merges the same certificate and kind found in several environments into one finding', () => {
    // Prepare
    const findings = ['prod', 'staging', 'prod-eu'].map((environment) =>
      expiryFinding(api, DEFAULT_THRESHOLDS, NOW, {
        environment,
        location: `acm:${environment}`,
        name: 'api',
      }),
    ) as Finding[];

    // Act
    const grouped = groupAcrossEnvironments(findings);

    // Assess
    expect(grouped).toHaveLength(1);
    expect(grouped[0]).toMatchObject({
      kind: 'expiring',
      environments: ['prod', 'staging', 'prod-eu'],
      locations: ['acm:prod', 'acm:staging', 'acm:prod-eu'],
      dedupeKey: findings[0]?.dedupeKey,
    });
    expect(grouped[0]).not.toHaveProperty('relatedKeys');
  });

  it.each<[string, Finding[], number]>([
    ['keeps different certificates apart', [finding(), finding({ certificate: certificateOf(web) })], 2],
    ['keeps different kinds of the same certificate apart', [finding(), finding({ kind: 'weak-key' })], 2],
    [
      'matches fingerprints regardless of case and separators',
      [
        finding(),
        finding({
          certificate: {
            ...certificateOf(api),
            fingerprintSha256: keyFingerprint(api.fingerprintSha256).toLowerCase(),
          },
        }),
      ],
      1,
    ],
    [
      'merges findings without a certificate only when their keys match',
      [
        finding({ certificate: undefined, kind: 'probe-failed', dedupeKey: 'probe-failed:a:443' }),
        finding({
          certificate: undefined,
          kind: 'probe-failed',
          dedupeKey: 'probe-failed:a:443',
          environments: ['staging'],
        }),
        finding({ certificate: undefined, kind: 'probe-failed', dedupeKey: 'probe-failed:b:443' }),
      ],
      2,
    ],
    ['returns nothing for nothing', [], 0],
  ])('%s', (_name, findings, count) => {
    // Act + Assess
    expect(groupAcrossEnvironments(findings)).toHaveLength(count);
  });

  it('keeps the highest severity, the fewest days left, and the most severe member’s message', () => {
    // Prepare
    const findings = [
      finding({ environments: ['staging'], severity: 'info', daysLeft: 20, message: 'staging message' }),
      finding({ environments: ['prod'], severity: 'critical', daysLeft: 2, message: 'prod message' }),
      finding({ environments: ['dev'], severity: 'warning', daysLeft: 9, message: 'dev message' }),
    ];

    // Act
    const [merged] = groupAcrossEnvironments(findings);

    // Assess
    expect(merged).toMatchObject({
      severity: 'critical',
      daysLeft: 2,
      message: 'prod message',
      environments: ['staging', 'prod', 'dev'],
    });
  });

  it('lists the other members’ keys so a notifier can mark every one as reported', () => {
    // Prepare: drift of the same stale certificate at two endpoints
    const findings = [
      finding({ kind: 'drift', dedupeKey: 'drift:a:443:API', environments: ['prod'] }),
      finding({ kind: 'drift', dedupeKey: 'drift:b:443:API', environments: ['staging'] }),
      finding({ kind: 'drift', dedupeKey: 'drift:a:443:API', environments: ['prod-eu'] }),
    ];

    // Act
    const [merged] = groupAcrossEnvironments(findings);

    // Assess
    expect(merged?.dedupeKey).toBe('drift:a:443:API');
    expect(merged?.relatedKeys).toEqual(['drift:b:443:API']);
  });

  it('lists each environment and location once', () => {
    // Prepare
    const findings = [finding(), finding(), finding({ environments: ['prod', 'staging'] })];

    // Act
    const [merged] = groupAcrossEnvironments(findings);

    // Assess
    expect(merged?.environments).toEqual(['prod', 'staging']);
    expect(merged?.locations).toEqual(['acm:us-east-1']);
  });

  it('keeps groups in the order of their first member', () => {
    // Prepare
    const findings = [
      finding({ certificate: certificateOf(web) }),
      finding(),
      finding({ certificate: certificateOf(web), environments: ['staging'] }),
    ];

    // Act
    const grouped = groupAcrossEnvironments(findings);

    // Assess
    expect(grouped.map((f) => f.certificate?.fingerprintSha256)).toEqual([
      web.fingerprintSha256,
      api.fingerprintSha256,
    ]);
  });

  it('leaves daysLeft out when no member has it', () => {
    // Prepare
    const findings = [
      finding({ daysLeft: undefined }),
      finding({ daysLeft: undefined, environments: ['dev'] }),
    ];

    // Act
    const [merged] = groupAcrossEnvironments(findings);

    // Assess
    expect(merged).not.toHaveProperty('daysLeft');
  });
});

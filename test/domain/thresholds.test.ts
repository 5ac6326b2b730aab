import { InvalidInputError } from '../../lambda/domain/errors';
import {
  DEFAULT_THRESHOLDS,
  type Threshold,
  alertKey,
  crossedThreshold,
  escalates,
  expiryFinding,
  expiryStanding,
  normalizeThresholds,
  thresholdDaysLeft,
  thresholdMs,
  thresholdSeverity,
} from '../../lambda/domain/thresholds';
import { DAY, HOUR, NOW, at, buildFacts } from '../builders/facts';

/** A certificate expiring at NOW; tests travel in time around it. */
const facts = buildFacts({ notAfter: NOW, lifetimeMs: 90 * DAY });

describe('crossedThreshold', () => {
  it('defaults to 30, 14, 7, 3 and 1 days and expired', () => {
    // Assess
    expect(DEFAULT_THRESHOLDS).toEqual([30, 14, 7, 3, 1, 'expired']);
  });

  it.each<[string, number, Threshold | undefined, string | undefined]>([
    ['crosses nothing 60 days before expiry', -60 * DAY, undefined, undefined],
    ['crosses nothing 30 days and one second before expiry', -30 * DAY - 1000, undefined, undefined],
    ['crosses the 30 day threshold exactly 30 days before expiry, as info', -30 * DAY, 30, 'info'],
    ['stays at the 30 day threshold 20 days before expiry', -20 * DAY, 30, 'info'],
    ['crosses the 14 day threshold 14 days before expiry, as a warning', -14 * DAY, 14, 'warning'],
    ['crosses the 7 day threshold 7 days before expiry, as a warning', -7 * DAY, 7, 'warning'],
    ['crosses the 3 day threshold 3 days before expiry, as critical', -3 * DAY, 3, 'critical'],
    ['crosses the 1 day threshold 1 day before expiry, as critical', -DAY, 1, 'critical'],
    ['stays at the 1 day threshold one hour before expiry', -HOUR, 1, 'critical'],
    ['is not yet expired at the notAfter instant itself', 0, 1, 'critical'],
    ['crosses expired one hour after expiry, as critical', HOUR, 'expired', 'critical'],
  ])('%s', (_name, offset, threshold, severity) => {
    // Act
    const crossing = crossedThreshold(facts, DEFAULT_THRESHOLDS, at(offset));

    // Assess
    expect(crossing?.threshold).toBe(threshold);
    expect(crossing?.severity).toBe(severity);
  });

  it.each<[string, readonly Threshold[], number, Threshold | undefined]>([
    ['uses configured thresholds instead of the defaults', [60, 10], -60 * DAY, 60],
    ['reports the most severe configured threshold crossed', [60, 10], -DAY, 10],
    ['accepts thresholds in any order', [1, 30, 7], -6 * DAY, 7],
    [
      'reports the smallest day threshold for an expired certificate when expired is not configured',
      [60, 10],
      HOUR,
      10,
    ],
    ['supports fractional days for short-lived certificates', [1, 0.25], -6 * HOUR, 0.25],
    ['crosses nothing with no thresholds configured', [], HOUR, undefined],
  ])('%s', (_name, thresholds, offset, expected) => {
    // Act
    const crossing = crossedThreshold(facts, thresholds, at(offset));

    // Assess
    expect(crossing?.threshold).toBe(expected);
  });

  it('reports whole days and milliseconds left with the crossing', () => {
    // Act
    const crossing = crossedThreshold(facts, DEFAULT_THRESHOLDS, at(-7 * DAY + HOUR));

    // Assess
    expect(crossing).toMatchObject({ daysLeft: 6, remainingMs: 7 * DAY - HOUR });
  });

  it('names notAfter when it is not a date', () => {
    // Act
    const act = () => crossedThreshold({ notAfter: 'later' }, DEFAULT_THRESHOLDS, NOW);

    // Assess
    expect(act).toThrow('certificate notAfter "later" is not a date');
  });
});

describe('thresholdSeverity', () => {
  it.each<[Threshold, string]>([
    [60, 'info'],
    [30, 'info'],
    [15, 'info'],
    [14, 'warning'],
    [7, 'warning'],
    [4, 'warning'],
    [3, 'critical'],
    [1, 'critical'],
    [0.25, 'critical'],
    ['expired', 'critical'],
  ])('rates the %s threshold %s', (threshold, severity) => {
    // Act + Assess
    expect(thresholdSeverity(threshold)).toBe(severity);
  });
});

describe('alertKey', () => {
  it('gives the same key on every scan while the same threshold is crossed, so an alert is sent once', () => {
    // Act
    const firstScan = crossedThreshold(facts, DEFAULT_THRESHOLDS, at(-7 * DAY));
    const nextScan = crossedThreshold(facts, DEFAULT_THRESHOLDS, at(-5 * DAY));

    // Assess
    expect(alertKey(facts.fingerprintSha256, nextScan!.threshold)).toBe(
      alertKey(facts.fingerprintSha256, firstScan!.threshold),
    );
  });

  it.each<[string, string, Threshold, string]>([
    ['keys a day threshold by fingerprint without colons and days', 'AB:CD:EF', 7, 'expiry:ABCDEF:7d'],
    ['keys expiry by fingerprint and expired', 'AB:CD:EF', 'expired', 'expiry:ABCDEF:expired'],
    ['normalises the fingerprint case', 'ab:cd:ef', 14, 'expiry:ABCDEF:14d'],
    ['keeps fractional day thresholds apart', 'AB:CD:EF', 0.25, 'expiry:ABCDEF:0.25d'],
  ])('%s', (_name, fingerprint, threshold, key) => {
    // Act + Assess
    expect(alertKey(fingerprint, threshold)).toBe(key);
  });

  it('gives a renewed certificate (a new version) a new key for the same threshold', () => {
    // Prepare
    const renewed = buildFacts({ notAfter: NOW, seed: 'renewed' });

    // Act + Assess
    expect(alertKey(renewed.fingerprintSha256, 7)).not.toBe(alertKey(facts.fingerprintSha256, 7));
  });
});

describe('escalates', () => {
  it.each<[string, Threshold | undefined, Threshold, boolean]>([
    ['escalates the first crossing', undefined, 30, true],
    ['escalates from 30 to 14 days', 30, 14, true],
    ['escalates from 1 day to expired', 1, 'expired', true],
    ['does not escalate to the same threshold', 14, 14, false],
    ['does not escalate to a less severe threshold', 7, 14, false],
    ['does not escalate from expired to a day threshold', 'expired', 1, false],
    ['does not escalate from expired to expired', 'expired', 'expired', false],
  ])('%s', (_name, previous, next, expected) => {
    // Act + Assess
    expect(escalates(previous, next)).toBe(expected);
  });
});

describe('normalizeThresholds', () => {
  it('orders day thresholds descending, removes duplicates and puts expired last', () => {
    // Act
    const thresholds = normalizeThresholds(['expired', 7, 30, 7, 1]);

    // Assess
    expect(thresholds).toEqual([30, 7, 1, 'expired']);
  });

  it.each<[string, unknown, string]>([
    ['rejects zero days', 0, 'notifications.thresholds[1]: 0 is not a positive number of days or "expired"'],
    ['rejects negative days', -3, 'notifications.thresholds[1]: -3 is not'],
    ['rejects words other than expired', 'soon', 'notifications.thresholds[1]: "soon" is not'],
    ['rejects infinity', Number.POSITIVE_INFINITY, 'notifications.thresholds[1]: Infinity is not'],
  ])('%s', (_name, bad, message) => {
    // Act
    const act = () => normalizeThresholds([30, bad as Threshold], 'notifications.thresholds');

    // Assess
    expect(act).toThrow(InvalidInputError);
    expect(act).toThrow(message);
  });
});

describe('expiryFinding', () => {
  const context = { environment: 'prod', location: 'acm:us-east-1', name: 'api' };

  it('reports nothing before the first threshold', () => {
    // Act + Assess
    expect(expiryFinding(facts, DEFAULT_THRESHOLDS, at(-60 * DAY), context)).toBeUndefined();
  });

  it('reports an expiring certificate with its threshold, days left and deduplication key', () => {
    // Act
    const finding = expiryFinding(facts, DEFAULT_THRESHOLDS, at(-7 * DAY), context);

    // Assess
    expect(finding).toMatchObject({
      kind: 'expiring',
      severity: 'warning',
      certificate: { fingerprintSha256: facts.fingerprintSha256, name: 'api', subject: facts.subject },
      environments: ['prod'],
      locations: ['acm:us-east-1'],
      daysLeft: 7,
      dedupeKey: alertKey(facts.fingerprintSha256, 7),
      details: { threshold: 7 },
    });
    expect(finding?.message).toBe(`api expires in 7d (${facts.notAfter}), threshold 7d`);
  });

  it('reports an expired certificate as critical, one hour after expiry', () => {
    // Act
    const finding = expiryFinding(facts, DEFAULT_THRESHOLDS, at(HOUR), context);

    // Assess
    expect(finding).toMatchObject({
      kind: 'expired',
      severity: 'critical',
      daysLeft: -1,
      dedupeKey: alertKey(facts.fingerprintSha256, 'expired'),
    });
    expect(finding?.message).toBe(`api expired 1h ago (${facts.notAfter})`);
  });

  it('names the certificate by subject when it has no managed name', () => {
    // Act
    const finding = expiryFinding(facts, DEFAULT_THRESHOLDS, at(-DAY), { environment: 'staging' });

    // Assess
    expect(finding?.message).toMatch(/^CN=api\.example\.test, O=certrotor tests expires in 1d/);
    expect(finding?.locations).toEqual([]);
  });
});

describe('the one threshold rule for everything a person sees', () => {
  /** 10 days and an hour left, of a 30-day and of a one-year lifetime. */
  const short = buildFacts({ notAfter: at(10 * DAY + HOUR), lifetimeMs: 30 * DAY });
  const long = buildFacts({ notAfter: at(10 * DAY + HOUR), lifetimeMs: 365 * DAY });

  it('stands a certificate as the scan would: scaled by lifetime, or as written', () => {
    expect(expiryStanding(short, DEFAULT_THRESHOLDS, NOW, 'lifetime')).toBe('ok');
    expect(expiryStanding(long, DEFAULT_THRESHOLDS, NOW, 'lifetime')).toBe('warning');
    expect(expiryStanding(short, DEFAULT_THRESHOLDS, NOW, 'absolute')).toBe('warning');
    expect(expiryStanding(buildFacts({ notAfter: at(-HOUR) }), DEFAULT_THRESHOLDS, NOW, 'lifetime')).toBe(
      'expired',
    );
  });

  it('puts days left on the thresholds’ scale, so a days-left alarm agrees with the alerts', () => {
    // 10 days of a 30-day lifetime is 60 days on the scale of thresholds written for 180 days.
    expect(thresholdDaysLeft(short, NOW, 'lifetime')).toBe(60);
    expect(thresholdDaysLeft(long, NOW, 'lifetime')).toBe(10);
    expect(thresholdDaysLeft(short, NOW, 'absolute')).toBe(10);
  });

  it('scales a day count that works like a threshold (the owner mention), as written without a lifetime', () => {
    expect(thresholdMs(3, short, 'lifetime')).toBe(0.5 * DAY);
    expect(thresholdMs(3, long, 'lifetime')).toBe(3 * DAY);
    expect(thresholdMs(3, {}, 'lifetime')).toBe(3 * DAY);
  });
});

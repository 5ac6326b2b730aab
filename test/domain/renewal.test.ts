import { InvalidInputError } from '../../lambda/domain/errors';
import {
  type RenewalPolicy,
  isRenewalDue,
  renewalDueFinding,
  renewalTime,
  stableRandom,
} from '../../lambda/domain/renewal';
import { DAY, HOUR, MINUTE, NOW, SECOND, at, buildFacts, randomSequence } from '../builders/facts';

const YEAR = 365 * DAY;

/** A certificate issued at NOW living `lifetimeMs`. */
function issuedNow(lifetimeMs: number) {
  return buildFacts({ notBefore: NOW, lifetimeMs });
}

describe('renewalTime', () => {
  describe('by default', () => {
    it.each([
      ['renews a 90 day certificate 30 days before expiry by default', 90 * DAY, 30 * DAY],
      [
        'renews a 47 day certificate 15 days 16 hours before expiry by default',
        47 * DAY,
        15 * DAY + 16 * HOUR,
      ],
      [
        'renews a 100 day certificate 33 days 8 hours before expiry by default',
        100 * DAY,
        33 * DAY + 8 * HOUR,
      ],
      [
        'renews a 200 day certificate 66 days 16 hours before expiry by default',
        200 * DAY,
        66 * DAY + 16 * HOUR,
      ],
      ['renews a 1 year certificate 121 days 16 hours before expiry by default', YEAR, 121 * DAY + 16 * HOUR],
      [
        'renews a 10 year certificate a third of ten years before expiry by default',
        10 * YEAR,
        (10 * YEAR) / 3,
      ],
      ['renews a 7 day certificate 2 days 8 hours before expiry by default', 7 * DAY, 2 * DAY + 8 * HOUR],
      ['renews a 24 hour certificate 8 hours before expiry by default', 24 * HOUR, 8 * HOUR],
      ['renews a 1 hour certificate 20 minutes before expiry by default', HOUR, 20 * MINUTE],
    ])('%s', (_name, lifetimeMs, renewBeforeMs) => {
      // Prepare
      const facts = issuedNow(lifetimeMs);

      // Act
      const schedule = renewalTime(facts);

      // Assess
      expect(schedule.basis).toBe('default');
      expect(schedule.renewBeforeMs).toBe(renewBeforeMs);
      expect(schedule.renewAt).toEqual(at(lifetimeMs - renewBeforeMs));
      expect(schedule.note).toBeUndefined();
    });

    it('truncates the renewal time to the second when a third of the lifetime is not whole seconds', () => {
      // Prepare: 100 s lifetime → renew 33.333… s before expiry, at 66.666… s
      const facts = issuedNow(100 * SECOND);

      // Act
      const schedule = renewalTime(facts);

      // Assess
      expect(schedule.renewAt).toEqual(at(66 * SECOND));
    });

    it('truncates the renewal time to the second when notAfter carries milliseconds', () => {
      // Prepare: 90 d 999 ms lifetime → renew 30 d 333 ms before expiry, at 60 d 666 ms
      const facts = buildFacts({ notBefore: NOW, notAfter: at(90 * DAY + 999) });

      // Act
      const schedule = renewalTime(facts);

      // Assess
      expect(schedule.renewBeforeMs).toBe(30 * DAY + 333);
      expect(schedule.renewAt).toEqual(at(60 * DAY));
    });

    it('treats a certificate whose notAfter precedes its notBefore as due at its notAfter', () => {
      // Prepare
      const facts = buildFacts({ notBefore: NOW, notAfter: at(-DAY) });

      // Act
      const schedule = renewalTime(facts);

      // Assess
      expect(schedule.lifetimeMs).toBe(0);
      expect(schedule.renewAt).toEqual(at(-DAY));
    });
  });

  describe('with renewBefore', () => {
    it.each<[string, number, RenewalPolicy, number]>([
      [
        'renews a 90 day certificate 10 days before expiry when renewBefore is 10 days',
        90 * DAY,
        { renewBefore: 10 * DAY },
        10 * DAY,
      ],
      [
        'renews a 1 year certificate 30 days before expiry when renewBefore is 30 days',
        YEAR,
        { renewBefore: 30 * DAY },
        30 * DAY,
      ],
      [
        'renews a 1 hour certificate 5 minutes before expiry when renewBefore is 5 minutes',
        HOUR,
        { renewBefore: 5 * MINUTE },
        5 * MINUTE,
      ],
      [
        'honours a renewBefore one millisecond shorter than the lifetime',
        90 * DAY,
        { renewBefore: 90 * DAY - 1 },
        90 * DAY - 1,
      ],
      [
        'prefers renewBefore over renewBeforePercentage when both are usable',
        90 * DAY,
        { renewBefore: 10 * DAY, renewBeforePercentage: 50 },
        10 * DAY,
      ],
    ])('%s', (_name, lifetimeMs, policy, renewBeforeMs) => {
      // Prepare
      const facts = issuedNow(lifetimeMs);

      // Act
      const schedule = renewalTime(facts, policy);

      // Assess
      expect(schedule.basis).toBe('renew-before');
      expect(schedule.renewBeforeMs).toBe(renewBeforeMs);
      expect(schedule.renewAt).toEqual(
        new Date(Math.floor(at(lifetimeMs - renewBeforeMs).getTime() / 1000) * 1000),
      );
    });

    it.each<[string, number, RenewalPolicy, string]>([
      [
        'falls back to the default when renewBefore equals the lifetime',
        90 * DAY,
        { renewBefore: 90 * DAY },
        'renewBefore 90d is not shorter than the 90d lifetime; using one third of the lifetime',
      ],
      [
        'falls back to the default when renewBefore is longer than the lifetime',
        7 * DAY,
        { renewBefore: 30 * DAY },
        'renewBefore 30d is not shorter than the 7d lifetime; using one third of the lifetime',
      ],
      [
        'falls back to the default when a 30 day renewBefore meets a 24 hour certificate',
        24 * HOUR,
        { renewBefore: 30 * DAY },
        'renewBefore 30d is not shorter than the 1d lifetime',
      ],
      [
        'falls back to the default when renewBefore is zero',
        90 * DAY,
        { renewBefore: 0 },
        'renewBefore 0s is not positive',
      ],
      [
        'falls back to the default when renewBefore is negative',
        90 * DAY,
        { renewBefore: -DAY },
        'renewBefore -1d is not positive',
      ],
    ])('%s', (_name, lifetimeMs, policy, note) => {
      // Prepare
      const facts = issuedNow(lifetimeMs);

      // Act
      const schedule = renewalTime(facts, policy);

      // Assess
      expect(schedule.basis).toBe('default');
      expect(schedule.renewBeforeMs).toBe(lifetimeMs / 3);
      expect(schedule.note).toContain(note);
    });

    it('falls back to renewBeforePercentage, not the default, when renewBefore is unusable and a percentage is set', () => {
      // Prepare
      const facts = issuedNow(90 * DAY);

      // Act
      const schedule = renewalTime(facts, { renewBefore: 100 * DAY, renewBeforePercentage: 50 });

      // Assess
      expect(schedule.basis).toBe('renew-before-percentage');
      expect(schedule.renewBeforeMs).toBe(45 * DAY);
      expect(schedule.note).toBe(
        'renewBefore 100d is not shorter than the 90d lifetime; using renewBeforePercentage',
      );
    });
  });

  describe('with renewBeforePercentage', () => {
    it.each<[string, number, number, number]>([
      ['renews a 90 day certificate 45 days before expiry at 50 percent', 90 * DAY, 50, 45 * DAY],
      ['renews a 200 day certificate 20 days before expiry at 10 percent', 200 * DAY, 10, 20 * DAY],
      [
        'renews a 47 day certificate 23 days 12 hours before expiry at 50 percent',
        47 * DAY,
        50,
        23 * DAY + 12 * HOUR,
      ],
      ['renews a 24 hour certificate 3 hours before expiry at 12.5 percent', 24 * HOUR, 12.5, 3 * HOUR],
      ['renews a 100 day certificate 99 days before expiry at 99 percent', 100 * DAY, 99, 99 * DAY],
    ])('%s', (_name, lifetimeMs, renewBeforePercentage, renewBeforeMs) => {
      // Prepare
      const facts = issuedNow(lifetimeMs);

      // Act
      const schedule = renewalTime(facts, { renewBeforePercentage });

      // Assess
      expect(schedule.basis).toBe('renew-before-percentage');
      expect(schedule.renewBeforeMs).toBe(renewBeforeMs);
      expect(schedule.renewAt).toEqual(at(lifetimeMs - renewBeforeMs));
    });

    it.each([
      ['falls back to the default when renewBeforePercentage is 0', 0],
      ['falls back to the default when renewBeforePercentage is 100', 100],
      ['falls back to the default when renewBeforePercentage is above 100', 150],
      ['falls back to the default when renewBeforePercentage is negative', -10],
    ])('%s', (_name, renewBeforePercentage) => {
      // Prepare
      const facts = issuedNow(90 * DAY);

      // Act
      const schedule = renewalTime(facts, { renewBeforePercentage });

      // Assess
      expect(schedule.basis).toBe('default');
      expect(schedule.renewBeforeMs).toBe(30 * DAY);
      expect(schedule.note).toBe(
        `renewBeforePercentage ${renewBeforePercentage} is not between 0 and 100; using one third of the lifetime`,
      );
    });
  });

  describe('with jitter', () => {
    it('does not draw from the random source when jitter is off by default', () => {
      // Prepare
      const random = jest.fn(() => 0.5);

      // Act
      const schedule = renewalTime(issuedNow(90 * DAY), {}, random);

      // Assess
      expect(random).not.toHaveBeenCalled();
      expect(schedule.jitterMs).toBe(0);
      expect(schedule.renewAt).toEqual(at(60 * DAY));
    });

    it.each<[string, number, number, number]>([
      ['keeps the renewal time when the random draw is 0', 10, 0, 60 * DAY],
      [
        'moves a 90 day certificate 1.5 days earlier at 10 percent jitter and a draw of 0.5',
        10,
        0.5,
        58 * DAY + 12 * HOUR,
      ],
      ['moves a 90 day certificate 3 days earlier at most at 10 percent jitter', 10, 0.999_999_999, 57 * DAY],
      [
        'moves a 90 day certificate 15 days earlier at 50 percent jitter and a draw of 0.999999999',
        50,
        0.999_999_999,
        45 * DAY,
      ],
    ])('%s', (_name, jitterPercentage, draw, expectedOffset) => {
      // Prepare
      const facts = issuedNow(90 * DAY);

      // Act
      const schedule = renewalTime(facts, { jitterPercentage }, randomSequence(draw));

      // Assess: truncated to the second, so a draw just below 1 lands on the whole second at the bound
      expect(schedule.renewAt).toEqual(at(expectedOffset));
      expect(schedule.renewAt.getUTCMilliseconds()).toBe(0);
    });

    it('never renews later than without jitter', () => {
      // Prepare
      const facts = issuedNow(47 * DAY);
      const without = renewalTime(facts).renewAt.getTime();

      // Act
      const withJitter = [0, 0.1, 0.25, 0.5, 0.75, 0.999].map((draw) =>
        renewalTime(facts, { jitterPercentage: 20 }, randomSequence(draw)).renewAt.getTime(),
      );

      // Assess
      for (const time of withJitter) expect(time).toBeLessThanOrEqual(without);
      expect(Math.min(...withJitter)).toBeGreaterThanOrEqual(without - (0.2 * (47 * DAY)) / 3 - SECOND);
    });

    it('never moves renewal before notBefore', () => {
      // Prepare: renew 9 days before expiry of a 10 day certificate, then jitter up to 9 more days
      const facts = issuedNow(10 * DAY);

      // Act
      const schedule = renewalTime(
        facts,
        { renewBeforePercentage: 90, jitterPercentage: 100 },
        randomSequence(0.99),
      );

      // Assess
      expect(schedule.renewAt).toEqual(NOW);
      expect(schedule.jitterMs).toBe(DAY);
    });

    it('applies jitter to an overridden renewBefore', () => {
      // Prepare
      const facts = issuedNow(90 * DAY);

      // Act
      const schedule = renewalTime(
        facts,
        { renewBefore: 10 * DAY, jitterPercentage: 10 },
        randomSequence(0.5),
      );

      // Assess
      expect(schedule.renewAt).toEqual(at(80 * DAY - 12 * HOUR));
    });

    it.each<[string, RenewalPolicy, (() => number) | undefined, string]>([
      [
        'refuses jitter without a random source',
        { jitterPercentage: 10 },
        undefined,
        'jitterPercentage 10 needs a random source',
      ],
      [
        'refuses a jitter percentage above 100',
        { jitterPercentage: 101 },
        () => 0.5,
        'jitterPercentage 101 must be between 0 and 100',
      ],
      [
        'refuses a negative jitter percentage',
        { jitterPercentage: -1 },
        () => 0.5,
        'jitterPercentage -1 must be between 0 and 100',
      ],
      [
        'refuses a random source that returns 1',
        { jitterPercentage: 10 },
        () => 1,
        'random source returned 1',
      ],
      [
        'refuses a random source that returns a negative number',
        { jitterPercentage: 10 },
        () => -0.1,
        'random source returned -0.1',
      ],
    ])('%s', (_name, policy, random, message) => {
      // Act
      const act = () => renewalTime(issuedNow(90 * DAY), policy, random);

      // Assess
      expect(act).toThrow(InvalidInputError);
      expect(act).toThrow(message);
    });
  });

  it.each([
    [
      'names notAfter when it is not a date',
      { notBefore: NOW.toISOString(), notAfter: 'soon' },
      'certificate notAfter "soon" is not a date',
    ],
    [
      'names notBefore when it is not a date',
      { notBefore: 'then', notAfter: NOW.toISOString() },
      'certificate notBefore "then" is not a date',
    ],
  ])('%s', (_name, facts, message) => {
    // Act
    const act = () => renewalTime(facts);

    // Assess
    expect(act).toThrow(message);
  });
});

describe('stableRandom', () => {
  it('returns the same value for the same seed on every call and every instance', () => {
    // Act
    const first = stableRandom('AB:CD');
    const second = stableRandom('AB:CD');

    // Assess
    expect(first()).toBe(first());
    expect(first()).toBe(second());
  });

  it('returns different values in [0, 1) for different seeds', () => {
    // Act
    const values = ['a', 'b', 'c', 'd'].map((seed) => stableRandom(seed)());

    // Assess
    expect(new Set(values).size).toBe(4);
    for (const value of values) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
    }
  });

  it('gives one certificate version the same jittered renewal time on every scan', () => {
    // Prepare
    const facts = issuedNow(90 * DAY);
    const policy = { jitterPercentage: 10 };

    // Act
    const scans = [1, 2, 3].map(
      () => renewalTime(facts, policy, stableRandom(facts.fingerprintSha256)).renewAt,
    );

    // Assess
    expect(scans[1]).toEqual(scans[0]);
    expect(scans[2]).toEqual(scans[0]);
  });
});

describe('isRenewalDue', () => {
  const facts = issuedNow(90 * DAY);

  it.each<[string, Date, RenewalPolicy, boolean, string]>([
    ['is not due a day after issuance by default', at(DAY), {}, false, 'scheduled'],
    ['is not due one second before the default renewal time', at(60 * DAY - SECOND), {}, false, 'scheduled'],
    ['is due exactly at the default renewal time', at(60 * DAY), {}, true, 'renewal-time-reached'],
    ['is due between the renewal time and expiry', at(80 * DAY), {}, true, 'renewal-time-reached'],
    ['is due, not expired, at the notAfter instant itself', at(90 * DAY), {}, true, 'renewal-time-reached'],
    ['is due as expired once past notAfter', at(90 * DAY + SECOND), {}, true, 'expired'],
    [
      'is not due 15 days before expiry when renewBefore is 10 days',
      at(75 * DAY),
      { renewBefore: 10 * DAY },
      false,
      'scheduled',
    ],
    [
      'is due 10 days before expiry when renewBefore is 10 days',
      at(80 * DAY),
      { renewBefore: 10 * DAY },
      true,
      'renewal-time-reached',
    ],
    [
      'is due 45 days before expiry at renewBeforePercentage 50',
      at(45 * DAY),
      { renewBeforePercentage: 50 },
      true,
      'renewal-time-reached',
    ],
  ])('%s', (_name, now, policy, due, reason) => {
    // Act
    const decision = isRenewalDue(facts, policy, now);

    // Assess
    expect(decision.due).toBe(due);
    expect(decision.reason).toBe(reason);
  });

  it('says when renewal is scheduled and why', () => {
    // Act
    const decision = isRenewalDue(facts, {}, at(DAY));

    // Assess
    expect(decision.message).toBe(
      `renews at ${at(60 * DAY).toISOString()}, in 59d (default: 30d, one third of the 90d lifetime)`,
    );
  });

  it('says when renewal was due and how long is left', () => {
    // Act
    const decision = isRenewalDue(facts, { renewBefore: 10 * DAY }, at(85 * DAY));

    // Assess
    expect(decision.message).toBe(
      `renewal was due at ${at(80 * DAY).toISOString()} (renewBefore 10d); 5d left`,
    );
  });

  it('renews a 24 hour certificate 8 hours before expiry, not at a fixed number of days', () => {
    // Prepare
    const shortLived = issuedNow(24 * HOUR);

    // Act
    const before = isRenewalDue(shortLived, {}, at(16 * HOUR - SECOND));
    const after = isRenewalDue(shortLived, {}, at(16 * HOUR));

    // Assess
    expect(before.due).toBe(false);
    expect(after.due).toBe(true);
  });
});

describe('renewalDueFinding', () => {
  const facts = issuedNow(90 * DAY);
  const context = { environment: 'prod', location: 'acm:us-east-1', name: 'api' };

  it('reports nothing while renewal is scheduled', () => {
    // Act
    const finding = renewalDueFinding(facts, isRenewalDue(facts, {}, at(DAY)), at(DAY), context);

    // Assess
    expect(finding).toBeUndefined();
  });

  it('reports renewal due once per certificate version as info', () => {
    // Act
    const finding = renewalDueFinding(facts, isRenewalDue(facts, {}, at(61 * DAY)), at(61 * DAY), context);

    // Assess
    expect(finding).toMatchObject({
      kind: 'renewal-due',
      severity: 'info',
      certificate: { fingerprintSha256: facts.fingerprintSha256, name: 'api' },
      environments: ['prod'],
      locations: ['acm:us-east-1'],
      daysLeft: 29,
      dedupeKey: `renewal-due:${facts.fingerprintSha256.replace(/:/g, '')}`,
    });
    expect(finding?.message).toMatch(/^api: renewal was due at /);
  });

  it('reports an expired certificate that is due as critical', () => {
    // Act
    const finding = renewalDueFinding(facts, isRenewalDue(facts, {}, at(91 * DAY)), at(91 * DAY), context);

    // Assess
    expect(finding?.severity).toBe('critical');
    expect(finding?.details).toMatchObject({ reason: 'expired' });
  });
});

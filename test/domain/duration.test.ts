import { InvalidInputError } from '../../lambda/domain/errors';
import { formatDuration, parseDuration, tryParseDuration } from '../../lambda/domain/duration';
import { DAY, HOUR, MINUTE, SECOND } from '../builders/facts';

describe('parseDuration', () => {
  it.each([
    ['reads days', '90d', 90 * DAY],
    ['reads hours', '12h', 12 * HOUR],
    ['reads minutes', '30m', 30 * MINUTE],
    ['reads seconds', '45s', 45 * SECOND],
    ['reads milliseconds', '250ms', 250],
    ['reads weeks as seven days', '1w', 7 * DAY],
    ['adds up combined units', '1d12h', DAY + 12 * HOUR],
    ['accepts spaces between combined units, as formatDuration prints them', '1d 12h', DAY + 12 * HOUR],
    ['reads Go durations the way cert-manager prints them', '2160h0m0s', 90 * DAY],
    ['reads fractional units', '1.5h', 90 * MINUTE],
    ['ignores the case of units', '90D', 90 * DAY],
    ['ignores surrounding whitespace', '  7d ', 7 * DAY],
    ['accepts zero', '0s', 0],
    ['reads ISO 8601 days', 'P30D', 30 * DAY],
    ['reads ISO 8601 hours', 'PT12H', 12 * HOUR],
    ['reads ISO 8601 days with a time part', 'P1DT12H30M', DAY + 12 * HOUR + 30 * MINUTE],
    ['reads ISO 8601 fractional seconds', 'PT0.5S', 500],
    ['reads ISO 8601 decimal commas', 'PT1,5H', 90 * MINUTE],
    ['reads ISO 8601 weeks', 'P2W', 14 * DAY],
    ['reads lower case ISO 8601', 'p30d', 30 * DAY],
  ])('%s (%s)', (_name, text, expected) => {
    // Act
    const ms = parseDuration(text);

    // Assess
    expect(ms).toBe(expected);
  });

  it.each([
    ['rejects an empty string', '', 'empty duration'],
    ['rejects a number without a unit', '30', '"30" has no unit (write 30d'],
    ['rejects a negative duration', '-1d', 'is negative'],
    ['rejects an unknown unit', '3y', 'is not a duration'],
    ['rejects words', 'soon', 'is not a duration'],
    ['rejects a unit without a number', 'd', 'is not a duration'],
    ['rejects ISO 8601 years, which have no fixed length', 'P1Y', 'years or months'],
    ['rejects ISO 8601 months, which have no fixed length', 'P1M', 'years or months'],
    ['rejects a bare ISO 8601 designator', 'P', 'not an ISO 8601 duration'],
    ['rejects an empty ISO 8601 time part', 'P1DT', 'not an ISO 8601 duration'],
    ['rejects durations too large to count in milliseconds', '99999999999999999d', 'too large'],
  ])('%s (%j)', (_name, text, problem) => {
    // Act
    const act = () => parseDuration(text, 'certificates[0].renewal.renewBefore');

    // Assess
    expect(act).toThrow(InvalidInputError);
    expect(act).toThrow(`certificates[0].renewal.renewBefore: `);
    expect(act).toThrow(problem);
  });

  it('names "duration" when no path is given', () => {
    // Act
    const act = () => parseDuration('soon');

    // Assess
    expect(act).toThrow('duration: "soon" is not a duration');
  });
});

describe('tryParseDuration', () => {
  it('returns the milliseconds as a value when the text is a duration', () => {
    // Act
    const parsed = tryParseDuration('12h');

    // Assess
    expect(parsed).toEqual({ ok: true, ms: 12 * HOUR });
  });

  it('returns the problem as a value instead of throwing', () => {
    // Act
    const parsed = tryParseDuration('12 hours');

    // Assess
    expect(parsed).toEqual({ ok: false, problem: expect.stringContaining('"12 hours" is not a duration') });
  });
});

describe('formatDuration', () => {
  it.each([
    ['prints whole days alone', 90 * DAY, '90d'],
    ['prints days and hours', DAY + 12 * HOUR, '1d 12h'],
    ['prints hours and minutes', 2 * HOUR + 5 * MINUTE, '2h 5m'],
    ['prints seconds', 45 * SECOND, '45s'],
    ['prints milliseconds below a second', 250, '250ms'],
    ['prints zero as 0s', 0, '0s'],
    ['truncates to the two most significant units', DAY + 2 * HOUR + 3 * MINUTE + 4 * SECOND, '1d 2h'],
    ['stops at a zero unit rather than printing it', DAY + 30 * MINUTE, '1d'],
    ['prints negative durations with a sign', -(3 * HOUR), '-3h'],
  ])('%s', (_name, ms, expected) => {
    // Act
    const text = formatDuration(ms);

    // Assess
    expect(text).toBe(expected);
  });

  it('shows more units when asked', () => {
    // Act
    const text = formatDuration(DAY + 2 * HOUR + 3 * MINUTE + 4 * SECOND, 4);

    // Assess
    expect(text).toBe('1d 2h 3m 4s');
  });

  it.each([[90 * DAY], [DAY + 12 * HOUR], [45 * SECOND], [7 * HOUR + 59 * MINUTE]])(
    'prints %i ms in a form parseDuration reads back',
    (ms) => {
      // Act
      const roundTrip = parseDuration(formatDuration(ms));

      // Assess
      expect(roundTrip).toBe(ms);
    },
  );
});

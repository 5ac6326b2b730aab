import {
  instantOfWallClock,
  latestOccurrence,
  parseScheduleExpression,
  longestGap,
  periodOf,
} from '../../lambda/domain/schedule-expression';
import { InvalidInputError } from '../../lambda/domain/errors';

describe('latestOccurrence', () => {
  it.each([
    [
      'A daily cron at the exact minute',
      'cron(0 8 * * ? *)',
      'UTC',
      '2026-03-04T08:00:00Z',
      '2026-03-04T08:00:00.000Z',
    ],
    [
      'A daily cron just before its time',
      'cron(0 8 * * ? *)',
      'UTC',
      '2026-03-04T07:59:59Z',
      '2026-03-03T08:00:00.000Z',
    ],
    [
      'A weekday cron on a Monday morning',
      'cron(0 8 ? * MON-FRI *)',
      'UTC',
      '2026-03-09T07:00:00Z',
      '2026-03-06T08:00:00.000Z',
    ],
    [
      'A weekday cron with numbered weekdays',
      'cron(0 8 ? * 2-6 *)',
      'UTC',
      '2026-03-09T07:00:00Z',
      '2026-03-06T08:00:00.000Z',
    ],
    [
      'A cron in Paris winter time',
      'cron(0 8 ? * MON-FRI *)',
      'Europe/Paris',
      '2026-01-15T12:00:00Z',
      '2026-01-15T07:00:00.000Z',
    ],
    [
      'A cron in Paris summer time',
      'cron(0 8 ? * MON-FRI *)',
      'Europe/Paris',
      '2026-07-15T12:00:00Z',
      '2026-07-15T06:00:00.000Z',
    ],
    ['A step in minutes', 'cron(0/15 * * * ? *)', 'UTC', '2026-03-04T10:44:00Z', '2026-03-04T10:30:00.000Z'],
    ['A list of hours', 'cron(30 6,18 * * ? *)', 'UTC', '2026-03-04T17:00:00Z', '2026-03-04T06:30:00.000Z'],
    [
      'The last day of the month',
      'cron(0 0 L * ? *)',
      'UTC',
      '2026-03-15T00:00:00Z',
      '2026-02-28T00:00:00.000Z',
    ],
    [
      'The last Friday of the month',
      'cron(0 9 ? * 6L *)',
      'UTC',
      '2026-03-30T00:00:00Z',
      '2026-03-27T09:00:00.000Z',
    ],
    [
      'The second Tuesday of the month',
      'cron(0 9 ? * TUE#2 *)',
      'UTC',
      '2026-03-20T00:00:00Z',
      '2026-03-10T09:00:00.000Z',
    ],
    [
      'The weekday nearest the 1st when it is a Sunday',
      'cron(0 9 1W * ? *)',
      'UTC',
      '2026-03-05T00:00:00Z',
      '2026-03-02T09:00:00.000Z',
    ],
    ['A named month', 'cron(0 0 1 JUN ? *)', 'UTC', '2026-03-05T00:00:00Z', '2025-06-01T00:00:00.000Z'],
    [
      'A daily rate counted from the epoch',
      'rate(1 day)',
      'UTC',
      '2026-03-04T17:00:00Z',
      '2026-03-04T00:00:00.000Z',
    ],
    ['An hourly rate', 'rate(6 hours)', 'UTC', '2026-03-04T17:00:00Z', '2026-03-04T12:00:00.000Z'],
    [
      'A one-time schedule in the past',
      'at(2026-03-01T10:00:00)',
      'UTC',
      '2026-03-04T17:00:00Z',
      '2026-03-01T10:00:00.000Z',
    ],
  ])('%s', (_name, expression, timeZone, at, expected) => {
    // Act
    const occurrence = latestOccurrence(expression, new Date(at), timeZone);

    // Assess
    expect(occurrence?.toISOString()).toBe(expected);
  });

  it.each([
    ['A one-time schedule in the future', 'at(2027-03-01T10:00:00)'],
    ['A cron whose only year has not come', 'cron(0 0 1 1 ? 2199)'],
  ])('finds no occurrence for %s', (_name, expression) => {
    expect(latestOccurrence(expression, new Date('2026-03-04T17:00:00Z'))).toBeUndefined();
  });

  it('skips a local time that daylight saving jumps over, like the scheduler', () => {
    // Prepare: 02:30 does not exist in Paris on 2026-03-29 (clocks go from 02:00 to 03:00)
    const afterJump = new Date('2026-03-29T06:00:00Z');

    // Act
    const occurrence = latestOccurrence('cron(30 2 * * ? *)', afterJump, 'Europe/Paris');

    // Assess: the previous day's 02:30 (CET, UTC+1)
    expect(occurrence?.toISOString()).toBe('2026-03-28T01:30:00.000Z');
  });

  it('fires once at the first of two repeated local times when clocks go back', () => {
    // Prepare: 02:30 happens twice in Paris on 2026-10-25
    const afterBoth = new Date('2026-10-25T03:00:00Z');

    // Act
    const occurrence = latestOccurrence('cron(30 2 * * ? *)', afterBoth, 'Europe/Paris');

    // Assess: the first 02:30 (CEST, UTC+2)
    expect(occurrence?.toISOString()).toBe('2026-10-25T00:30:00.000Z');
  });

  it('tells a skipped local time from an existing one', () => {
    expect(
      instantOfWallClock({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, 'Europe/Paris'),
    ).toBeUndefined();
    expect(instantOfWallClock({ year: 2026, month: 3, day: 29, hour: 3, minute: 30 }, 'Europe/Paris')).toBe(
      Date.parse('2026-03-29T01:30:00Z'),
    );
  });
});

describe('parseScheduleExpression', () => {
  it.each([
    ['Five cron fields', 'cron(0 8 * * ?)', /6 fields/],
    ['Both day fields given', 'cron(0 8 1 * MON *)', /exactly one of them must be \?/],
    ['An hour out of range', 'cron(0 24 * * ? *)', /hours: "24" is not between 0 and 23/],
    ['An unknown weekday', 'cron(0 8 ? * FUNDAY *)', /day-of-week/],
    ['Not an expression', 'every day', /not a scheduler expression/],
  ])('rejects %s, naming the field', (_name, expression, message) => {
    expect(() => parseScheduleExpression(expression)).toThrow(InvalidInputError);
    expect(() => parseScheduleExpression(expression)).toThrow(message);
  });

  it('gives the period of a rate and none for a cron', () => {
    expect(periodOf('rate(1 hour)')).toBe(3_600_000);
    expect(periodOf('rate(3 days)')).toBe(3 * 86_400_000);
    expect(periodOf('cron(0 8 * * ? *)')).toBeUndefined();
  });
});

describe('longestGap', () => {
  it.each([
    ['An hourly rate', 'rate(1 hour)', 'UTC', 3_600_000],
    ['A daily cron', 'cron(0 8 * * ? *)', 'UTC', 86_400_000],
    ['A weekday cron, across the weekend', 'cron(0 8 ? * MON-FRI *)', 'UTC', 3 * 86_400_000],
    ['A weekday cron in Paris', 'cron(0 8 ? * MON-FRI *)', 'Europe/Paris', 3 * 86_400_000],
    ['Twice a day', 'cron(0 6,18 * * ? *)', 'UTC', 12 * 3_600_000],
  ])('%s', (_name, expression, timeZone, expected) => {
    expect(longestGap(expression, timeZone)).toBe(expected);
  });

  it('measures a daylight saving change as the hour it adds', () => {
    // 2025-10-26: Paris falls back, so one day lasts 25 hours.
    expect(longestGap('cron(0 8 * * ? *)', 'Europe/Paris', new Date('2025-11-01T00:00:00Z'), 10)).toBe(
      25 * 3_600_000,
    );
  });
});

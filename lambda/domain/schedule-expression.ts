/**
 * EventBridge Scheduler expressions evaluated the way the scheduler does, so that the deployed
 * service and `certrotor run` agree on when a job (a digest, a scan) was due. Pure: time and the
 * time zone are parameters.
 *
 * - `cron(minutes hours day-of-month month day-of-week year)` in an IANA time zone, with `*`, `?`,
 *   lists, ranges, steps, month and weekday names (1 = SUN … 7 = SAT), `L`, `W`, `LW`, `nL` and `n#k`.
 *   Like the scheduler, a local time skipped by a daylight saving change does not occur, and a
 *   repeated local time occurs once (its first instant).
 * - `rate(n unit)`: the scheduler counts from when the schedule was created, which nobody but the
 *   scheduler knows; occurrences here are counted from the Unix epoch (UTC), so `rate(1 day)` occurs
 *   at every UTC midnight. Use `periodOf` when only the interval matters (a dead man's switch).
 */
import { InvalidInputError } from './errors';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** How far back `latestOccurrence` looks before giving up (a cron for a year that never comes). */
const SEARCH_DAYS = 5 * 366;

export type ScheduleExpression =
  | { readonly kind: 'rate'; readonly expression: string; readonly periodMs: number }
  | { readonly kind: 'cron'; readonly expression: string; readonly cron: CronSchedule }
  | { readonly kind: 'at'; readonly expression: string; readonly at: string };

export interface CronSchedule {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly years: ((year: number) => boolean) | undefined;
  /** Whether a local calendar day matches the day-of-month and day-of-week fields. */
  readonly day: (date: LocalDate) => boolean;
}

export interface LocalDate {
  readonly year: number;
  /** 1–12 */
  readonly month: number;
  /** 1–31 */
  readonly day: number;
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * Parses a scheduler expression.
 * @throws InvalidInputError naming the expression and the field that is wrong
 */
export function parseScheduleExpression(expression: string): ScheduleExpression {
  const text = expression.trim();
  const rate = /^rate\((\d+)\s+(minutes?|hours?|days?)\)$/.exec(text);
  if (rate) {
    const value = Number(rate[1]);
    if (value < 1) throw new InvalidInputError(`schedule ${expression}: rate must be at least 1`);
    const unit = rate[2]!.replace(/s$/, '');
    const unitMs = unit === 'minute' ? MINUTE_MS : unit === 'hour' ? HOUR_MS : DAY_MS;
    return { kind: 'rate', expression: text, periodMs: value * unitMs };
  }
  const at = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(text);
  if (at) return { kind: 'at', expression: text, at: at[1]! };
  const cron = /^cron\((.*)\)$/.exec(text);
  if (!cron) {
    throw new InvalidInputError(
      `schedule ${expression}: not a scheduler expression (rate(…), cron(…) or at(…))`,
    );
  }
  return { kind: 'cron', expression: text, cron: parseCron(cron[1]!, expression) };
}

function parseCron(body: string, expression: string): CronSchedule {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new InvalidInputError(
      `schedule ${expression}: cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
    );
  }
  const [minutes, hours, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  const fail = (field: string, why: string): never => {
    throw new InvalidInputError(`schedule ${expression}: ${field}: ${why}`);
  };
  if ((dom === '?') === (dow === '?')) fail('day-of-month/day-of-week', 'exactly one of them must be ?');
  const months = parseSet(month, 1, 12, MONTH_NAMES, 1, (why) => fail('month', why));
  const dayOfMonth = dom === '?' ? undefined : parseDayOfMonth(dom, (why) => fail('day-of-month', why));
  const dayOfWeek = dow === '?' ? undefined : parseDayOfWeek(dow, (why) => fail('day-of-week', why));
  const years =
    year === '*' ? undefined : setPredicate(parseSet(year, 1970, 2199, [], 0, (why) => fail('year', why)));
  return {
    minutes: parseSet(minutes, 0, 59, [], 0, (why) => fail('minutes', why)),
    hours: parseSet(hours, 0, 23, [], 0, (why) => fail('hours', why)),
    months,
    years,
    day: (date) => (dayOfMonth ? dayOfMonth(date) : true) && (dayOfWeek ? dayOfWeek(date) : true),
  };
}

function setPredicate(set: ReadonlySet<number>): (value: number) => boolean {
  return (value) => set.has(value);
}

/** `*`, `5`, `1-5`, `*\/15`, `10-40/10`, `MON-FRI`, lists of these. */
function parseSet(
  field: string,
  min: number,
  max: number,
  names: readonly string[],
  nameBase: number,
  fail: (why: string) => never,
): Set<number> {
  const values = new Set<number>();
  const value = (token: string): number => {
    const index = names.indexOf(token.toUpperCase());
    const n = index >= 0 ? index + nameBase : /^\d+$/.test(token) ? Number(token) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) fail(`"${token}" is not between ${min} and ${max}`);
    return n;
  };
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) fail(`step "${stepText}" must be a positive whole number`);
    let from: number;
    let to: number;
    if (range === '*') {
      from = min;
      to = max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-') as [string, string];
      from = value(a);
      to = value(b);
      if (to < from) fail(`range "${range}" goes backwards`);
    } else {
      from = value(range);
      to = stepText === undefined ? from : max;
    }
    for (let n = from; n <= to; n += step) values.add(n);
  }
  return values;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 1 = Sunday … 7 = Saturday, as the scheduler numbers them. */
function weekdayOf(date: LocalDate): number {
  return new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay() + 1;
}

function parseDayOfMonth(field: string, fail: (why: string) => never): (date: LocalDate) => boolean {
  if (field === 'L') return (d) => d.day === daysInMonth(d.year, d.month);
  if (field === 'LW') {
    return (d) => d.day === nearestWeekday(d.year, d.month, daysInMonth(d.year, d.month));
  }
  const weekday = /^(\d{1,2})W$/.exec(field);
  if (weekday) {
    const target = Number(weekday[1]);
    if (target < 1 || target > 31) fail(`"${field}" is not between 1W and 31W`);
    return (d) => d.day === nearestWeekday(d.year, d.month, Math.min(target, daysInMonth(d.year, d.month)));
  }
  const days = parseSet(field, 1, 31, [], 0, fail);
  return (d) => days.has(d.day);
}

/** The weekday nearest to `day` without leaving the month (the cron `W` rule). */
function nearestWeekday(year: number, month: number, day: number): number {
  const weekday = weekdayOf({ year, month, day });
  if (weekday === 7) return day === 1 ? 3 : day - 1; // Saturday: Friday, or Monday the 3rd
  if (weekday === 1) return day === daysInMonth(year, month) ? day - 2 : day + 1; // Sunday
  return day;
}

function parseDayOfWeek(field: string, fail: (why: string) => never): (date: LocalDate) => boolean {
  const weekdayValue = (token: string): number => {
    const set = parseSet(token, 1, 7, WEEKDAY_NAMES, 1, fail);
    return [...set][0]!;
  };
  if (field === 'L') return (d) => weekdayOf(d) === 7;
  const last = /^(\w+)L$/.exec(field);
  if (last) {
    const weekday = weekdayValue(last[1]!);
    return (d) => weekdayOf(d) === weekday && d.day + 7 > daysInMonth(d.year, d.month);
  }
  const nth = /^(\w+)#(\d)$/.exec(field);
  if (nth) {
    const weekday = weekdayValue(nth[1]!);
    const k = Number(nth[2]);
    if (k < 1 || k > 5) fail(`"${field}": the occurrence after # must be 1 to 5`);
    return (d) => weekdayOf(d) === weekday && Math.ceil(d.day / 7) === k;
  }
  const days = parseSet(field, 1, 7, WEEKDAY_NAMES, 1, fail);
  return (d) => days.has(weekdayOf(d));
}

// ---------------------------------------------------------------------------------------------
// Time zones
// ---------------------------------------------------------------------------------------------

interface WallClock extends LocalDate {
  readonly hour: number;
  readonly minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
      });
    } catch (error) {
      throw new InvalidInputError(
        `time zone ${timeZone}: not an IANA time zone such as UTC or Europe/Paris`,
        {
          cause: error,
        },
      );
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

function wallClockOf(instant: number, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour! % 24,
    minute: parts.minute!,
  };
}

function wallAsUtc(w: WallClock): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
}

/**
 * The first instant at which the clock in `timeZone` shows `wall`, or undefined when a daylight saving
 * change skips it.
 */
export function instantOfWallClock(wall: WallClock, timeZone: string): number | undefined {
  const naive = wallAsUtc(wall);
  const candidates = new Set<number>();
  // The offset either side of the wall time covers both sides of any transition that day.
  for (const probe of [naive - DAY_MS, naive + DAY_MS]) {
    const offset = wallAsUtc(wallClockOf(probe, timeZone)) - (probe - (probe % MINUTE_MS));
    candidates.add(naive - offset);
  }
  const matching = [...candidates]
    .filter((c) => wallAsUtc(wallClockOf(c, timeZone)) === naive)
    .sort((a, b) => a - b);
  return matching[0];
}

// ---------------------------------------------------------------------------------------------
// Occurrences
// ---------------------------------------------------------------------------------------------

/**
 * The latest time the schedule fired at or before `at`, or undefined when it never did (an `at(…)`
 * in the future, a cron whose years are all ahead). One digest per occurrence keys on this value.
 * @param timeZone IANA name the expression is evaluated in. @default UTC
 */
export function latestOccurrence(
  schedule: string | ScheduleExpression,
  at: Date,
  timeZone = 'UTC',
): Date | undefined {
  const parsed = typeof schedule === 'string' ? parseScheduleExpression(schedule) : schedule;
  const instant = at.getTime();
  if (parsed.kind === 'rate') return new Date(Math.floor(instant / parsed.periodMs) * parsed.periodMs);
  if (parsed.kind === 'at') {
    const [date, time] = parsed.at.split('T') as [string, string];
    const [year, month, day] = date.split('-').map(Number) as [number, number, number];
    const [hour, minute] = time.split(':').map(Number) as [number, number];
    const when = instantOfWallClock({ year, month, day, hour, minute }, timeZone);
    return when !== undefined && when <= instant ? new Date(when) : undefined;
  }
  const cron = parsed.cron;
  const now = wallClockOf(instant, timeZone);
  const hours = [...cron.hours].sort((a, b) => b - a);
  const minutes = [...cron.minutes].sort((a, b) => b - a);
  // Walk local calendar days backwards from today; on each matching day, the latest time first.
  for (let back = 0; back <= SEARCH_DAYS; back++) {
    const date = new Date(Date.UTC(now.year, now.month - 1, now.day - back));
    const local: LocalDate = {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
    };
    if (cron.years && !cron.years(local.year)) continue;
    if (!cron.months.has(local.month) || !cron.day(local)) continue;
    for (const hour of hours) {
      // Today, times later than the clock shows cannot have occurred; a fall-back hour may repeat,
      // so the instant check below is what decides.
      if (back === 0 && hour > now.hour + 1) continue;
      for (const minute of minutes) {
        const when = instantOfWallClock({ ...local, hour, minute }, timeZone);
        if (when !== undefined && when <= instant) return new Date(when);
      }
    }
  }
  return undefined;
}

/** The fixed interval of a rate expression; undefined for cron and at expressions. */
export function periodOf(schedule: string | ScheduleExpression): number | undefined {
  const parsed = typeof schedule === 'string' ? parseScheduleExpression(schedule) : schedule;
  return parsed.kind === 'rate' ? parsed.periodMs : undefined;
}

/**
 * The longest time between two consecutive occurrences in the `days` before `until` (e.g. a weekday
 * cron's weekend); for a rate, its period. Sizes dead man's switch windows. Undefined when the
 * schedule fires fewer than twice in that span.
 */
export function longestGap(
  schedule: string | ScheduleExpression,
  timeZone = 'UTC',
  until: Date = new Date(Date.UTC(2026, 0, 1)),
  days = 35,
): number | undefined {
  const parsed = typeof schedule === 'string' ? parseScheduleExpression(schedule) : schedule;
  if (parsed.kind === 'rate') return parsed.periodMs;
  const from = until.getTime() - days * DAY_MS;
  let longest: number | undefined;
  let later = latestOccurrence(parsed, until, timeZone);
  while (later && later.getTime() > from) {
    const earlier = latestOccurrence(parsed, new Date(later.getTime() - 1), timeZone);
    if (!earlier) break;
    longest = Math.max(longest ?? 0, later.getTime() - earlier.getTime());
    later = earlier;
  }
  return longest;
}

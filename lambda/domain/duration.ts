/**
 * Durations as people write them in configuration and on the command line: `90d`, `12h`, `1d12h`,
 * `2160h0m0s` (Go, as cert-manager prints them), `1d 12h` (what `formatDuration` prints), and
 * ISO 8601 (`P30D`, `PT12H`, `P2W`). Everything is milliseconds inside certrotor.
 */
import { DAY_MS } from './certificate';
import { InvalidInputError } from './errors';

export { DAY_MS };
export const SECOND_MS = 1_000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const WEEK_MS = 7 * DAY_MS;

const UNIT_MS: Readonly<Record<string, number>> = {
  w: WEEK_MS,
  d: DAY_MS,
  h: HOUR_MS,
  m: MINUTE_MS,
  s: SECOND_MS,
  ms: 1,
};

const COMPACT = /^(?:\d+(?:\.\d+)?(?:ms|w|d|h|m|s)\s*)+$/i;
const COMPACT_PART = /(\d+(?:\.\d+)?)(ms|w|d|h|m|s)/gi;
const ISO_WEEKS = /^P(\d+(?:[.,]\d+)?)W$/i;
const ISO =
  /^P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/i;

export type DurationParse =
  { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly problem: string };

/**
 * Parses a duration without throwing, for validators that collect every problem at once.
 * `problem` describes what is wrong with the text, without a path.
 */
export function tryParseDuration(text: string): DurationParse {
  if (typeof text !== 'string') return fail(`expected a duration string such as 90d, got ${typeof text}`);
  const trimmed = text.trim();
  if (trimmed === '') return fail('empty duration (write e.g. 90d, 12h, 1d12h or P30D)');
  if (trimmed.startsWith('-')) return fail(`"${text}" is negative; durations must be zero or more`);
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) {
    return fail(`"${text}" has no unit (write ${trimmed}d, ${trimmed}h, ${trimmed}m or ${trimmed}s)`);
  }
  const ms = /^P/i.test(trimmed) ? parseIso(trimmed) : parseCompact(trimmed);
  if (typeof ms === 'string') return fail(ms.replace('%s', text));
  if (!Number.isSafeInteger(Math.round(ms))) return fail(`"${text}" is too large`);
  return { ok: true, ms: Math.round(ms) };
}

/**
 * Parses a duration to milliseconds.
 * @param path what the text is (a configuration path or flag), named in the error
 * @default path `duration`
 * @throws InvalidInputError naming `path` and the text when it is not a duration
 */
export function parseDuration(text: string, path = 'duration'): number {
  const parsed = tryParseDuration(text);
  if (!parsed.ok) throw new InvalidInputError(`${path}: ${parsed.problem}`);
  return parsed.ms;
}

/**
 * Human form with the most significant units, truncated: `90d`, `1d 12h`, `45m`, `30s`, `250ms`.
 * The output parses back with `parseDuration` (exactly when no smaller unit was dropped).
 * @param maxUnits how many units to show @default 2
 */
export function formatDuration(ms: number, maxUnits = 2): string {
  if (!Number.isFinite(ms)) return String(ms);
  const sign = ms < 0 ? '-' : '';
  let rest = Math.trunc(Math.abs(ms));
  if (rest < SECOND_MS) return `${sign}${rest === 0 ? '0s' : `${rest}ms`}`;
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', DAY_MS],
    ['h', HOUR_MS],
    ['m', MINUTE_MS],
    ['s', SECOND_MS],
  ] as const) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${unit}`);
  }
  const shown = parts.slice(0, Math.max(1, maxUnits)).filter((part) => !/^0[a-z]/.test(part));
  return `${sign}${shown.join(' ')}`;
}

function parseCompact(text: string): number | string {
  if (!COMPACT.test(text)) {
    return `"%s" is not a duration (write e.g. 90d, 12h, 30m, 45s, 1w, 1d12h or ISO 8601 P30D, PT12H)`;
  }
  let total = 0;
  for (const match of text.matchAll(COMPACT_PART)) {
    total += Number(match[1]) * (UNIT_MS[(match[2] as string).toLowerCase()] as number);
  }
  return total;
}

function parseIso(text: string): number | string {
  const weeks = ISO_WEEKS.exec(text);
  if (weeks) return isoNumber(weeks[1]) * WEEK_MS;
  const match = ISO.exec(text);
  // "P" and "PT" alone match the pattern with every component absent.
  if (!match || !match.slice(1).some((part) => part !== undefined) || /T$/i.test(text)) {
    return `"%s" is not an ISO 8601 duration (write e.g. P30D, PT12H, P1DT12H or P2W)`;
  }
  const [, years, months, days, hours, minutes, seconds] = match;
  if (years !== undefined || months !== undefined) {
    return `"%s" uses years or months, which have no fixed length; write days instead (e.g. P365D, P30D)`;
  }
  return (
    isoNumber(days) * DAY_MS +
    isoNumber(hours) * HOUR_MS +
    isoNumber(minutes) * MINUTE_MS +
    isoNumber(seconds) * SECOND_MS
  );
}

function isoNumber(part: string | undefined): number {
  return part === undefined ? 0 : Number(part.replace(',', '.'));
}

function fail(problem: string): DurationParse {
  return { ok: false, problem };
}

/**
 * Dates in status-page feeds, to UTC: RFC 3339 (Atom, JSON), RFC 822/1123 (RSS), and dates written in
 * prose ("on 2026-12-01 at 14:00 UTC", "December 1, 2026 14:00 UTC") with their role (start or
 * cutover) and whether they are ambiguous.
 */
import type { DateParse, TextDate } from './feed-parsing';

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/** RFC 3339 (Atom, Statuspage JSON) to UTC. A time without an offset is a problem, not UTC. */
export function parseRfc3339(text: string): DateParse {
  const value = text.trim();
  const match = RFC3339.exec(value);
  if (!match) {
    if (/^\d{4}-\d{2}-\d{2}$/.test(value))
      return { ok: false, problem: `"${value}" has no time or time zone` };
    return { ok: false, problem: `"${value}" is not an RFC 3339 date-time` };
  }
  const [, y, mo, d, h, mi, s, fraction, z, sign, oh, om] = match;
  if (z === undefined && sign === undefined) {
    return { ok: false, problem: `"${value}" has no time zone offset` };
  }
  const offset = z !== undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  return instantOf(
    value,
    +y!,
    +mo!,
    +d!,
    +h!,
    +mi!,
    +s!,
    offset,
    fraction ? Math.round(Number(fraction) * 1000) : 0,
  );
}

/** RFC 822 zones; the military single letters other than Z were never used consistently. */
const RFC822_ZONES: Readonly<Record<string, number>> = {
  UT: 0,
  UTC: 0,
  GMT: 0,
  Z: 0,
  EST: -300,
  EDT: -240,
  CST: -360,
  CDT: -300,
  MST: -420,
  MDT: -360,
  PST: -480,
  PDT: -420,
};
const MONTHS: Readonly<Record<string, number>> = {
  jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, sept: 9, oct: 10, nov: 11, dec: 12,
  january: 1, february: 2, march: 3, april: 4, june: 6, july: 7, august: 8, september: 9, october: 10,
  november: 11, december: 12,
}; // prettier-ignore

const RFC822 =
  /^(?:[A-Za-z]{3},?\s+)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{2}|\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{4}|[A-Za-z]{1,4})?$/;

/** RFC 822/1123 (RSS pubDate) to UTC. */
export function parseRfc822(text: string): DateParse {
  const value = text.trim().replace(/\s+/g, ' ');
  const match = RFC822.exec(value);
  if (!match) return { ok: false, problem: `"${value}" is not an RFC 822 date` };
  const [, d, mon, yy, h, mi, s, zone] = match;
  const month = MONTHS[mon!.toLowerCase()];
  if (month === undefined) return { ok: false, problem: `"${value}": unknown month ${mon}` };
  // RFC 822 two-digit years: RFC 2822 reads 00-49 as 20xx, 50-99 as 19xx.
  const year = yy!.length === 2 ? (Number(yy) < 50 ? 2000 + Number(yy) : 1900 + Number(yy)) : Number(yy);
  if (zone === undefined) return { ok: false, problem: `"${value}" has no time zone` };
  let offset: number | undefined;
  if (/^[+-]\d{4}$/.test(zone)) {
    offset = (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  } else {
    offset = RFC822_ZONES[zone.toUpperCase()];
  }
  if (offset === undefined) return { ok: false, problem: `"${value}": unknown time zone ${zone}` };
  return instantOf(value, year, month, +d!, +h!, +mi!, s ? +s : 0, offset, 0);
}

function instantOf(
  value: string,
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  offsetMinutes: number,
  ms: number,
): DateParse {
  if (Math.abs(offsetMinutes) > 14 * 60) return { ok: false, problem: `"${value}": offset out of range` };
  const local = Date.UTC(year, month - 1, day, hour, minute, second === 60 ? 59 : second, ms);
  const check = new Date(local);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 60
  ) {
    return { ok: false, problem: `"${value}" is not a valid date` };
  }
  return { ok: true, at: new Date(local - offsetMinutes * 60_000).toISOString() };
}

/** Zones read without doubt in free text (minutes east of UTC). */
const TEXT_ZONES: Readonly<Record<string, number>> = {
  Z: 0, UTC: 0, GMT: 0, UT: 0, WET: 0, WEST: 60, CET: 60, CEST: 120, EET: 120, EEST: 180, MSK: 180,
  JST: 540, KST: 540, AEST: 600, AEDT: 660, NZST: 720, NZDT: 780,
  EST: -300, EDT: -240, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420, AKST: -540, HST: -600,
}; // prettier-ignore
/** Abbreviations with several meanings: every reading, so the earliest can be taken. */
const AMBIGUOUS_ZONES: Readonly<Record<string, readonly number[]>> = {
  CST: [-360, 480], // US Central, China
  IST: [330, 60, 120], // India, Ireland, Israel
  BST: [60, 360], // British Summer, Bangladesh
  AST: [-240, 180], // Atlantic, Arabia
};
/** With no zone at all, the earliest possible reading is local time at UTC+14. */
const EARLIEST_OFFSET = 14 * 60;

const MONTH_NAMES =
  'january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec';
const ZONE_WORDS = [...Object.keys(TEXT_ZONES), ...Object.keys(AMBIGUOUS_ZONES)]
  .sort((a, b) => b.length - a.length)
  .join('|');
const TIME = String.raw`(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(?:\s*([ap])\.?m\.?)?`;
const ZONE = String.raw`\s*\(?((?:UTC|GMT)\s*[+-]\s*\d{1,2}(?::?\d{2})?|[+-]\d{2}:?\d{2}|${ZONE_WORDS})\)?(?![A-Za-z0-9])`;
const TEXT_DATE = new RegExp(
  String.raw`(?<![\dA-Za-z])(?:(\d{4})-(\d{2})-(\d{2})|(${MONTH_NAMES})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})|(\d{1,2})(?:st|nd|rd|th)?\s+(${MONTH_NAMES})\.?,?\s+(\d{4}))` +
    String.raw`(?:(?:\s*[Tt]\s*|,?\s+(?:at\s+|from\s+|between\s+)?)${TIME}(?:(?:\s+(?:-|–|to|until|and)\s+|\s*–\s*)${TIME})?(?:${ZONE})?)?`,
  'gi',
);

const CUTOVER_CUES =
  /\b(cut\s*-?over|switch(?:es|ed)?|retire[ds]?|no longer|stop(?:s|ped)?|remov(?:e|ed|al)|revok(?:e|ed)|expir(?:e|es|y)|replac(?:e|ed)|deadline|effective|decommission(?:ed)?|rotat(?:e|ed|ion)|will be updated|enforc(?:e|ed))\b/i;
const START_CUES = /\b(overlap|begin(?:s|ning)?|start(?:s|ing)?|from|available|both|dual|alongside)\b/i;

/** Every date written in `text`, with its earliest UTC reading and any doubt about it. */
export function findTextDates(text: string): TextDate[] {
  const dates: TextDate[] = [];
  for (const match of text.matchAll(TEXT_DATE)) {
    const g = match as unknown as (string | undefined)[];
    const year = Number(g[1] ?? g[6] ?? g[9]);
    const month = g[2] !== undefined ? Number(g[2]) : MONTHS[(g[4] ?? g[8] ?? '').toLowerCase()];
    const day = Number(g[3] ?? g[5] ?? g[7]);
    if (month === undefined) continue;
    const value = match[0].trim();
    const role = roleOf(text, match.index);
    const zoneText = g[18];
    const hasTime = g[10] !== undefined;
    if (!hasTime) {
      const earliest = instantOf(value, year, month, day, 0, 0, 0, EARLIEST_OFFSET, 0);
      if (!earliest.ok) continue;
      dates.push({
        text: value,
        at: earliest.at,
        problem: 'date without a time or time zone',
        role,
        index: match.index,
      });
      continue;
    }
    const hour = to24(Number(g[10]), g[13]);
    const minute = Number(g[11]);
    const second = g[12] !== undefined ? Number(g[12]) : 0;
    const zone = zoneOffsets(zoneText);
    const offset = zone.offsets.length > 0 ? Math.max(...zone.offsets) : EARLIEST_OFFSET;
    const start = instantOf(value, year, month, day, hour, minute, second, offset, 0);
    if (!start.ok) continue;
    let end: string | undefined;
    if (g[14] !== undefined) {
      const endAt = instantOf(
        value,
        year,
        month,
        day,
        to24(Number(g[14]), g[17]),
        Number(g[15]),
        g[16] ? Number(g[16]) : 0,
        offset,
        0,
      );
      // A range past midnight (22:00-02:00) ends the next day.
      if (endAt.ok)
        end = endAt.at < start.at ? new Date(Date.parse(endAt.at) + 86_400_000).toISOString() : endAt.at;
    }
    const problem =
      zoneText === undefined
        ? 'time without a time zone'
        : zone.ambiguous
          ? `time zone ${zoneText} is ambiguous; the earliest reading is used`
          : undefined;
    dates.push({
      text: value,
      at: start.at,
      ...(end ? { end } : {}),
      ...(problem ? { problem } : {}),
      role,
      index: match.index,
    });
  }
  return dates;
}

function to24(hour: number, meridiem: string | undefined): number {
  if (meridiem === undefined) return hour;
  const pm = meridiem.toLowerCase() === 'p';
  if (hour === 12) return pm ? 12 : 0;
  return pm ? hour + 12 : hour;
}

function zoneOffsets(zone: string | undefined): { offsets: number[]; ambiguous: boolean } {
  if (zone === undefined) return { offsets: [], ambiguous: false };
  const compact = zone.replace(/\s+/g, '').toUpperCase();
  const numeric = /^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$/.exec(compact);
  if (numeric) {
    const minutes = Number(numeric[2]) * 60 + Number(numeric[3] ?? 0);
    return { offsets: [(numeric[1] === '-' ? -1 : 1) * minutes], ambiguous: false };
  }
  const known = TEXT_ZONES[compact];
  if (known !== undefined) return { offsets: [known], ambiguous: false };
  const several = AMBIGUOUS_ZONES[compact];
  if (several) return { offsets: [...several], ambiguous: true };
  return { offsets: [], ambiguous: false };
}

/** The words between the start of the date's sentence and the date say what it is. */
function roleOf(text: string, index: number): TextDate['role'] {
  const before = text.slice(Math.max(0, index - 120), index);
  const sentence = before.split(/[.!?](?:\s|$)|\n/).pop() ?? before;
  const cut = CUTOVER_CUES.test(sentence);
  const start = START_CUES.test(sentence);
  if (cut && !start) return 'cutover';
  if (start && !cut) return 'start';
  return 'unknown';
}

// ---------------------------------------------------------------------------------------------

/**
 * Status-page feeds turned into upstream rotation announcements: Atom, RSS and the Statuspage JSON
 * scheduled-maintenances format. Pure: the text comes in, drafts come out; fetching is an adapter's.
 *
 * Only certificate-related items become announcements (keywords with word boundaries). Dates are
 * parsed to UTC: RFC 3339 for Atom and JSON, RFC 822/1123 for RSS, and dates written in the body
 * ("on 2026-12-01 at 14:00 UTC", "December 1, 2026 14:00 UTC"). Anything a machine cannot read with
 * confidence (no date, a date without a time or time zone, an ambiguous zone, a window ending before
 * it starts, several candidate dates) is flagged `needsReview` with the reason; the earliest reading
 * is kept meanwhile so that deadlines err early, never late.
 *
 * Hostile input: the size is capped before parsing, XML entity declarations are refused outright
 * (no billion laughs), and the parser never expands entities; the five XML entities and character
 * references are decoded here, once.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { InvalidInputError } from './errors';
import type { AnnouncementDraft } from './upstream-announcement';

export type FeedKind = 'atom' | 'rss' | 'statuspage-json';

/** @default 2 MiB: a status feed is a few hundred kilobytes at most. */
export const DEFAULT_FEED_MAX_BYTES = 2 * 1024 * 1024;

/** Words that mark an item as certificate related (matched case-insensitively, as whole words). */
export const DEFAULT_FEED_KEYWORDS: readonly string[] = [
  'certificate',
  'certificates',
  'cert',
  'certs',
  'TLS',
  'SSL',
  'CA',
  'root CA',
  'root certificate',
  'intermediate',
  'rotation',
  'rotate',
  'rotating',
  'mTLS',
  'mutual TLS',
  'client certificate',
  'X.509',
  'trust store',
  'truststore',
  'CA bundle',
];

export interface FeedParseOptions {
  readonly kind: FeedKind;
  /** Upstream name from configuration. */
  readonly upstream: string;
  /** The feed's URL or another name for it, used in messages and in source ids. */
  readonly feedName: string;
  /** Replaces the default keywords. */
  readonly match?: readonly string[];
  /** Statuspage: keep only maintenances touching these components (by name, case-insensitive). */
  readonly components?: readonly string[];
  /** @default DEFAULT_FEED_MAX_BYTES */
  readonly maxBytes?: number;
}

export interface FeedParseResult {
  /** One draft per certificate-related item, in feed order. */
  readonly announcements: readonly AnnouncementDraft[];
  /** Items that were not certificate related (or not for the configured components). */
  readonly skipped: number;
}

/** A date found in free text. */
export interface TextDate {
  /** As written. */
  readonly text: string;
  /** Earliest UTC reading, ISO 8601. */
  readonly at: string;
  /** End of a time range on the same day (`14:00-16:00 UTC`), ISO 8601. */
  readonly end?: string;
  /** Why this reading is not certain; absent when it is. */
  readonly problem?: string;
  /** What the surrounding words say this date is. */
  readonly role: 'start' | 'cutover' | 'unknown';
  readonly index: number;
}

export type DateParse =
  { readonly ok: true; readonly at: string } | { readonly ok: false; readonly problem: string };

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/**
 * Certificate-related items of one feed, as announcement drafts.
 * @throws InvalidInputError naming the feed when it is too large, not well-formed, declares XML
 *   entities, or is not the format expected
 */
export function parseFeed(input: string, options: FeedParseOptions): FeedParseResult {
  const maxBytes = options.maxBytes ?? DEFAULT_FEED_MAX_BYTES;
  const size = Buffer.byteLength(input, 'utf8');
  if (size > maxBytes) {
    throw new InvalidInputError(
      `feed ${options.feedName}: ${size} bytes exceeds the ${maxBytes}-byte limit; refusing to parse it`,
    );
  }
  const entries =
    options.kind === 'statuspage-json' ? statuspageEntries(input, options) : xmlEntries(input, options);
  const keywords = keywordMatcher(options.match ?? DEFAULT_FEED_KEYWORDS);
  const announcements: AnnouncementDraft[] = [];
  let skipped = 0;
  for (const entry of entries) {
    const matched = keywords(`${entry.title}\n${entry.text}`);
    if (matched.length === 0 || !componentsMatch(entry.components, options.components)) {
      skipped++;
      continue;
    }
    announcements.push(draftOf(entry, matched, options));
  }
  return { announcements, skipped };
}

// ---------------------------------------------------------------------------------------------
// Entries: the common shape of an Atom entry, an RSS item and a scheduled maintenance
// ---------------------------------------------------------------------------------------------

interface Entry {
  readonly id: string;
  readonly title: string;
  /** Plain text (markup removed) for keyword and date search. */
  readonly text: string;
  /** As published, for the reviewer. */
  readonly raw: string;
  readonly link?: string;
  readonly published?: DateParse;
  /** Structured window (Statuspage). */
  readonly scheduledFor?: DateParse | 'missing';
  readonly scheduledUntil?: DateParse;
  readonly components?: readonly string[];
}

type XmlNode = Record<string, unknown>;

function xmlEntries(input: string, options: FeedParseOptions): Entry[] {
  const where = `feed ${options.feedName}`;
  if (/<!ENTITY/i.test(input)) {
    // Entity declarations are how expansion bombs and external entity reads start; feeds need none.
    throw new InvalidInputError(`${where}: declares XML entities (<!ENTITY); refusing to parse it`);
  }
  const valid = XMLValidator.validate(input);
  if (valid !== true) {
    throw new InvalidInputError(
      `${where}: is not well-formed XML (line ${valid.err.line}: ${valid.err.msg.replace(/\.$/, '')})`,
    );
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    processEntities: false,
    htmlEntities: false,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    removeNSPrefix: false,
    isArray: (name) => name === 'entry' || name === 'item' || name === 'link',
  });
  let document: XmlNode;
  try {
    document = parser.parse(input) as XmlNode;
  } catch (error) {
    throw new InvalidInputError(
      `${where}: is not well-formed XML (${error instanceof Error ? error.message : String(error)})`,
      { cause: error },
    );
  }
  if (options.kind === 'atom') {
    const feed = document.feed as XmlNode | undefined;
    if (!isNode(feed)) throw new InvalidInputError(`${where}: is not an Atom feed (no <feed> element)`);
    return asArray(feed.entry).filter(isNode).map(atomEntry);
  }
  const channel =
    (document.rss as XmlNode | undefined)?.channel ?? (document['rdf:RDF'] as XmlNode | undefined);
  if (!isNode(channel)) throw new InvalidInputError(`${where}: is not an RSS feed (no <rss><channel>)`);
  const items = asArray((channel as XmlNode).item ?? (document['rdf:RDF'] as XmlNode | undefined)?.item);
  return items.filter(isNode).map(rssItem);
}

function atomEntry(entry: XmlNode): Entry {
  const title = textOf(entry.title);
  const bodyRaw = textOf(entry.content) || textOf(entry.summary);
  const links = asArray(entry.link).filter(isNode);
  const link =
    links.find((l) => l['@_rel'] === undefined || l['@_rel'] === 'alternate')?.['@_href'] ??
    links[0]?.['@_href'];
  const publishedText = textOf(entry.published) || textOf(entry.updated);
  return {
    id: textOf(entry.id) || textOf(link) || title,
    title: plain(title),
    text: plain(bodyRaw),
    raw: decodeXml(bodyRaw),
    ...(typeof link === 'string' ? { link } : {}),
    ...(publishedText ? { published: parseRfc3339(publishedText) } : {}),
  };
}

function rssItem(item: XmlNode): Entry {
  const title = textOf(item.title);
  const bodyRaw = textOf(item['content:encoded']) || textOf(item.description);
  const link = textOf(asArray(item.link)[0]);
  const published = textOf(item.pubDate) || textOf(item['dc:date']);
  return {
    id: textOf(item.guid) || link || title,
    title: plain(title),
    text: plain(bodyRaw),
    raw: decodeXml(bodyRaw),
    ...(link ? { link } : {}),
    ...(published
      ? { published: item.pubDate !== undefined ? parseRfc822(published) : parseRfc3339(published) }
      : {}),
  };
}

function statuspageEntries(input: string, options: FeedParseOptions): Entry[] {
  const where = `feed ${options.feedName}`;
  let document: unknown;
  try {
    document = JSON.parse(input);
  } catch (error) {
    throw new InvalidInputError(`${where}: is not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  const list = isNode(document) ? document.scheduled_maintenances : undefined;
  if (!Array.isArray(list)) {
    throw new InvalidInputError(`${where}: has no scheduled_maintenances array (not a Statuspage feed)`);
  }
  return list.filter(isNode).map((item, index) => {
    const updates = asArray(item.incident_updates).filter(isNode);
    // Oldest update first, so the text reads in the order it was written.
    const bodies = updates
      .map((u) => ({ body: typeof u.body === 'string' ? u.body : '', at: String(u.created_at ?? '') }))
      .sort((a, b) => a.at.localeCompare(b.at))
      .map((u) => u.body)
      .filter((body) => body !== '');
    const name = typeof item.name === 'string' ? item.name : '';
    const raw = bodies.join('\n\n');
    const scheduledFor = typeof item.scheduled_for === 'string' ? item.scheduled_for : undefined;
    const scheduledUntil = typeof item.scheduled_until === 'string' ? item.scheduled_until : undefined;
    const created = typeof item.created_at === 'string' ? item.created_at : undefined;
    const link = typeof item.shortlink === 'string' ? item.shortlink : undefined;
    return {
      id: typeof item.id === 'string' || typeof item.id === 'number' ? String(item.id) : `index-${index}`,
      title: name,
      text: plain(raw),
      raw,
      ...(link ? { link } : {}),
      ...(created ? { published: parseRfc3339(created) } : {}),
      scheduledFor: scheduledFor ? parseRfc3339(scheduledFor) : 'missing',
      ...(scheduledUntil ? { scheduledUntil: parseRfc3339(scheduledUntil) } : {}),
      components: asArray(item.components)
        .filter(isNode)
        .map((c) => (typeof c.name === 'string' ? c.name : ''))
        .filter((c) => c !== ''),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// From an entry to a draft: deciding the window
// ---------------------------------------------------------------------------------------------

function draftOf(entry: Entry, keywords: readonly string[], options: FeedParseOptions): AnnouncementDraft {
  const reasons: string[] = [];
  let windowStart: string | undefined;
  let cutover: string | undefined;
  let windowEnd: string | undefined;

  if (entry.published && !entry.published.ok) reasons.push(`publication date: ${entry.published.problem}`);
  const publishedAt = entry.published?.ok ? entry.published.at : undefined;

  if (entry.scheduledFor !== undefined && entry.scheduledFor !== 'missing' && entry.scheduledFor.ok) {
    // A scheduled maintenance: the vendor may switch as soon as it starts, so that is the cutover.
    cutover = entry.scheduledFor.at;
    if (entry.scheduledUntil?.ok) {
      windowEnd = entry.scheduledUntil.at;
      if (Date.parse(windowEnd) < Date.parse(cutover)) {
        reasons.push(`window end ${windowEnd} is before its start ${cutover}`);
      }
    } else if (entry.scheduledUntil) {
      reasons.push(`scheduled_until: ${entry.scheduledUntil.problem}`);
    }
  } else {
    if (entry.scheduledFor === 'missing') reasons.push('scheduled_for is missing');
    else if (entry.scheduledFor !== undefined && !entry.scheduledFor.ok)
      reasons.push(`scheduled_for: ${entry.scheduledFor.problem}`);
    const decided = decideFromText(`${entry.title}\n${entry.text}`, publishedAt);
    reasons.push(...decided.reasons);
    ({ windowStart, cutover, windowEnd } = decided);
  }

  return {
    source: options.kind,
    sourceId: `${options.feedName}#${entry.id}`,
    upstream: options.upstream,
    title: entry.title || '(untitled)',
    rawText: entry.raw,
    ...(entry.link ? { link: entry.link } : {}),
    ...(publishedAt ? { publishedAt } : {}),
    ...(windowStart ? { windowStart } : {}),
    ...(cutover ? { cutover } : {}),
    ...(windowEnd ? { windowEnd } : {}),
    ...(entry.components && entry.components.length > 0 ? { affectedResources: entry.components } : {}),
    keywords,
    needsReview: reasons.length > 0,
    reviewReasons: reasons,
  };
}

interface TextDecision {
  readonly windowStart?: string;
  readonly cutover?: string;
  readonly windowEnd?: string;
  readonly reasons: readonly string[];
}

function decideFromText(text: string, publishedAt: string | undefined): TextDecision {
  const found = findTextDates(text);
  if (found.length === 0) return { reasons: ['no date found in the text'] };
  const reasons = found.flatMap((d) => (d.problem ? [`"${d.text}": ${d.problem}`] : []));
  const distinct = uniqueBy(found, (d) => d.at);
  if (distinct.length === 1) {
    const only = distinct[0] as TextDate;
    return {
      cutover: only.at,
      ...(only.end ? { windowEnd: only.end } : {}),
      ...(publishedAt && publishedAt < only.at ? { windowStart: publishedAt } : {}),
      reasons,
    };
  }
  const starts = distinct.filter((d) => d.role === 'start');
  const cutovers = distinct.filter((d) => d.role === 'cutover');
  if (distinct.length === 2 && starts.length === 1 && cutovers.length === 1) {
    const start = starts[0] as TextDate;
    const cut = cutovers[0] as TextDate;
    if (start.at <= cut.at) return { windowStart: start.at, cutover: cut.at, reasons };
    return {
      windowStart: cut.at,
      cutover: cut.at,
      reasons: [
        ...reasons,
        `window end ${cut.at} ("${cut.text}") is before its start ${start.at} ("${start.text}")`,
      ],
    };
  }
  const earliest = [...distinct].sort((a, b) => a.at.localeCompare(b.at))[0] as TextDate;
  return {
    cutover: earliest.at,
    reasons: [
      ...reasons,
      `several candidate dates (${distinct.map((d) => `"${d.text}"`).join(', ')}); the earliest, ${earliest.at}, is used until a human confirms`,
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Keywords and components
// ---------------------------------------------------------------------------------------------

function keywordMatcher(words: readonly string[]): (text: string) => string[] {
  const patterns = words.map((word) => {
    const escaped = word
      .trim()
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\s+/g, '\\s+');
    // "root cause" is an incident post-mortem, not a root CA.
    const guard = /^root$/i.test(word.trim()) ? '(?!\\s+cause)' : '';
    return { word, pattern: new RegExp(`(?<![A-Za-z0-9])${escaped}(?![A-Za-z0-9])${guard}`, 'i') };
  });
  return (text) => patterns.filter((p) => p.pattern.test(text)).map((p) => p.word);
}

function componentsMatch(
  components: readonly string[] | undefined,
  wanted: readonly string[] | undefined,
): boolean {
  if (!wanted || wanted.length === 0 || !components || components.length === 0) return true;
  const set = new Set(wanted.map((c) => c.toLowerCase()));
  return components.some((c) => set.has(c.toLowerCase()));
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

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
// Text helpers
// ---------------------------------------------------------------------------------------------

function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** Text content of an element that may carry attributes (`{ '#text': …, '@_type': 'html' }`). */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isNode(value)) {
    const text = value['#text'];
    if (typeof text === 'string' || typeof text === 'number') return String(text);
  }
  return '';
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: ' ', ndash: '–', mdash: '—',
}; // prettier-ignore

/** Decodes the XML entities and character references once; never recursively, never declared ones. */
export function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|[a-zA-Z]{2,6});/g, (whole, name: string) => {
    if (name.startsWith('#x') || name.startsWith('#X'))
      return safeCodePoint(parseInt(name.slice(2), 16), whole);
    if (name.startsWith('#')) return safeCodePoint(Number(name.slice(1)), whole);
    return NAMED_ENTITIES[name] ?? whole;
  });
}

function safeCodePoint(code: number, fallback: string): string {
  return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : fallback;
}

/** Markup removed, entities decoded (feeds often escape HTML twice), whitespace collapsed. */
function plain(text: string): string {
  const once = decodeXml(text);
  const stripped = once.replace(/<(?:br|\/p|\/li|\/div|\/h\d)\s*\/?>/gi, '\n').replace(/<[^>]*>/g, ' ');
  return decodeXml(stripped)
    .replace(/[ \t\r\f\v\u00a0]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .trim();
}

function uniqueBy<T>(values: readonly T[], key: (value: T) => string): T[] {
  const seen = new Set<string>();
  return values.filter((value) => {
    const k = key(value);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

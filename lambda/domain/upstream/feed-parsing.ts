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
 *
 * Dates (RFC 3339, RFC 822 and dates written in prose) are read in feed-dates.ts.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { InvalidInputError } from '../errors';
import type { AnnouncementDraft } from './announcement';
import { findTextDates, parseRfc3339, parseRfc822 } from './feed-dates';

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

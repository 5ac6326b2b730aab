/**
 * The daily digest: every open item within the horizon, grouped by urgency, in one message per channel.
 */
import { DAY_MS } from '../certificate';
import { HOUR_MS, MINUTE_MS, parseDuration } from '../duration';
import { type CatalogueEvent, type CertificateRef } from '../events';
import type { ChatMessage } from '../ports';
import { CRITICAL_DAYS, type ThresholdScaling, thresholdMs } from '../thresholds';
import {
  type Block,
  SLACK_LIMITS,
  bold,
  code,
  describeTimeLeft,
  enforceLimits,
  escapeText,
  formatTime,
  header,
  plural,
  remainingMsUntil,
  section,
  summariseList,
  truncate,
} from './slack-blocks';
import { certLabel } from './event-parts';
import type { CommonDetail } from './event-message';

// ---------------------------------------------------------------------------------------------
// Digest
// ---------------------------------------------------------------------------------------------

/** One line of a digest: a certificate or a finding with its time left and owner. */
export interface DigestItem {
  /** Certificate name or subject, upstream name, endpoint. */
  readonly title: string;
  /** Detail type or finding kind: `Certificate Expiring`, `drift`. */
  readonly kind: string;
  /** When it expires or the deadline falls (ISO 8601); items without one are listed as "other findings". */
  readonly expiresAt?: string;
  readonly environments: readonly string[];
  readonly owner?: string;
  readonly fingerprintSha256?: string;
  readonly severity?: string;
  /** The certificate's start of validity, when known: the owner mention scales with its lifetime. */
  readonly notBefore?: string;
}

export interface DigestOptions {
  /** Items expiring later than now + horizon are left out: milliseconds or a duration (`7d`). */
  readonly horizon: number | string;
  readonly now: Date;
  /** The channel (or team) this digest is for, named in the header. */
  readonly channel: string;
  readonly runbookBaseUrl?: string;
  /** Mention for an owner with anything at or below `escalateAtDays`. */
  readonly mentionFor?: (owner: string) => string | undefined;
  /** @default 3, scaled by each item's lifetime like every threshold (see `mentionThresholdMs`) */
  readonly escalateAtDays?: number;
  /** How day thresholds apply (`notifications.thresholdScaling`). @default 'absolute' */
  readonly thresholdScaling?: ThresholdScaling;
}

interface Bucket {
  readonly label: string;
  /** Inclusive upper bound of remaining time, ms; items fall into the first bucket that holds them. */
  readonly upTo: number;
}

const DIGEST_BUCKETS: readonly Bucket[] = [
  { label: 'Expired', upTo: 0 },
  { label: 'Within 1 day', upTo: DAY_MS },
  { label: '1 to 3 days', upTo: 3 * DAY_MS },
  { label: '3 to 7 days', upTo: 7 * DAY_MS },
  { label: '7 to 14 days', upTo: 14 * DAY_MS },
  { label: '14 to 30 days', upTo: 30 * DAY_MS },
  { label: 'Later', upTo: Number.POSITIVE_INFINITY },
];

/** Builds a digest item from a catalogue event: the certificate or upstream it is about and its expiry. */
export function digestItemFromEvent(event: Pick<CatalogueEvent, 'detailType' | 'detail'>): DigestItem {
  const d = event.detail as CommonDetail & {
    certificate?: CertificateRef;
    previous?: CertificateRef;
    upstream?: { name: string } | string;
    announcement?: { deadline: string };
    endpoint?: { host: string; port: number };
    rotation?: { name: string };
    channel?: string;
    schedule?: string;
    name?: string;
  };
  const upstreamName = typeof d.upstream === 'string' ? d.upstream : d.upstream?.name;
  const title =
    d.name ??
    d.rotation?.name ??
    (d.certificate ? certLabel(d.certificate) : undefined) ??
    upstreamName ??
    (d.endpoint ? `${d.endpoint.host}:${d.endpoint.port}` : undefined) ??
    d.channel ??
    d.schedule ??
    event.detailType;
  const expiresAt = d.announcement?.deadline ?? d.certificate?.notAfter ?? d.previous?.notAfter;
  const fingerprint = d.certificate?.fingerprintSha256;
  // The lifetime of the certificate whose expiry this is (not an upstream deadline's).
  const notBefore = d.announcement?.deadline
    ? undefined
    : d.certificate?.notAfter !== undefined
      ? d.certificate.notBefore
      : d.previous?.notBefore;
  return {
    title,
    kind: event.detailType,
    environments: d.environments,
    severity: d.severity,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    ...(d.owner !== undefined ? { owner: d.owner } : {}),
    ...(fingerprint !== undefined ? { fingerprintSha256: fingerprint } : {}),
    ...(notBefore !== undefined ? { notBefore } : {}),
  };
}

/**
 * One message for many items: grouped by time left (expired, within a day, 1–3, 3–7, 7–14, 14–30 days,
 * later) and, inside each group, by owner. 200 certificates expiring in one week make one message.
 */
export function buildDigest(items: readonly DigestItem[], options: DigestOptions): ChatMessage {
  const horizonMs =
    typeof options.horizon === 'number' ? options.horizon : parseDuration(options.horizon, 'digest horizon');
  const escalateMs = (item: DigestItem) =>
    thresholdMs(
      options.escalateAtDays ?? CRITICAL_DAYS,
      item.expiresAt !== undefined && item.notBefore !== undefined
        ? { notAfter: item.expiresAt, notBefore: item.notBefore }
        : {},
      options.thresholdScaling,
    );

  const timed: { item: DigestItem; remaining: number }[] = [];
  const untimed: DigestItem[] = [];
  for (const item of items) {
    const remaining = remainingMsUntil(item.expiresAt, options.now);
    if (remaining === undefined) untimed.push(item);
    else if (remaining <= horizonMs) timed.push({ item, remaining });
  }
  timed.sort((a, b) => a.remaining - b.remaining || a.item.title.localeCompare(b.item.title));

  const buckets = DIGEST_BUCKETS.map((bucket) => ({
    bucket,
    entries: [] as { item: DigestItem; remaining: number }[],
  }));
  for (const entry of timed) {
    const target = buckets.find((b) => entry.remaining <= b.bucket.upTo) ?? buckets[buckets.length - 1]!;
    target.entries.push(entry);
  }
  const used = buckets.filter((b) => b.entries.length > 0);
  const total = timed.length + untimed.length;
  const horizonLabel = describeTimeLeft(horizonMs).replace(' left', '');

  const blocks: Block[] = [];
  blocks.push(
    header(`certrotor digest for ${options.channel}: ${plural(total, 'item')} within ${horizonLabel}`),
  );

  const urgentOwners = new Set(
    timed.filter((e) => e.remaining <= escalateMs(e.item)).map((e) => e.item.owner ?? ''),
  );
  // Owners sharing a channel often share its mention: ping each group once.
  const mentions = [
    ...new Set(
      [...urgentOwners]
        .filter((owner) => owner !== '')
        .map((owner) => options.mentionFor?.(owner))
        .filter((m): m is string => m !== undefined),
    ),
  ];
  const counts = used.map((b) => `${b.bucket.label}: ${b.entries.length}`);
  if (untimed.length > 0) counts.push(`Other findings: ${untimed.length}`);
  blocks.push(
    section(
      total === 0
        ? `:white_check_mark: Nothing expires within ${escapeText(horizonLabel)} and nothing else needs attention.`
        : `${mentions.length > 0 ? `${mentions.join(' ')} ` : ''}${escapeText(counts.join(' · '))}`,
    ),
  );

  for (const { bucket, entries } of used) {
    const byOwner = groupBy(entries, (e) => e.item.owner ?? 'no owner');
    // Every owner gets a share of the section, so a busy owner cannot crowd the others out.
    const perOwner = Math.max(
      150,
      Math.min(700, Math.floor((SLACK_LIMITS.sectionText - 100) / byOwner.size) - 30),
    );
    const ownerLines = [...byOwner.entries()]
      .sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))
      .map(([owner, list]) => {
        const names = list.map(
          (e) =>
            `${escapeText(e.item.title)} ${escapeText(compactTimeLeft(e.remaining))}${e.item.environments.length > 0 ? ` (${escapeText(e.item.environments.join(', '))})` : ''}`,
        );
        return `• ${bold(owner)} (${list.length}): ${inlineList(names, perOwner)}`;
      });
    const title = `*${bucket.label}* (${entries.length})`;
    blocks.push(
      section(
        `${title}\n${summariseList(ownerLines, SLACK_LIMITS.sectionText - title.length - 20, Infinity, 'owner')}`,
      ),
    );
  }
  if (untimed.length > 0) {
    const byKind = groupBy(untimed, (item) => item.kind);
    const lines = [...byKind.entries()].map(
      ([kind, list]) =>
        `• ${bold(kind)} (${list.length}): ${inlineList(
          list.map((i) => `${escapeText(i.title)}${i.owner ? ` [${escapeText(i.owner)}]` : ''}`),
          700,
        )}`,
    );
    const title = `*Other findings* (${untimed.length})`;
    blocks.push(section(`${title}\n${summariseList(lines, SLACK_LIMITS.sectionText - title.length - 20)}`));
  }
  const runbook = options.runbookBaseUrl ? `${options.runbookBaseUrl.replace(/\/+$/, '')}/digest` : undefined;
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `${escapeText(formatTime(options.now.toISOString()))} · ${code('certrotor plan --horizon ' + horizonLabel.replace(/ days?/, 'd').replace(/ hours?/, 'h'))} lists every item${runbook ? ` · Runbook: <${runbook}|digest>` : ''}`,
      },
    ],
  });

  const text = `${mentions.length > 0 ? `${mentions.join(' ')} ` : ''}certrotor digest for ${options.channel}: ${plural(total, 'item')} within ${horizonLabel}${counts.length > 0 ? ` (${counts.join(', ')})` : ''}`;
  return enforceLimits({ text, blocks });
}

/** `2d`, `5h`, `expired 3d ago`, for dense digest lines. */
function compactTimeLeft(remainingMs: number): string {
  const abs = Math.abs(remainingMs);
  const amount =
    abs >= 2 * DAY_MS
      ? `${Math.floor(abs / DAY_MS)}d`
      : abs >= HOUR_MS
        ? `${Math.floor(abs / HOUR_MS)}h`
        : `${Math.max(1, Math.ceil(abs / MINUTE_MS))}m`;
  return remainingMs >= 0 ? amount : `expired ${amount} ago`;
}

/** `a, b, c …and N more` within `maxChars`. */
function inlineList(names: readonly string[], maxChars: number): string {
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < names.length; i++) {
    const name = truncate(names[i] as string, 120);
    const reserve = i < names.length - 1 ? ` …and ${names.length - i} more`.length : 0;
    if (used + name.length + 2 + reserve > maxChars) return `${out.join(', ')} …and ${names.length - i} more`;
    out.push(name);
    used += name.length + 2;
  }
  return out.join(', ');
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

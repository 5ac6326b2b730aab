/**
 * The Slack message for one catalogue event. Pure: time and configuration are parameters. Each message
 * says what happened, which certificate (names, subject, fingerprint prefix), where (every environment
 * and place), how long is left, who owns it (mentioned when the alert escalates), what to do next, and
 * links the runbook for that finding.
 */
import { DAY_MS, shortFingerprint } from '../certificate';
import {
  type CatalogueEvent,
  type CertificateRef,
  type DetailTypeName,
  type EventDetail,
  slugOf,
} from '../events';
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
  fieldsSection,
  formatTime,
  header,
  listSection,
  section,
  truncate,
} from './slack-blocks';
import { type PartsBuilder, partsBuilders } from './event-parts';

export interface SlackMessageOptions {
  /** Time-left is computed against this. */
  readonly now: Date;
  /**
   * Runbook for a detail type when the event carries no `runbookUrl`: `<base>/<detail-type-slug>`
   * (e.g. `…/certificate-expiring`).
   */
  readonly runbookBaseUrl?: string;
  /** Runbook of the certificate, upstream or endpoint from configuration; used when the event carries none. */
  readonly runbookUrl?: string;
  /** Owner when the event names none (e.g. resolved from configuration by routing). */
  readonly owner?: string;
  /** How to mention the owner group when escalating: `<!subteam^S0123>`, `<@U0123>`, `<!here>`. */
  readonly ownerMention?: string;
  /**
   * Mention the owner at or below this many days (or hours, fractional) left, scaled by the
   * certificate's lifetime like every threshold (`mentionThresholdMs`). @default 3
   */
  readonly escalateAtDays?: number;
  /** How day thresholds apply (`notifications.thresholdScaling`). @default 'absolute' */
  readonly thresholdScaling?: ThresholdScaling;
  /** Items shown per list before "…and N more". @default 15 */
  readonly maxListItems?: number;
}
const SEVERITY_EMOJI: Readonly<Record<string, string>> = {
  info: ':information_source:',
  warning: ':warning:',
  error: ':x:',
  critical: ':rotating_light:',
};

/** What every event message shares, read from the common detail fields. */
export interface CommonDetail {
  readonly severity: string;
  readonly environments: readonly string[];
  readonly owner?: string | undefined;
  readonly runbookUrl?: string | undefined;
  readonly dedupeKey: string;
  readonly occurredAt: string;
  readonly summary?: string | undefined;
}

/** The runbook for a detail type: the event's own link, else the configured item's, else `<base>/<slug>`. */
export function runbookUrlFor(
  detailType: DetailTypeName,
  detail: { runbookUrl?: string | undefined },
  runbookBaseUrl?: string,
  configured?: string,
): string | undefined {
  if (detail.runbookUrl) return detail.runbookUrl;
  if (configured) return configured;
  if (!runbookBaseUrl) return undefined;
  return `${runbookBaseUrl.replace(/\/+$/, '')}/${slugOf(detailType)}`;
}

/**
 * Whether a message mentions the owner: at or below `escalateAtDays` left (the later thresholds), for
 * anything already expired or overdue, and for outcomes that need a human now (a failed rollback).
 */
export function shouldEscalate(
  remainingMs: number | undefined,
  severity: string,
  forced: boolean,
  escalateAtDays: number = CRITICAL_DAYS,
): boolean {
  if (forced || severity === 'critical') return true;
  return remainingMs !== undefined && remainingMs <= escalateAtDays * DAY_MS;
}

/**
 * The owner mention's threshold for an event, in milliseconds: `mentionAtDays` scaled like every day
 * threshold by the lifetime of the certificate whose expiry the event is about (see `thresholdMs`, the
 * one threshold rule); an upstream deadline, or a certificate of unknown lifetime, as written. What
 * the message, the digest and the hold-for-digest decision all compare the time left with.
 */
export function mentionThresholdMs(
  detail: unknown,
  mentionAtDays: number,
  scaling: ThresholdScaling = 'absolute',
): number {
  const d = detail as {
    readonly announcement?: { readonly deadline?: string };
    readonly certificate?: { readonly notAfter?: string; readonly notBefore?: string };
    readonly previous?: { readonly notAfter?: string; readonly notBefore?: string };
  };
  if (d.announcement?.deadline !== undefined) return mentionAtDays * DAY_MS;
  const certificate = d.certificate?.notAfter !== undefined ? d.certificate : d.previous;
  return thresholdMs(mentionAtDays, certificate ?? {}, scaling);
}

/** Builds the Block Kit message for one catalogue event. */
export function buildSlackMessage(
  event: Pick<CatalogueEvent, 'detailType' | 'detail'>,
  options: SlackMessageOptions,
): ChatMessage {
  const builder = partsBuilders[event.detailType] as PartsBuilder<DetailTypeName>;
  const common = event.detail as CommonDetail;
  const parts = builder(event.detail as EventDetail<DetailTypeName>, { now: options.now });
  const owner = common.owner ?? options.owner;
  const escalate = shouldEscalate(
    parts.timeCritical ? parts.remainingMs : undefined,
    common.severity,
    parts.escalate === true,
    mentionThresholdMs(event.detail, options.escalateAtDays ?? CRITICAL_DAYS, options.thresholdScaling) /
      DAY_MS,
  );
  const runbook = runbookUrlFor(event.detailType, common, options.runbookBaseUrl, options.runbookUrl);
  const maxItems = options.maxListItems ?? 15;
  const emoji = SEVERITY_EMOJI[common.severity] ?? ':grey_question:';
  const timeLeft = parts.remainingMs !== undefined ? describeTimeLeft(parts.remainingMs) : undefined;

  const blocks: Block[] = [];
  blocks.push(header(`${parts.title}`));

  const mention = escalate && options.ownerMention ? `${options.ownerMention} ` : '';
  const escalation = escalate
    ? `${mention}*Escalated*${timeLeft && parts.timeCritical ? `: ${escapeText(timeLeft)}` : ''}\n`
    : '';
  blocks.push(section(`${emoji} ${escalation}${parts.what}`));

  const fields: [string, string][] = [];
  if (parts.certificate) {
    fields.push([parts.certificateLabel ?? 'Certificate', certificateField(parts.certificate)]);
    fields.push(['Fingerprint', `${code(shortFingerprint(parts.certificate.fingerprintSha256))}`]);
  }
  if (timeLeft !== undefined) {
    const at =
      parts.certificate?.notAfter && !parts.timeLeftLabel
        ? ` (${formatTime(parts.certificate.notAfter)})`
        : '';
    fields.push([parts.timeLeftLabel ?? 'Expires', escapeText(`${timeLeft}${at}`)]);
  }
  fields.push([
    'Owner',
    owner
      ? `${escapeText(owner)}${escalate && options.ownerMention ? ` ${options.ownerMention}` : ''}`
      : '_no owner configured_',
  ]);
  fields.push(['Environments', escapeText(common.environments.join(', ') || 'none')]);
  fields.push(['Severity', escapeText(common.severity)]);
  for (const [label, value] of parts.fields ?? []) fields.push([label, value]);
  if (parts.previous) {
    fields.push([
      'Previous',
      `${certificateField(parts.previous)} ${code(shortFingerprint(parts.previous.fingerprintSha256))}`,
    ]);
  }
  blocks.push(fieldsSection(fields.slice(0, SLACK_LIMITS.fields)));
  if (fields.length > SLACK_LIMITS.fields)
    blocks.push(fieldsSection(fields.slice(SLACK_LIMITS.fields, 2 * SLACK_LIMITS.fields)));

  blocks.push(listSection(`*Where* (${parts.where.length})`, parts.where, maxItems));
  for (const list of parts.lists ?? []) {
    if (list.lines.length > 0)
      blocks.push(listSection(`*${list.title}* (${list.lines.length})`, list.lines, maxItems));
  }
  blocks.push(section(`*What to do*\n${parts.next}`));
  if (runbook) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Runbook', emoji: true },
          url: truncate(runbook, SLACK_LIMITS.url),
          ...(escalate ? { style: 'danger' } : {}),
        },
      ],
    });
  }
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: truncate(
          `${runbook ? `Runbook: <${runbook}|${escapeText(truncate(runbook, 80))}> · ` : 'No runbook configured (notifications.runbookBaseUrl) · '}${escapeText(event.detailType)} · ${escapeText(formatTime(common.occurredAt))} · key ${code(truncate(common.dedupeKey, 120))}`,
          SLACK_LIMITS.sectionText,
        ),
      },
    ],
  });

  const text = [
    `${escalate && options.ownerMention ? `${options.ownerMention} ` : ''}[${common.severity}] ${parts.title}`,
    parts.certificate ? `fingerprint ${shortFingerprint(parts.certificate.fingerprintSha256)}` : undefined,
    timeLeft,
    common.environments.length > 0 ? `in ${common.environments.join(', ')}` : undefined,
    owner ? `owner ${owner}` : undefined,
    runbook ? `runbook ${runbook}` : undefined,
  ]
    .filter((s): s is string => s !== undefined)
    .join(' · ');

  return enforceLimits({ text, blocks });
}

function certificateField(certificate: CertificateRef): string {
  const names = [certificate.name ? bold(certificate.name) : undefined, code(certificate.subject)];
  const dns = certificate.dnsNames ?? [];
  const sans =
    dns.length > 0
      ? `\n${escapeText(truncate(dns.slice(0, 5).join(', '), 300))}${dns.length > 5 ? ` …and ${dns.length - 5} more` : ''}`
      : '';
  return names.filter((s): s is string => s !== undefined).join(' ') + sans;
}

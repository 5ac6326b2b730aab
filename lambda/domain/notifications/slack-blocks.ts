/**
 * Slack's Block Kit limits, text helpers and block builders shared by every message family.
 * Every message stays within Slack's limits whatever the input: at most 50 blocks, 3,000 characters
 * per section text, 10 fields per section, 150 characters per header; long lists end "…and N more".
 */
import { DAY_MS } from '../certificate';
import { HOUR_MS, MINUTE_MS } from '../duration';
import type { ChatMessage } from '../ports';

/** Slack's documented Block Kit limits, and the fallback text length we allow ourselves. */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  buttonText: 75,
  url: 3000,
  /** Slack truncates `text` far later (40,000); notifications show only the start anyway. */
  fallbackText: 3000,
} as const;

export type Block = Record<string, unknown>;
/** Escapes the three characters Slack treats as control characters in mrkdwn and plain text. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inline code that cannot be broken out of by a backtick in the value. */
export function code(text: string): string {
  return `\`${escapeText(text).replace(/`/g, "'")}\``;
}

export function bold(text: string): string {
  return `*${escapeText(text).replace(/\*/g, '∗')}*`;
}

/** Cuts `text` to `max` characters, ending in `…` when cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * As many lines as fit in `maxChars` and `maxItems`, then `…and N more`: long lists never break a limit
 * and always say how much was left out.
 */
export function summariseList(
  lines: readonly string[],
  maxChars: number,
  maxItems = Number.POSITIVE_INFINITY,
  noun = '',
): string {
  const more = (n: number) => `…and ${n} more${noun ? ` ${noun}${n === 1 ? '' : 's'}` : ''}`;
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < lines.length; i++) {
    const remaining = lines.length - i - 1;
    const tail = remaining > 0 ? more(remaining).length + 1 : 0;
    const line = truncate(lines[i] as string, Math.max(40, Math.floor(maxChars / 3)));
    const cost = line.length + (out.length > 0 ? 1 : 0);
    if (out.length >= maxItems || used + cost + tail > maxChars)
      return [...out, more(lines.length - i)].join('\n');
    out.push(line);
    used += cost;
  }
  return out.join('\n');
}

/** `2026-03-14 12:00 UTC` */
export function formatTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** `13 days left`, `5 hours left`, `40 minutes left`, `expired 2 days ago`: hours once under two days. */
export function describeTimeLeft(remainingMs: number): string {
  const abs = Math.abs(remainingMs);
  let amount: string;
  if (abs >= 2 * DAY_MS) amount = plural(Math.floor(abs / DAY_MS), 'day');
  else if (abs >= HOUR_MS) amount = plural(Math.floor(abs / HOUR_MS), 'hour');
  else amount = plural(Math.max(1, Math.ceil(abs / MINUTE_MS)), 'minute');
  return remainingMs >= 0 ? `${amount} left` : `expired ${amount} ago`;
}

export function remainingMsUntil(iso: string | undefined, now: Date): number | undefined {
  if (iso === undefined) return undefined;
  const at = Date.parse(iso);
  return Number.isNaN(at) ? undefined : at - now.getTime();
}
export function header(text: string): Block {
  return {
    type: 'header',
    text: { type: 'plain_text', text: truncate(text, SLACK_LIMITS.headerText), emoji: true },
  };
}

export function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SLACK_LIMITS.sectionText) } };
}

export function fieldsSection(fields: readonly (readonly [string, string])[]): Block {
  return {
    type: 'section',
    fields: fields.map(([label, value]) => ({
      type: 'mrkdwn',
      text: truncate(`*${label}*\n${value}`, SLACK_LIMITS.fieldText),
    })),
  };
}

export function listSection(title: string, lines: readonly string[], maxItems: number): Block {
  const body =
    lines.length > 0
      ? summariseList(lines, SLACK_LIMITS.sectionText - title.length - 20, maxItems)
      : '_none_';
  return section(`${title}\n${body}`);
}

/**
 * The last guard: whatever a builder produced, the message Slack receives is within limits. Builders
 * summarise on their own; this only cuts.
 */
export function enforceLimits(message: ChatMessage): ChatMessage {
  let blocks = message.blocks.map((block) => {
    const b = { ...block } as Block & {
      text?: { type: string; text: string };
      fields?: { type: string; text: string }[];
    };
    if (b.type === 'header' && b.text)
      b.text = { ...b.text, text: truncate(b.text.text, SLACK_LIMITS.headerText) };
    else if (b.text) b.text = { ...b.text, text: truncate(b.text.text, SLACK_LIMITS.sectionText) };
    if (b.fields) {
      b.fields = b.fields
        .slice(0, SLACK_LIMITS.fields)
        .map((f) => ({ ...f, text: truncate(f.text, SLACK_LIMITS.fieldText) }));
    }
    if (b.type === 'context' && Array.isArray(b.elements)) {
      b.elements = (b.elements as { type: string; text?: string }[])
        .slice(0, SLACK_LIMITS.contextElements)
        .map((e) => (e.text !== undefined ? { ...e, text: truncate(e.text, SLACK_LIMITS.sectionText) } : e));
    }
    return b;
  });
  if (blocks.length > SLACK_LIMITS.blocks) {
    const dropped = blocks.length - (SLACK_LIMITS.blocks - 1);
    blocks = [
      ...blocks.slice(0, SLACK_LIMITS.blocks - 1),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${dropped} more blocks not shown` }] },
    ];
  }
  return { text: truncate(message.text, SLACK_LIMITS.fallbackText), blocks };
}

/** `drift on two hosts` → `Drift on two hosts`. */
export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

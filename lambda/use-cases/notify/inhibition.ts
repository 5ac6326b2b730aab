/**
 * Inhibition, as the first outage's post-mortem asked: while an environment has a critical incident,
 * lower alerts about the same environment are held back and summarised in one message, so the people
 * fixing the incident are not buried; anything that will expire inside the incident window still
 * escalates on its own.
 *
 * An environment is in a critical incident when, in one batch of events (one scan), critical alerts
 * cover most of it: at least two critical events name it, and more than half of its configured
 * endpoints when it has any. Pure: events, configuration and time are parameters.
 */
import type { CatalogueEvent } from '../../domain/events';
import { expiryOf } from '../../domain/notifications/routing';
import type { ChatMessage } from '../../domain/ports';
import {
  type Block,
  bold,
  enforceLimits,
  escapeText,
  formatTime,
  header,
  listSection,
  plural,
  section,
} from '../../domain/notifications/slack-blocks';

type EventLike = Pick<CatalogueEvent, 'detailType' | 'detail'>;

/** Finding alerts an incident may hold back; rotation outcomes, delivery problems and missed scans never wait. */
const HOLDABLE = new Set([
  'Certificate Expiring',
  'Renewal Due',
  'Endpoint Drift Detected',
  'Endpoint Problem Detected',
  'Upstream Rotation Announced',
  'Upstream Rotation Deadline Approaching',
  'Upstream Announcement Needs Review',
]);

export interface InhibitionConfig {
  readonly endpoints: readonly { readonly environment: string }[];
}

export interface IncidentSummary {
  readonly environment: string;
  /** The channel the held alerts route to (see `channelOf`); one summary per environment and channel. */
  readonly channel?: string;
  /** Events of the incident (critical) that went out. */
  readonly critical: number;
  /** Lower alerts held back. */
  readonly held: readonly EventLike[];
  /** Deduplication key of the summary message. */
  readonly key: string;
  readonly message: ChatMessage;
}

export interface InhibitionResult {
  /** Events to plan and send as usual. */
  readonly events: readonly EventLike[];
  /** One per environment in an incident with held alerts (and per channel they route to). */
  readonly summaries: readonly IncidentSummary[];
}

interface Detail {
  readonly severity?: string;
  readonly environments?: readonly string[];
  readonly dedupeKey?: string;
  readonly summary?: string;
}

const detailOf = (event: EventLike) => event.detail as unknown as Detail;

/** Environments in a critical incident, judged on one batch of events. */
export function incidentEnvironments(events: readonly EventLike[], config: InhibitionConfig): Set<string> {
  const critical = new Map<string, number>();
  for (const event of events) {
    const d = detailOf(event);
    if (d.severity !== 'critical') continue;
    for (const environment of d.environments ?? [])
      critical.set(environment, (critical.get(environment) ?? 0) + 1);
  }
  const incidents = new Set<string>();
  for (const [environment, count] of critical) {
    const endpoints = config.endpoints.filter((e) => e.environment === environment).length;
    if (count >= 2 && count * 2 > endpoints) incidents.add(environment);
  }
  return incidents;
}

/**
 * Holds back lower alerts about environments in an incident (every environment the alert names must
 * be in one), except what expires within `windowMs`; returns the rest and one summary per environment
 * and channel (`channelOf`, the route of each held alert: each channel hears about its own alerts).
 */
export function inhibitDuringIncidents(
  events: readonly EventLike[],
  config: InhibitionConfig,
  now: Date,
  windowMs: number,
  channelOf: (event: EventLike) => string | undefined = () => undefined,
): InhibitionResult {
  const incidents = incidentEnvironments(events, config);
  if (incidents.size === 0) return { events, summaries: [] };
  const kept: EventLike[] = [];
  const held = new Map<string, { environment: string; channel?: string; events: EventLike[] }>();
  for (const event of events) {
    const d = detailOf(event);
    const environments = d.environments ?? [];
    const expiresAt = expiryOf(event);
    const escalates = expiresAt !== undefined && Date.parse(expiresAt) - now.getTime() <= windowMs;
    const holdable =
      HOLDABLE.has(event.detailType) &&
      d.severity !== 'critical' &&
      environments.length > 0 &&
      environments.every((e) => incidents.has(e));
    if (!holdable || escalates) {
      kept.push(event);
      continue;
    }
    const environment = environments[0]!;
    const channel = channelOf(event);
    const group = `${environment}\u0000${channel ?? ''}`;
    const entry = held.get(group) ?? {
      environment,
      ...(channel !== undefined ? { channel } : {}),
      events: [],
    };
    entry.events.push(event);
    held.set(group, entry);
  }
  const summaries = [...held.values()].map(({ environment, channel, events: lower }) => {
    const critical = events.filter(
      (e) => detailOf(e).severity === 'critical' && (detailOf(e).environments ?? []).includes(environment),
    ).length;
    const keys = lower.map((e) => detailOf(e).dedupeKey ?? '').sort();
    return {
      environment,
      ...(channel !== undefined ? { channel } : {}),
      critical,
      held: lower,
      key: `inhibited:${environment}:${shortHash(keys.join('|'))}`,
      message: incidentSummaryMessage(environment, critical, lower, now, windowMs),
    };
  });
  return { events: kept, summaries };
}

function incidentSummaryMessage(
  environment: string,
  critical: number,
  held: readonly EventLike[],
  now: Date,
  windowMs: number,
): ChatMessage {
  const title = `Incident in ${environment}: ${plural(held.length, 'lower alert')} held back`;
  const blocks: Block[] = [
    header(title),
    section(
      `:rotating_light: ${bold(environment)} has ${plural(critical, 'critical alert')} (most of it failing or expired). Lower alerts about it are summarised here instead of sent one by one; anything expiring within ${Math.round(windowMs / 3_600_000)} h is still sent on its own.`,
    ),
    listSection(
      `*Held back* (${held.length})`,
      held.map(
        (e) => `• ${escapeText(`${e.detailType}: ${detailOf(e).summary ?? detailOf(e).dedupeKey ?? ''}`)}`,
      ),
      20,
    ),
    { type: 'context', elements: [{ type: 'mrkdwn', text: escapeText(formatTime(now.toISOString())) }] },
  ];
  return enforceLimits({ text: `[critical] ${title}`, blocks });
}

function shortHash(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

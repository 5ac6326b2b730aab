/**
 * Routing: which channel hears about an event, who owns it, and whether it is sent now, held for the
 * digest, or inhibited by a silence. Pure: configuration, silences and time are parameters.
 *
 * Primary course of `planEventNotifications`: for each event, resolve its owner (the event's own, else
 * the configured owner of its certificate, upstream or endpoint), pick the first matching route (else
 * the default channel), check silences, hold routine expiry alerts for the digest when one is enabled,
 * and build the Slack message with the channel's mention and the runbook base.
 */
import type { CertrotorConfig, NotificationsConfig } from '../../config/configuration';
import type { CatalogueEvent, DetailTypeName } from '../events';
import type { ChatMessage } from '../ports';
import { type AlertSubject, type InhibitionDecision, type Silence, isInhibited } from '../silences';
import { type SlackMessageOptions, buildSlackMessage, mentionThresholdMs } from './event-message';

type EventLike = Pick<CatalogueEvent, 'detailType' | 'detail'>;

/** The parts of the configuration routing reads. */
export type RoutingConfig = Pick<CertrotorConfig, 'certificates' | 'endpoints' | 'upstreams'> & {
  readonly notifications: Pick<
    NotificationsConfig,
    'channels' | 'defaultChannel' | 'operatorChannel' | 'routes' | 'runbookBaseUrl' | 'escalation' | 'digest'
  > &
    Partial<Pick<NotificationsConfig, 'thresholdScaling'>>;
};

export interface RouteDecision {
  /** Channel name, or undefined when no route matches and no default exists. */
  readonly channel?: string;
  /** Runbook configured for the event's certificate, upstream or endpoint. */
  readonly runbookUrl?: string;
  /** Who to mention when the message escalates: route, then channel, then escalation default. */
  readonly mention?: string;
  readonly owner?: string;
  /** Which rule decided: `routes[2]`, `defaultChannel`, `only channel`, `no channel`. */
  readonly reason: string;
}

interface CommonDetail {
  readonly owner?: string;
  readonly environments: readonly string[];
  readonly certificate?: { readonly name?: string; readonly subject: string; readonly notAfter?: string };
  readonly previous?: { readonly notAfter?: string };
  readonly name?: string;
  readonly rotation?: { readonly name: string };
  readonly upstream?: { readonly name: string } | string;
  readonly endpoint?: { readonly host: string; readonly port: number };
  readonly announcement?: { readonly deadline: string };
  readonly locations?: readonly { readonly host?: string; readonly port?: number }[];
  readonly dedupeKey: string;
  readonly severity: string;
}

function common(event: EventLike): CommonDetail {
  return event.detail as unknown as CommonDetail;
}

function upstreamName(d: CommonDetail): string | undefined {
  return typeof d.upstream === 'string' ? d.upstream : d.upstream?.name;
}

function certificateName(d: CommonDetail): string | undefined {
  return d.certificate?.name ?? d.name ?? d.rotation?.name;
}

/** The configured items an event is about: its managed certificate, its upstream, its endpoints. */
function configuredItems(
  event: EventLike,
  config: Pick<RoutingConfig, 'certificates' | 'endpoints' | 'upstreams'>,
): { owner?: string | undefined; runbookUrl?: string | undefined }[] {
  const d = common(event);
  const name = certificateName(d);
  const upstream = upstreamName(d);
  const places = [...(d.endpoint ? [d.endpoint] : []), ...(d.locations ?? [])];
  return [
    ...(name !== undefined ? config.certificates.filter((c) => c.name === name) : []),
    ...(upstream !== undefined ? config.upstreams.filter((u) => u.name === upstream) : []),
    ...places.flatMap((place) =>
      config.endpoints.filter(
        (e) => e.host === place.host && (place.port === undefined || e.port === place.port),
      ),
    ),
  ];
}

/** The owner of an event: its own, else the configured owner of its certificate, upstream or endpoint. */
export function resolveOwner(
  event: EventLike,
  config: Pick<RoutingConfig, 'certificates' | 'endpoints' | 'upstreams'>,
): string | undefined {
  return common(event).owner ?? configuredItems(event, config).find((item) => item.owner)?.owner;
}

/** The runbook configured for the event's certificate, upstream or endpoint, if any. */
export function resolveRunbook(
  event: EventLike,
  config: Pick<RoutingConfig, 'certificates' | 'endpoints' | 'upstreams'>,
): string | undefined {
  return configuredItems(event, config).find((item) => item.runbookUrl)?.runbookUrl;
}

/** The first route whose every condition matches (owner, any environment, detail type), else the default. */
export function routeEvent(event: EventLike, config: RoutingConfig): RouteDecision {
  const n = config.notifications;
  const d = common(event);
  const owner = resolveOwner(event, config);
  const runbookUrl = resolveRunbook(event, config);
  const channelMention = (name: string) =>
    n.channels.find((c) => c.name === name)?.mention ?? n.escalation.mention;
  const withOwner = {
    ...(owner !== undefined ? { owner } : {}),
    ...(runbookUrl !== undefined ? { runbookUrl } : {}),
  };
  for (const [index, route] of n.routes.entries()) {
    if (route.owner !== undefined && route.owner !== owner) continue;
    if (route.environments !== undefined && !route.environments.some((env) => d.environments.includes(env)))
      continue;
    if (route.detailTypes !== undefined && !route.detailTypes.includes(event.detailType)) continue;
    return {
      channel: route.channel,
      mention: route.mention ?? channelMention(route.channel),
      ...withOwner,
      reason: `routes[${index}]`,
    };
  }
  const fallback = defaultChannel(n);
  if (fallback)
    return {
      channel: fallback.name,
      mention: channelMention(fallback.name),
      ...withOwner,
      reason: fallback.reason,
    };
  return { ...withOwner, reason: 'no channel' };
}

/** `defaultChannel`, else the only channel configured. */
export function defaultChannel(
  notifications: Pick<NotificationsConfig, 'channels' | 'defaultChannel'>,
): { name: string; reason: string } | undefined {
  if (notifications.defaultChannel) return { name: notifications.defaultChannel, reason: 'defaultChannel' };
  if (notifications.channels.length === 1)
    return { name: notifications.channels[0]!.name, reason: 'only channel' };
  return undefined;
}

/** Where problems with notification delivery go: `operatorChannel`, else the default channel. */
export function operatorChannel(
  notifications: Pick<NotificationsConfig, 'channels' | 'defaultChannel' | 'operatorChannel'>,
): string | undefined {
  return notifications.operatorChannel ?? defaultChannel(notifications)?.name;
}

/** Options for `buildSlackMessage` from a route decision and the configuration. */
export function messageOptionsFor(
  decision: RouteDecision,
  config: RoutingConfig,
  now: Date,
): SlackMessageOptions {
  const n = config.notifications;
  return {
    now,
    escalateAtDays: n.escalation.mentionAtDays,
    ...(n.thresholdScaling !== undefined ? { thresholdScaling: n.thresholdScaling } : {}),
    ...(n.runbookBaseUrl !== undefined ? { runbookBaseUrl: n.runbookBaseUrl } : {}),
    ...(decision.owner !== undefined ? { owner: decision.owner } : {}),
    ...(decision.runbookUrl !== undefined ? { runbookUrl: decision.runbookUrl } : {}),
    ...(decision.mention !== undefined ? { ownerMention: decision.mention } : {}),
  };
}

/** What a silence compares with, for an event. */
export function alertSubjectOfEvent(event: EventLike, owner?: string): AlertSubject {
  const d = common(event);
  const names = [certificateName(d), d.certificate ? commonName(d.certificate.subject) : undefined].filter(
    (s): s is string => s !== undefined,
  );
  const upstream = upstreamName(d);
  const expiresAt = expiryOf(event);
  return {
    certificates: names,
    environments: d.environments,
    owners: owner !== undefined ? [owner] : d.owner ? [d.owner] : [],
    ...(upstream !== undefined ? { upstream } : {}),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
  };
}

function commonName(subject: string): string | undefined {
  return /(?:^|,\s*)CN=([^,]+)/.exec(subject)?.[1]?.trim();
}

/** When the thing an event warns about happens: an upstream deadline, else the certificate's notAfter. */
export function expiryOf(event: EventLike): string | undefined {
  const d = common(event);
  return d.announcement?.deadline ?? d.certificate?.notAfter ?? d.previous?.notAfter;
}

/** Routine alerts a digest may carry instead of an immediate message. */
export const DIGESTIBLE_DETAIL_TYPES: readonly DetailTypeName[] = [
  'Certificate Expiring',
  'Renewal Due',
  'Upstream Rotation Announced',
  'Upstream Rotation Deadline Approaching',
];

/**
 * True when a digest covers `channel` and the event is routine: a digestible type, not critical, and
 * more than the escalation threshold away. Escalations never wait for the digest.
 */
export function heldForDigest(event: EventLike, channel: string, config: RoutingConfig, now: Date): boolean {
  const digest = config.notifications.digest;
  if (!digest.enabled) return false;
  if (digest.channels !== undefined && !digest.channels.includes(channel)) return false;
  if (!DIGESTIBLE_DETAIL_TYPES.includes(event.detailType)) return false;
  const d = common(event);
  if (d.severity === 'critical') return false;
  const expiresAt = expiryOf(event);
  if (expiresAt === undefined) return true;
  // The owner mention's threshold, scaled by the certificate's lifetime like every threshold.
  return (
    Date.parse(expiresAt) - now.getTime() >
    mentionThresholdMs(
      event.detail,
      config.notifications.escalation.mentionAtDays,
      config.notifications.thresholdScaling,
    )
  );
}

export interface PlannedNotification {
  /** The event's deduplication key: names the delivery in reports. */
  readonly id: string;
  readonly channel: string;
  readonly message: ChatMessage;
  /** Claimed per channel by the dispatcher so at-least-once event delivery posts once. */
  readonly dedupeKey: string;
  readonly detailType: DetailTypeName;
}

export interface NotificationPlan {
  /** Send now, in event order. Structurally a `Delivery` of the notification dispatcher. */
  readonly send: readonly PlannedNotification[];
  /** Held for the channel's digest. */
  readonly held: readonly { readonly channel: string; readonly event: EventLike }[];
  /** Inhibited by silences: not sent and must not be recorded as sent. */
  readonly inhibited: readonly {
    readonly event: EventLike;
    readonly decision: InhibitionDecision & { inhibited: true };
  }[];
  /** Events no channel takes (no route, no default): the caller logs them. */
  readonly unrouted: readonly EventLike[];
}

/** Decides, for each event, to send, hold for the digest, inhibit, or report it as unrouted. */
export function planEventNotifications(
  events: readonly EventLike[],
  config: RoutingConfig,
  silences: readonly Silence[],
  now: Date,
): NotificationPlan {
  const send: PlannedNotification[] = [];
  const held: { channel: string; event: EventLike }[] = [];
  const inhibited: { event: EventLike; decision: InhibitionDecision & { inhibited: true } }[] = [];
  const unrouted: EventLike[] = [];
  for (const event of events) {
    const decision = routeEvent(event, config);
    const subject = alertSubjectOfEvent(event, decision.owner);
    const inhibition = isInhibited(subject, silences, now);
    // Problems with notifications themselves and certrotor's own health are never silenced.
    const silenceable =
      event.detailType !== 'Notification Delivery Failed' && event.detailType !== 'Scan Missed';
    if (silenceable && inhibition.inhibited) {
      inhibited.push({ event, decision: inhibition });
      continue;
    }
    if (decision.channel === undefined) {
      unrouted.push(event);
      continue;
    }
    if (heldForDigest(event, decision.channel, config, now)) {
      held.push({ channel: decision.channel, event });
      continue;
    }
    const d = common(event);
    send.push({
      id: d.dedupeKey,
      channel: decision.channel,
      message: buildSlackMessage(event, messageOptionsFor(decision, config, now)),
      dedupeKey: d.dedupeKey,
      detailType: event.detailType,
    });
  }
  return { send, held, inhibited, unrouted };
}

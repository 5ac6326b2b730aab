/**
 * Recording what a batch of events tells people, before anything is sent: the one path the CLI
 * (every command), the deployed scan jobs (probe, inventory, ACM expiry) and the notifier Lambda
 * share, so inhibition, digests and resolution behave the same wherever the events come from.
 *
 * Primary course of `recordNotifications`:
 * 1. drop events the outbox already summarised in an incident (an "inhibited" record for the
 *    event's channel and key: the scan job that saw the whole batch decided; a notifier receiving
 *    the event alone must not send it after all);
 * 2. inhibition: while an environment is in a critical incident (judged on this batch), its lower
 *    alerts are held back, each recorded as "inhibited" for its channel and key, and summarised in
 *    one message; what expires within the incident window still escalates;
 * 3. silences, routes and the digest (`planEventNotifications`): messages to send now are recorded
 *    as pending in the outbox, routine ones held for the digest;
 * 4. critical alerts just recorded are watched until they clear (`recordResolutions` sends the one
 *    "resolved" message to the channel that got the alert).
 *
 * Store failures propagate: the caller must not mark the events as alerted.
 */
import type { NotificationsConfig } from '../../config/configuration';
import type { CatalogueEvent } from '../../domain/events';
import {
  type PlannedNotification,
  type RoutingConfig,
  planEventNotifications,
  routeEvent,
} from '../../domain/notifications/routing';
import type { OutgoingEvent, StateStore } from '../../domain/ports';
import type { Silence } from '../../domain/silences';
import { holdForDigest } from './digest';
import { inhibitDuringIncidents } from './inhibition';
import { OUTBOX_COLLECTION, type OutboxItem, enqueue, itemId, markInhibited } from './outbox-items';
import { resolvedWatches, watchCritical } from './resolution';

/** Events that are not sent to Slack as such: the outbox already sent their operator alert. */
const NOT_FOR_SLACK = new Set(['Notification Delivery Failed']);

/** The parts of the configuration recording reads. */
export type RecordingConfig = Omit<RoutingConfig, 'notifications'> & {
  readonly notifications: RoutingConfig['notifications'] & Pick<NotificationsConfig, 'inhibition'>;
};

export interface RecordingDeps {
  readonly store: StateStore;
  readonly config: RecordingConfig;
  readonly silences: readonly Silence[];
  readonly now: Date;
  /** Channels messages can be sent to from here (the CLI: those with a webhook). @default every channel */
  readonly reachable?: (channel: string) => boolean;
}

export interface RecordingReport {
  /** Messages to send now (recorded as pending, or already in the outbox from an earlier record). */
  readonly send: readonly PlannedNotification[];
  /** Events held for a digest. */
  readonly held: number;
  /** Events held back by an incident (now or by an earlier record of the same batch). */
  readonly inhibited: number;
  /** Incident summaries recorded. */
  readonly summaries: number;
  /** Events silenced. */
  readonly silenced: number;
  readonly unrouted: readonly Pick<CatalogueEvent, 'detailType'>[];
  /** Newly recorded outbox items. */
  readonly recorded: number;
  /** Messages the outbox already had (the same event recorded again). */
  readonly duplicates: number;
}

export async function recordNotifications(
  deps: RecordingDeps,
  events: readonly OutgoingEvent[],
): Promise<RecordingReport> {
  const { store, config, now } = deps;
  const reachable = deps.reachable ?? (() => true);
  const forSlack = events.filter((e) => !NOT_FOR_SLACK.has(e.detailType)) as unknown as CatalogueEvent[];
  const fresh: CatalogueEvent[] = [];
  let inhibitedBefore = 0;
  for (const event of forSlack) {
    if (await summarisedBefore(store, event, config, now)) inhibitedBefore++;
    else fresh.push(event);
  }
  const inhibition = config.notifications.inhibition;
  // One summary per environment and channel: each channel hears about the alerts routed to it.
  const { events: toPlan, summaries } = inhibition.enabled
    ? inhibitDuringIncidents(fresh, config, now, inhibition.window, (e) => routeEvent(e, config).channel)
    : { events: fresh, summaries: [] };
  const routed = summaries.flatMap((s) =>
    s.channel !== undefined && reachable(s.channel) ? [{ channel: s.channel, summary: s }] : [],
  );
  const plan = planEventNotifications(toPlan, config, deps.silences, now);
  const send = plan.send.filter((d) => reachable(d.channel));
  // The summary first, then each held alert's record: a notifier receiving one of them later finds it.
  const summaryRecords = await enqueue(
    store,
    routed.map(({ channel, summary }) => ({ channel, key: summary.key, message: summary.message })),
    now,
  );
  await markInhibited(
    store,
    routed.flatMap(({ channel, summary }) =>
      summary.held.map((e) => ({ channel, key: String(e.detail.dedupeKey), detailType: e.detailType })),
    ),
    now,
  );
  const records = await enqueue(
    store,
    send.map((d) => ({ channel: d.channel, key: d.dedupeKey, message: d.message, detailType: d.detailType })),
    now,
  );
  // A critical alert is watched until what it is about clears: then one "resolved" message.
  await watchCritical(
    store,
    send.map((d) => ({
      channel: d.channel,
      key: d.dedupeKey,
      detailType: d.detailType,
      detail: toPlan.find((e) => e.detail.dedupeKey === d.dedupeKey)?.detail ?? {},
      headline: d.message.text.split('\n')[0] ?? d.dedupeKey,
    })),
    now,
  );
  // Routine alerts wait for their channel's digest.
  const held = plan.held.filter((h) => reachable(h.channel));
  await holdForDigest(store, held, config, now);
  return {
    send,
    held: held.length,
    inhibited: inhibitedBefore + routed.reduce((n, r) => n + r.summary.held.length, 0),
    summaries: routed.length,
    silenced: plan.inhibited.length,
    unrouted: plan.unrouted,
    recorded: summaryRecords.recorded + records.recorded,
    duplicates: summaryRecords.duplicates + records.duplicates,
  };
}

/**
 * Records the "resolved" message of every watched critical alert that cleared (call after a scan
 * recorded its observations); the watch ends only once its message is in the outbox. Returns how
 * many were recorded.
 */
export async function recordResolutions(
  store: StateStore,
  now: Date,
  reachable: (channel: string) => boolean = () => true,
): Promise<number> {
  let recorded = 0;
  for (const { message, end } of await resolvedWatches(store, now)) {
    if (!reachable(message.channel)) continue;
    recorded += (await enqueue(store, [message], now)).recorded;
    await end();
  }
  return recorded;
}

async function summarisedBefore(
  store: StateStore,
  event: CatalogueEvent,
  config: RecordingConfig,
  now: Date,
): Promise<boolean> {
  const channel = routeEvent(event, config).channel;
  const key = event.detail.dedupeKey;
  if (channel === undefined || typeof key !== 'string') return false;
  const item = await store.get<OutboxItem>(OUTBOX_COLLECTION, itemId(channel, key), now);
  return item?.value.status === 'inhibited';
}

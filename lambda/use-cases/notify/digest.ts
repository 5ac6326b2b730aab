/**
 * The digest: routine alerts that routing held (see `planEventNotifications`) wait in the state store
 * per channel, and one message per channel carries them when the digest schedule comes round, so 200
 * certificates expiring in one week make one message, not 200.
 *
 * Primary course of `sendDueDigests`, per channel the digest covers:
 * 1. find the schedule's latest occurrence at or before now (nothing yet: not due);
 * 2. gather the items held for the channel and not yet in a digest, within the horizon (none: skip);
 * 3. claim the occurrence with a conditional put, so a rerun, a retry or a second runner never sends
 *    a second digest for the same occurrence (already claimed: skip);
 * 4. build one digest message and send it through the dispatcher;
 * 5. sent: mark the items as digested. Failed: release the claim and keep the items for the next run.
 *
 * Each held item appears in one digest; held items expire from the store after the horizon.
 */
import { describeError } from '../../domain/errors';
import type { CertrotorConfig, NotificationsConfig } from '../../config/configuration';
import type { CatalogueEvent, DetailTypeName } from '../../domain/events';
import { ConditionFailedError, type Clock, type StateStore } from '../../domain/ports';
import { latestOccurrence } from '../../domain/schedule-expression';
import { type DigestItem, buildDigest, digestItemFromEvent } from '../../domain/notifications/digest-message';
import type { Delivery, DispatchReport, NotificationProblem } from './notify';

/** Held items, keyed `<channel>:<event dedupeKey>`. */
export const DIGEST_ITEMS_COLLECTION = 'digest-items';
/** Claimed occurrences, keyed `<channel>:<occurrence ISO time>`. */
export const DIGEST_RUNS_COLLECTION = 'digest-runs';

/** A claimed occurrence outlives any schedule's interval (yearly crons included). */
const RUN_RETAIN_MS = 400 * 86_400_000;

type EventLike = Pick<CatalogueEvent, 'detailType' | 'detail'>;

export interface HeldDigestItem {
  readonly channel: string;
  readonly dedupeKey: string;
  readonly detailType: DetailTypeName;
  readonly item: DigestItem;
  readonly heldAt: string;
  /** The occurrence (ISO) of the digest that carried it; absent while waiting. */
  readonly digestedIn?: string;
}

/** The parts of the configuration the digest reads. */
export interface DigestConfig {
  readonly notifications: Pick<
    NotificationsConfig,
    'digest' | 'channels' | 'routes' | 'runbookBaseUrl' | 'escalation'
  > &
    Partial<Pick<NotificationsConfig, 'thresholdScaling'>>;
  readonly schedules: Pick<CertrotorConfig['schedules'], 'timeZone'>;
}

export interface HoldReport {
  /** Newly held. */
  readonly held: number;
  /** Already held (the same event delivered again). */
  readonly duplicates: number;
}

/**
 * Stores events routing held for a channel's digest, once per channel and event deduplication key.
 * Store failures propagate: a held event that is not stored would be lost, so the caller retries.
 */
export async function holdForDigest(
  store: StateStore,
  held: readonly { readonly channel: string; readonly event: EventLike }[],
  config: Pick<DigestConfig, 'notifications'>,
  now: Date,
): Promise<HoldReport> {
  let count = 0;
  let duplicates = 0;
  const expiresAt = new Date(now.getTime() + config.notifications.digest.horizon);
  for (const { channel, event } of held) {
    const dedupeKey = (event.detail as { dedupeKey: string }).dedupeKey;
    const value: HeldDigestItem = {
      channel,
      dedupeKey,
      detailType: event.detailType,
      item: digestItemFromEvent(event),
      heldAt: now.toISOString(),
    };
    try {
      await store.put(DIGEST_ITEMS_COLLECTION, itemId(channel, dedupeKey), value, now, {
        ifAbsent: true,
        expiresAt,
      });
      count++;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      duplicates++;
    }
  }
  return { held: count, duplicates };
}

export interface DigestDeps {
  readonly store: StateStore;
  readonly clock: Clock;
  /** The notification dispatcher (or anything that dispatches like it). */
  readonly dispatcher: { dispatch(deliveries: readonly Delivery[]): Promise<DispatchReport> };
}

export type DigestStatus =
  /** Posted. */
  | 'sent'
  /** The schedule has not fired yet. */
  | 'not-due'
  /** Nothing held for the channel within the horizon. */
  | 'nothing-held'
  /** This occurrence's digest went out already (a rerun, or another runner). */
  | 'already-sent'
  /** Not posted; the items wait for the next run. */
  | 'failed';

export interface ChannelDigestReport {
  readonly channel: string;
  readonly status: DigestStatus;
  /** The schedule occurrence this digest is for (ISO 8601). */
  readonly occurrence?: string;
  /** Items in the message (or that would have been). */
  readonly items: number;
  readonly error?: string;
}

export interface DigestReport {
  readonly channels: readonly ChannelDigestReport[];
  readonly sent: number;
  readonly problems: readonly NotificationProblem[];
}

/** The channels a digest covers: `digest.channels`, else every configured channel. */
export function digestChannels(config: Pick<DigestConfig, 'notifications'>): string[] {
  const n = config.notifications;
  return n.digest.channels ? [...n.digest.channels] : n.channels.map((c) => c.name);
}

/** The time zone the digest schedule is evaluated in: its own, else the schedules' default. */
export function digestTimeZone(config: DigestConfig): string {
  return config.notifications.digest.timeZone ?? config.schedules.timeZone;
}

/** Sends each channel's digest when due (see the module comment); never sends one occurrence twice. */
export async function sendDueDigests(deps: DigestDeps, config: DigestConfig): Promise<DigestReport> {
  const digest = config.notifications.digest;
  if (!digest.enabled) return { channels: [], sent: 0, problems: [] };
  const now = deps.clock();
  const occurrence = latestOccurrence(digest.schedule, now, digestTimeZone(config));
  const reports: ChannelDigestReport[] = [];
  const pending: {
    channel: string;
    occurrence: string;
    items: StoredHeld[];
    delivery: Delivery;
  }[] = [];

  for (const channel of digestChannels(config)) {
    if (!occurrence) {
      reports.push({ channel, status: 'not-due', items: 0 });
      continue;
    }
    const occurrenceIso = occurrence.toISOString();
    const items = await waitingItems(deps.store, channel, now, digest.horizon);
    if (items.length === 0) {
      reports.push({ channel, status: 'nothing-held', occurrence: occurrenceIso, items: 0 });
      continue;
    }
    try {
      await deps.store.put(
        DIGEST_RUNS_COLLECTION,
        runId(channel, occurrenceIso),
        { channel, occurrence: occurrenceIso, claimedAt: now.toISOString(), items: items.length },
        now,
        { ifAbsent: true, expiresAt: new Date(occurrence.getTime() + RUN_RETAIN_MS) },
      );
    } catch (error) {
      if (error instanceof ConditionFailedError) {
        reports.push({ channel, status: 'already-sent', occurrence: occurrenceIso, items: items.length });
        continue;
      }
      reports.push({
        channel,
        status: 'failed',
        occurrence: occurrenceIso,
        items: items.length,
        error: `claiming the digest for ${channel} at ${occurrenceIso}: ${describeError(error)}`,
      });
      continue;
    }
    const message = buildDigest(
      collapse(items).map((i) => i.value.item),
      {
        horizon: digest.horizon,
        now,
        channel,
        escalateAtDays: config.notifications.escalation.mentionAtDays,
        ...(config.notifications.thresholdScaling !== undefined
          ? { thresholdScaling: config.notifications.thresholdScaling }
          : {}),
        mentionFor: (owner) => mentionFor(config, channel, owner),
        ...(config.notifications.runbookBaseUrl !== undefined
          ? { runbookBaseUrl: config.notifications.runbookBaseUrl }
          : {}),
      },
    );
    pending.push({
      channel,
      occurrence: occurrenceIso,
      items,
      delivery: { id: `digest:${channel}:${occurrenceIso}`, channel, message },
    });
  }

  const dispatched =
    pending.length > 0 ? await deps.dispatcher.dispatch(pending.map((p) => p.delivery)) : undefined;
  let sent = 0;
  for (const [index, p] of pending.entries()) {
    const outcome = dispatched?.deliveries[index];
    if (outcome?.status === 'sent') {
      sent++;
      await markDigested(deps.store, p.items, p.occurrence, now);
      reports.push({ channel: p.channel, status: 'sent', occurrence: p.occurrence, items: p.items.length });
      continue;
    }
    // Not sent: free the occurrence so the next run sends it; the items are still waiting.
    await deps.store.delete(DIGEST_RUNS_COLLECTION, runId(p.channel, p.occurrence)).catch(() => undefined);
    reports.push({
      channel: p.channel,
      status: 'failed',
      occurrence: p.occurrence,
      items: p.items.length,
      error: outcome?.outcome?.error ?? outcome?.status ?? 'not dispatched',
    });
  }
  const order = digestChannels(config);
  reports.sort((a, b) => order.indexOf(a.channel) - order.indexOf(b.channel));
  return { channels: reports, sent, problems: dispatched?.problems ?? [] };
}

interface StoredHeld {
  readonly id: string;
  readonly revision: number;
  readonly expiresAt?: string;
  readonly value: HeldDigestItem;
}

async function waitingItems(
  store: StateStore,
  channel: string,
  now: Date,
  horizonMs: number,
): Promise<StoredHeld[]> {
  const stored = await store.list<HeldDigestItem>(DIGEST_ITEMS_COLLECTION, now, `${channel}:`);
  return stored
    .filter((s) => s.value.channel === channel && s.value.digestedIn === undefined)
    .filter((s) => {
      const expiresAt = s.value.item.expiresAt;
      // Beyond the horizon: it waits until it comes within it.
      return expiresAt === undefined || Date.parse(expiresAt) - now.getTime() <= horizonMs;
    })
    .map((s) => ({
      id: s.id,
      revision: s.revision,
      ...(s.expiresAt !== undefined ? { expiresAt: s.expiresAt } : {}),
      value: s.value,
    }));
}

/** One line per certificate or upstream: a later threshold of the same thing replaces the earlier one. */
function collapse(items: readonly StoredHeld[]): StoredHeld[] {
  const latest = new Map<string, StoredHeld>();
  for (const held of [...items].sort((a, b) => a.value.heldAt.localeCompare(b.value.heldAt))) {
    const i = held.value.item;
    latest.set(`${i.kind}|${i.title}|${i.fingerprintSha256 ?? ''}|${i.expiresAt ?? ''}`, held);
  }
  return [...latest.values()];
}

async function markDigested(
  store: StateStore,
  items: readonly StoredHeld[],
  occurrence: string,
  now: Date,
): Promise<void> {
  for (const held of items) {
    try {
      await store.put<HeldDigestItem>(
        DIGEST_ITEMS_COLLECTION,
        held.id,
        { ...held.value, digestedIn: occurrence },
        now,
        {
          expectedRevision: held.revision,
          ...(held.expiresAt !== undefined ? { expiresAt: new Date(held.expiresAt) } : {}),
        },
      );
    } catch (error) {
      // Changed or gone meanwhile: at worst the item appears in the next digest too. Anything else
      // (throttling, access) is the caller's to report.
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
}

/** Who to mention for an owner in a channel's digest: the owner's route, the channel, the default. */
function mentionFor(config: DigestConfig, channel: string, owner: string): string | undefined {
  const n = config.notifications;
  return (
    n.routes.find((r) => r.owner === owner && r.channel === channel)?.mention ??
    n.channels.find((c) => c.name === channel)?.mention ??
    n.escalation.mention
  );
}

function itemId(channel: string, dedupeKey: string): string {
  return `${channel}:${dedupeKey}`;
}

function runId(channel: string, occurrence: string): string {
  return `${channel}:${occurrence}`;
}

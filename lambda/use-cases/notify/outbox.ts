/**
 * The notification outbox: every chat message (finding alerts, rotation outcomes, upstream warnings,
 * digests, operator alerts) is recorded as pending in the state store BEFORE anything is sent, and
 * marked delivered only once the channel accepted it. One item per channel and deduplication key: an
 * item that exists (pending or delivered) is never recorded twice, so nothing is sent twice.
 *
 * Primary course of `drainOutbox`, per channel (a lane), oldest first:
 * 1. skip items another drainer holds (a short lease) and items whose next attempt is not due;
 * 2. wait for the lane's pacing (one message per interval, and any `Retry-After`, both persisted so a
 *    later process honours them too) — never past the caller's deadline;
 * 3. send; accepted → delivered. Refused for good (400/403/404/410) → the item and every other item
 *    of the lane are dead-lettered at once (a record each, one operator alert through the operator
 *    channel, one **Notification Delivery Failed** event each) and stay pending: the next command or
 *    run tries the lane again (one probe), so fixing the webhook delivers what was held. Failed for
 *    a transient reason → attempts + 1 and the next attempt after an exponential backoff (or the
 *    `Retry-After`), recorded in the item; still failing after `giveUpAfterMs` → dead-lettered and
 *    the operator told, and still retried.
 *
 * Never throws for a delivery problem; state store failures propagate (the caller reports them).
 */
import { describeError } from '../../domain/errors';
import { buildEvent, type DetailTypeName, isDetailType } from '../../domain/events';
import { buildDeliveryProblemMessage } from '../../domain/notifications/delivery-problem-message';
import {
  type ChatMessage,
  type Clock,
  ConditionFailedError,
  type DeliveryOutcome,
  type Notifier,
  type OutgoingEvent,
  type StateStore,
  type StoredItem,
} from '../../domain/ports';
import {
  DEAD_LETTER_COLLECTION,
  type DeadLetterRecord,
  type NewOutboxMessage,
  OUTBOX_COLLECTION,
  OUTBOX_LANES_COLLECTION,
  type OutboxItem,
  RETAIN_MS,
  enqueue,
} from './outbox-items';

/** How long a drainer holds an item it is sending; another drainer skips it meanwhile. */
const DEFAULT_LEASE_MS = 60_000;
/** Waits are checked against the deadline at least this often. */
const WAIT_SLICE_MS = 200;

export {
  DEAD_LETTER_COLLECTION,
  type DeadLetterRecord,
  type NewOutboxMessage,
  OUTBOX_COLLECTION,
  OUTBOX_LANES_COLLECTION,
  OutboxDispatcher,
  type OutboxItem,
  type OutboxItemKind,
  enqueue,
} from './outbox-items';

export interface OutboxPolicy {
  /** Minimum spacing between two messages of a channel. @default 1000 */
  readonly minIntervalMs?: number;
  /** First retry delay; doubles per attempt. @default 2000 */
  readonly retryDelayMs?: number;
  /** @default 15 minutes */
  readonly maxRetryDelayMs?: number;
  /** Transient failures for longer than this are dead-lettered (and still retried). @default 24 hours */
  readonly giveUpAfterMs?: number;
  /** @default 60 s */
  readonly leaseMs?: number;
}

export interface DrainDeps {
  readonly store: StateStore;
  readonly clock: Clock;
  /** The notifier of a channel, or undefined when none is available here. */
  readonly notifierFor: (channel: string) => Notifier | undefined;
  /** Where operator alerts go (`notifications.operatorChannel`, else the default channel). */
  readonly operatorChannel?: string;
  /** Publishes Notification Delivery Failed events. Failures are reported, never thrown. */
  readonly publish?: (events: readonly OutgoingEvent[]) => Promise<unknown>;
  /** Epoch ms after which nothing new is started; read on every step (a command sets it late). */
  readonly deadline: () => number;
  /** Stops waits at once. */
  readonly signal?: AbortSignal;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly runbookBaseUrl?: string;
  /** One line per problem (log it, count it). */
  readonly onProblem?: (problem: string) => void;
  /** Called once per channel and drain when messages are dead-lettered (log it, count it). */
  readonly onDeadLetter?: (info: {
    readonly channel: string;
    readonly permanent: boolean;
    readonly error: string;
    readonly status?: number;
    readonly keys: readonly string[];
  }) => void;
  /**
   * Channels found refusing for good, with the reason; a lane in it is not probed again. Pass the
   * same map to every drain of one command or invocation: one probe each. @default per drain
   */
  readonly broken?: Map<string, string>;
}

export interface DrainReport {
  readonly delivered: number;
  readonly deadLettered: number;
  /** Items still pending after this drain. */
  readonly pending: number;
  /** Why items are still pending, one line per channel. */
  readonly reasons: readonly string[];
}

type Stored = StoredItem<OutboxItem>;

/** Sends what is due (see the module comment). Runs until nothing more can be sent before the deadline. */
export async function drainOutbox(deps: DrainDeps, policy: OutboxPolicy = {}): Promise<DrainReport> {
  let delivered = 0;
  let deadLettered = 0;
  const reasons = new Map<string, string>();
  const session: DrainDeps = deps.broken ? deps : { ...deps, broken: new Map() };
  // Operator alerts raised in the first round are sent in the second.
  for (let round = 0; round < 2; round++) {
    const lanes = groupLanes(await pendingItems(deps));
    if (lanes.size === 0) break;
    const raised: NewOutboxMessage[] = [];
    await Promise.all(
      [...lanes.entries()].map(async ([channel, items]) => {
        const result = await runLane(session, policy, channel, items, raised);
        delivered += result.delivered;
        deadLettered += result.deadLettered;
        if (result.reason) reasons.set(channel, result.reason);
        else reasons.delete(channel);
      }),
    );
    if (raised.length === 0) break;
    await enqueue(deps.store, raised, deps.clock());
  }
  const left = await pendingItems(deps);
  for (const channel of [...reasons.keys()])
    if (!left.some((i) => i.value.channel === channel)) reasons.delete(channel);
  for (const item of left)
    if (!reasons.has(item.value.channel))
      reasons.set(item.value.channel, item.value.lastError ?? 'not attempted yet');
  return {
    delivered,
    deadLettered,
    pending: left.length,
    reasons: [...reasons.entries()].map(([channel, reason]) => `${channel}: ${reason}`),
  };
}

/** Pending items, oldest first. */
export async function pendingItems(deps: Pick<DrainDeps, 'store' | 'clock'>): Promise<Stored[]> {
  const all = await deps.store.list<OutboxItem>(OUTBOX_COLLECTION, deps.clock());
  return all
    .filter((i) => i.value.status === 'pending' && i.value.message !== undefined)
    .sort((a, b) => a.value.order.localeCompare(b.value.order));
}

function groupLanes(items: readonly Stored[]): Map<string, Stored[]> {
  const lanes = new Map<string, Stored[]>();
  for (const item of items) {
    const lane = lanes.get(item.value.channel);
    if (lane) lane.push(item);
    else lanes.set(item.value.channel, [item]);
  }
  return lanes;
}

interface LaneState {
  /** Epoch ms before which the lane sends nothing (pacing and Retry-After). */
  readonly notBefore: number;
}

async function runLane(
  deps: DrainDeps,
  policy: OutboxPolicy,
  channel: string,
  items: readonly Stored[],
  raised: NewOutboxMessage[],
): Promise<{ delivered: number; deadLettered: number; reason?: string }> {
  let notifier: Notifier | undefined;
  try {
    notifier = deps.notifierFor(channel);
  } catch {
    notifier = undefined;
  }
  if (!notifier) return { delivered: 0, deadLettered: 0, reason: `no webhook for channel ${channel} here` };
  const known = deps.broken?.get(channel);
  if (known !== undefined) return { delivered: 0, deadLettered: 0, reason: known };
  const interval = policy.minIntervalMs ?? 1000;
  const laneRecord = await deps.store.get<LaneState>(OUTBOX_LANES_COLLECTION, channel, deps.clock());
  let notBefore = laneRecord?.value.notBefore ?? 0;
  let delivered = 0;
  let deadLettered = 0;

  for (let index = 0; index < items.length;) {
    let item = items[index]!;
    if (deps.signal?.aborted)
      return {
        delivered,
        deadLettered,
        reason: `${item.value.lastError ?? 'not attempted yet'} (stopped waiting)`,
      };
    const due = Math.max(Date.parse(item.value.nextAttemptAt), notBefore);
    if (!(await waitUntil(deps, due))) {
      const last = item.value.lastError ?? 'not attempted yet';
      return {
        delivered,
        deadLettered,
        reason: deps.signal?.aborted
          ? `${last} (stopped waiting)`
          : `${last}; next attempt ${new Date(due).toISOString()}`,
      };
    }
    const leased = await lease(deps, item, policy.leaseMs ?? DEFAULT_LEASE_MS);
    if (!leased) {
      index++;
      continue;
    }
    item = leased;
    const outcome = await sendSafely(notifier, item.value.message!);
    const now = deps.clock();
    if (!outcome.ok && deps.signal?.aborted) {
      // Cut off by the caller, not answered by the channel: no attempt to record, only the lease to free.
      await update(deps.store, item, now, {});
      return {
        delivered,
        deadLettered,
        reason: `${item.value.lastError ?? 'not answered yet'} (stopped waiting)`,
      };
    }
    notBefore = Math.max(
      now.getTime() + interval,
      outcome.retryAfterMs ? now.getTime() + outcome.retryAfterMs : 0,
    );
    await saveLane(deps, channel, notBefore, now);
    if (outcome.ok) {
      await update(deps.store, item, now, {
        status: 'delivered',
        attempts: item.value.attempts + 1,
        deliveredAt: now.toISOString(),
      });
      delivered++;
      index++;
      continue;
    }
    const attempts = item.value.attempts + 1;
    const error = outcome.error ?? 'delivery failed';
    if (outcome.permanent) {
      // The channel refuses for good: everything held for it is dead-lettered at once.
      const held = items.slice(index).filter((i) => i.value.deadLetteredAt === undefined);
      const saved = await update(deps.store, item, now, {
        attempts,
        lastError: error,
        ...(outcome.status !== undefined ? { lastStatus: outcome.status } : {}),
        permanent: true,
        nextAttemptAt: now.toISOString(),
      });
      const newlyDead = [saved, ...held.filter((h) => h.id !== item.id)].filter(
        (i) => i.value.deadLetteredAt === undefined,
      );
      deadLettered += await deadLetter(deps, newlyDead, outcome, error, now, raised, true);
      const reason = `${error} (the webhook must be fixed)`;
      deps.broken?.set(channel, reason);
      return { delivered, deadLettered, reason };
    }
    const delay = Math.max(outcome.retryAfterMs ?? 0, backoff(policy, attempts));
    const saved = await update(deps.store, item, now, {
      attempts,
      lastError: error,
      ...(outcome.status !== undefined ? { lastStatus: outcome.status } : {}),
      permanent: false,
      nextAttemptAt: new Date(now.getTime() + delay).toISOString(),
    });
    items = replaceAt(items, index, saved);
    const giveUpAfter = policy.giveUpAfterMs ?? 86_400_000;
    if (
      saved.value.deadLetteredAt === undefined &&
      now.getTime() - Date.parse(saved.value.createdAt) >= giveUpAfter
    )
      deadLettered += await deadLetter(deps, [saved], outcome, error, now, raised, false);
  }
  return { delivered, deadLettered };
}

function replaceAt(items: readonly Stored[], index: number, item: Stored): Stored[] {
  const copy = [...items];
  copy[index] = item;
  return copy;
}

/** Exponential backoff from `retryDelayMs`, capped. */
function backoff(policy: OutboxPolicy, attempts: number): number {
  const base = policy.retryDelayMs ?? 2000;
  const cap = policy.maxRetryDelayMs ?? 15 * 60_000;
  return Math.min(cap, base * 2 ** Math.max(0, attempts - 1));
}

/** Waits until `at`; false when the deadline comes first or the drain was stopped. */
async function waitUntil(deps: DrainDeps, at: number): Promise<boolean> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (;;) {
    if (deps.signal?.aborted) return false;
    const now = deps.clock().getTime();
    if (now >= at) return now < deps.deadline();
    if (at >= deps.deadline()) return false;
    await sleep(Math.min(WAIT_SLICE_MS, at - now));
  }
}

async function lease(deps: DrainDeps, item: Stored, leaseMs: number): Promise<Stored | undefined> {
  const now = deps.clock();
  if (item.value.leaseUntil && Date.parse(item.value.leaseUntil) > now.getTime()) return undefined;
  try {
    return await update(deps.store, item, now, {
      leaseUntil: new Date(now.getTime() + leaseMs).toISOString(),
    });
  } catch (error) {
    if (error instanceof ConditionFailedError) return undefined;
    throw error;
  }
}

async function update(
  store: StateStore,
  item: Stored,
  now: Date,
  changes: Partial<OutboxItem>,
): Promise<Stored> {
  const { leaseUntil: _lease, ...rest } = item.value;
  const next: OutboxItem = { ...rest, ...changes };
  const value: OutboxItem = next.status === 'delivered' ? (({ message: _m, ...kept }) => kept)(next) : next;
  return store.put<OutboxItem>(OUTBOX_COLLECTION, item.id, value, now, {
    expectedRevision: item.revision,
    ...(item.expiresAt !== undefined ? { expiresAt: new Date(item.expiresAt) } : {}),
  });
}

async function saveLane(deps: DrainDeps, channel: string, notBefore: number, now: Date): Promise<void> {
  try {
    await deps.store.put<LaneState>(OUTBOX_LANES_COLLECTION, channel, { notBefore }, now, {
      expiresAt: new Date(now.getTime() + 86_400_000),
    });
  } catch (error) {
    deps.onProblem?.(`outbox pacing for ${channel} not saved: ${describeError(error)}`);
  }
}

/**
 * Writes a dead-letter record per item, raises one operator alert for them (never about the operator
 * channel through itself, never about an operator alert) and publishes a Notification Delivery Failed
 * event per item built from an event. Returns how many items were dead-lettered.
 */
async function deadLetter(
  deps: DrainDeps,
  items: readonly Stored[],
  outcome: DeliveryOutcome,
  error: string,
  now: Date,
  raised: NewOutboxMessage[],
  permanent: boolean,
): Promise<number> {
  if (items.length === 0) return 0;
  const channel = items[0]!.value.channel;
  const fresh: Stored[] = [];
  for (const item of items) {
    const record: DeadLetterRecord = {
      channel,
      key: item.value.key,
      ...(item.value.detailType !== undefined ? { detailType: item.value.detailType } : {}),
      headline: headline(item.value),
      attempts: Math.max(1, item.value.attempts),
      ...(outcome.status !== undefined ? { status: outcome.status } : {}),
      permanent,
      error,
      createdAt: item.value.createdAt,
      deadLetteredAt: now.toISOString(),
    };
    try {
      await deps.store.put(DEAD_LETTER_COLLECTION, item.id, record, now, {
        expiresAt: new Date(now.getTime() + RETAIN_MS),
      });
      const latest = await deps.store.get<OutboxItem>(OUTBOX_COLLECTION, item.id, now);
      if (latest && latest.value.status === 'pending')
        await update(deps.store, latest, now, { deadLetteredAt: now.toISOString() });
      fresh.push(item);
    } catch (problem) {
      deps.onProblem?.(`dead-letter record for ${item.id}: ${describeError(problem)}`);
    }
  }
  deps.onProblem?.(
    `${channel}: ${fresh.length} message(s) dead-lettered (${permanent ? 'refused' : 'still failing'}): ${error}`,
  );
  try {
    deps.onDeadLetter?.({
      channel,
      permanent,
      error,
      ...(outcome.status !== undefined ? { status: outcome.status } : {}),
      keys: fresh.map((i) => i.value.key),
    });
  } catch {
    // Reporting a problem must not become one.
  }
  const subjects = fresh.filter((i) => i.value.kind !== 'operator');
  if (subjects.length === 0) return fresh.length;
  const operator = deps.operatorChannel;
  if (operator !== undefined && operator !== channel) {
    raised.push({
      channel: operator,
      key: `delivery-problem:${channel}:${subjects[0]!.value.key}`,
      kind: 'operator',
      detailType: 'Notification Delivery Failed',
      message: buildDeliveryProblemMessage({
        channel,
        error,
        ...(outcome.status !== undefined ? { status: outcome.status } : {}),
        undelivered: subjects.map((i) => headline(i.value)),
        now,
        ...(deps.runbookBaseUrl !== undefined ? { runbookBaseUrl: deps.runbookBaseUrl } : {}),
      }),
    });
  }
  if (deps.publish) {
    const events: OutgoingEvent[] = [];
    for (const item of subjects) {
      const original = item.value.detailType;
      if (original === undefined || !isDetailType(original) || original === 'Notification Delivery Failed')
        continue;
      try {
        events.push(
          buildEvent(
            'Notification Delivery Failed',
            {
              dedupeKey: `notification-delivery-failed:${channel}:${item.value.key}`,
              severity: 'error',
              occurredAt: now.toISOString(),
              environments: [],
              summary: `Notification to ${channel} not delivered: ${headline(item.value)}`,
              channel,
              ...(outcome.status !== undefined ? { status: outcome.status } : {}),
              permanent,
              attempts: Math.max(1, item.value.attempts),
              error: error.slice(0, 1000),
              originalDetailType: original as DetailTypeName,
              originalDedupeKey: item.value.key,
            } as never,
            now,
          ),
        );
      } catch (problem) {
        deps.onProblem?.(`Notification Delivery Failed event for ${item.id}: ${describeError(problem)}`);
      }
    }
    if (events.length > 0) {
      try {
        await deps.publish(events);
      } catch (problem) {
        deps.onProblem?.(`publishing Notification Delivery Failed: ${describeError(problem)}`);
      }
    }
  }
  return fresh.length;
}

function headline(item: OutboxItem): string {
  return item.message?.text.split('\n')[0] ?? item.key;
}

/** A notifier that throws is a failed delivery, not a failed caller. */
async function sendSafely(notifier: Notifier, message: ChatMessage): Promise<DeliveryOutcome> {
  try {
    return await notifier.send(message);
  } catch (error) {
    return { ok: false, attempts: 1, error: `${notifier.name}: ${describeError(error)}` };
  }
}

/**
 * What the notification outbox stores (one item per channel and deduplication key, dead-letter
 * records) and how messages get into it: `enqueue`, and the dispatcher the digest uses. Sending is
 * `drainOutbox` (outbox.ts).
 */
import { type ChatMessage, type Clock, ConditionFailedError, type StateStore } from '../../domain/ports';
import type { Delivery, DeliveryReport, DispatchReport } from './notify';

export const OUTBOX_COLLECTION = 'outbox';
export const DEAD_LETTER_COLLECTION = 'outbox-dead-letters';
export const OUTBOX_LANES_COLLECTION = 'outbox-lanes';

/** Delivered items are kept this long as the deduplication record (longer than any certificate's last threshold). */
export const RETAIN_MS = 400 * 86_400_000;

export type OutboxItemKind = 'message' | 'operator';

export interface OutboxItem {
  readonly channel: string;
  /** Deduplication key (the event's, `digest:<channel>:<occurrence>`, `delivery-problem:…`). */
  readonly key: string;
  readonly kind: OutboxItemKind;
  /** Detail type of the event the message was built from, when it was built from one. */
  readonly detailType?: string;
  /** Absent once delivered or when held back by an incident (the record then only deduplicates). */
  readonly message?: ChatMessage;
  /** `inhibited`: never sent, the alert is in its incident's summary (see record.ts). */
  readonly status: 'pending' | 'delivered' | 'inhibited';
  readonly createdAt: string;
  /** Orders a lane: creation time, then the order of recording. */
  readonly order: string;
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly leaseUntil?: string;
  readonly lastError?: string;
  readonly lastStatus?: number;
  /** The last answer was a refusal for good (400/403/404/410): the lane is probed once per drain. */
  readonly permanent?: boolean;
  readonly deadLetteredAt?: string;
  readonly deliveredAt?: string;
}

export interface DeadLetterRecord {
  readonly channel: string;
  readonly key: string;
  readonly detailType?: string;
  readonly headline: string;
  readonly attempts: number;
  readonly status?: number;
  readonly permanent: boolean;
  readonly error: string;
  readonly createdAt: string;
  readonly deadLetteredAt: string;
}

export interface NewOutboxMessage {
  readonly channel: string;
  readonly key: string;
  readonly message: ChatMessage;
  readonly detailType?: string;
  readonly kind?: OutboxItemKind;
}

let sequence = 0;

/**
 * Records messages as pending, once per channel and key; returns how many were new. Store failures
 * propagate: a message that could not be recorded must be reported by the caller.
 */
export async function enqueue(
  store: StateStore,
  messages: readonly NewOutboxMessage[],
  now: Date,
): Promise<{ recorded: number; duplicates: number }> {
  let recorded = 0;
  let duplicates = 0;
  for (const m of messages) {
    sequence = (sequence + 1) % 1_000_000;
    const item: OutboxItem = {
      channel: m.channel,
      key: m.key,
      kind: m.kind ?? 'message',
      ...(m.detailType !== undefined ? { detailType: m.detailType } : {}),
      message: m.message,
      status: 'pending',
      createdAt: now.toISOString(),
      order: `${now.toISOString()}#${String(sequence).padStart(6, '0')}`,
      attempts: 0,
      nextAttemptAt: now.toISOString(),
    };
    try {
      await store.put(OUTBOX_COLLECTION, itemId(m.channel, m.key), item, now, {
        ifAbsent: true,
        expiresAt: new Date(now.getTime() + RETAIN_MS),
      });
      recorded++;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      duplicates++;
    }
  }
  return { recorded, duplicates };
}

/**
 * Records alerts held back by an incident (summarised instead of sent): one record per channel and
 * key, never sent, so the same alert recorded again (the notifier receiving the event the scan job
 * already judged) is a duplicate, not a message. An alert the outbox already has stays as it is.
 */
export async function markInhibited(
  store: StateStore,
  alerts: readonly { readonly channel: string; readonly key: string; readonly detailType?: string }[],
  now: Date,
): Promise<void> {
  for (const a of alerts) {
    const item: OutboxItem = {
      channel: a.channel,
      key: a.key,
      kind: 'message',
      ...(a.detailType !== undefined ? { detailType: a.detailType } : {}),
      status: 'inhibited',
      createdAt: now.toISOString(),
      order: `${now.toISOString()}#inhibited`,
      attempts: 0,
      nextAttemptAt: now.toISOString(),
    };
    try {
      await store.put(OUTBOX_COLLECTION, itemId(a.channel, a.key), item, now, {
        ifAbsent: true,
        expiresAt: new Date(now.getTime() + RETAIN_MS),
      });
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
}

export function itemId(channel: string, key: string): string {
  return `${channel}:${key}`;
}

/**
 * A dispatcher (as the digest uses one) that records each delivery in the outbox instead of sending
 * it: "sent" means durably accepted for delivery; `drainOutbox` sends it.
 */
export class OutboxDispatcher {
  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
  ) {}

  async dispatch(deliveries: readonly Delivery[]): Promise<DispatchReport> {
    const reports: DeliveryReport[] = [];
    for (const d of deliveries) {
      await enqueue(
        this.store,
        [{ channel: d.channel, key: d.dedupeKey ?? d.id, message: d.message }],
        this.clock(),
      );
      reports.push({ id: d.id, channel: d.channel, status: 'sent' });
    }
    return {
      deliveries: reports,
      sent: reports.length,
      duplicates: 0,
      failed: 0,
      retryable: [],
      problems: [],
    };
  }
}

/**
 * Publishes certrotor events to an EventBridge bus.
 *
 * PutEvents takes at most 10 entries and 256 KB per request, measured the way EventBridge measures
 * them (see `entrySize`). A request can succeed while some of its entries fail (`FailedEntryCount`,
 * per-entry `ErrorCode`): only those entries are sent again, with backoff, a bounded number of
 * times. Whatever still fails is returned in the report, one line per event: nothing is dropped
 * silently and nothing is thrown for a transport failure.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import type { EventPublisher, OutgoingEvent, PublishReport } from '../../domain/ports';
import { scrubPrivateKeys } from '../../domain/secret';
import { describeAwsError } from './clients';

export const MAX_ENTRIES_PER_REQUEST = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;

/** Entry error codes that another try cannot fix. */
const PERMANENT_ENTRY_ERRORS = new Set([
  'MalformedDetail',
  'InvalidArgument',
  'ValidationException',
  'AccessDeniedException',
  'NotAuthorizedForSourceException',
  'NotAuthorizedForDetailTypeException',
  'ResourceNotFoundException',
]);

export interface EventBridgePublisherOptions {
  readonly client: EventBridgeClient;
  /** Bus name or ARN. */
  readonly eventBusName: string;
  /** Extra rounds for entries that failed, after the first request. @default 3 */
  readonly maxEntryRetries?: number;
  /** First backoff before re-sending failed entries; doubles each round, with full jitter. @default 200 */
  readonly baseDelayMs?: number;
  /** Injected for tests. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injected for tests: a float in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * The size EventBridge counts for one entry: 14 bytes for Time when present, plus the UTF-8 bytes of
 * Source, DetailType, Detail and each resource ARN.
 */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time !== undefined ? 14 : 0;
  size += Buffer.byteLength(entry.Source ?? '', 'utf8');
  size += Buffer.byteLength(entry.DetailType ?? '', 'utf8');
  size += Buffer.byteLength(entry.Detail ?? '', 'utf8');
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource, 'utf8');
  return size;
}

/** Splits entries, in order, into requests within both limits. An entry over the byte limit alone is set aside. */
export function planBatches<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
): { readonly batches: T[][]; readonly oversized: T[] } {
  const batches: T[][] = [];
  const oversized: T[] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (size > MAX_REQUEST_BYTES) {
      oversized.push(item);
      continue;
    }
    if (batch.length === MAX_ENTRIES_PER_REQUEST || bytes + size > MAX_REQUEST_BYTES) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return { batches, oversized };
}

interface Pending {
  readonly event: OutgoingEvent;
  readonly entry: PutEventsRequestEntry;
  readonly size: number;
}

export class EventBridgePublisher implements EventPublisher {
  readonly name: string;
  private readonly client: EventBridgeClient;
  private readonly eventBusName: string;
  private readonly maxEntryRetries: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: EventBridgePublisherOptions) {
    this.client = options.client;
    this.eventBusName = options.eventBusName;
    this.name = `eventbridge:${options.eventBusName}`;
    this.maxEntryRetries = options.maxEntryRetries ?? 3;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  toEntry(event: OutgoingEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.eventBusName,
      Source: event.source,
      DetailType: event.detailType,
      Time: new Date(event.time),
      // Defence in depth: an event's detail never carries a key, and if one slipped in it leaves scrubbed.
      Detail: scrubPrivateKeys(JSON.stringify(event.detail)),
      ...(event.resources !== undefined && event.resources.length > 0
        ? { Resources: [...event.resources] }
        : {}),
    };
  }

  async publish(events: readonly OutgoingEvent[]): Promise<PublishReport> {
    const failed: { event: OutgoingEvent; error: string }[] = [];
    let published = 0;
    let pending: Pending[] = events.map((event) => {
      const entry = this.toEntry(event);
      return { event, entry, size: entrySize(entry) };
    });

    for (let round = 0; pending.length > 0; round += 1) {
      if (round > 0) await this.sleep(this.backoff(round));
      const { batches, oversized } = planBatches(pending, (p) => p.size);
      for (const p of oversized) {
        failed.push({
          event: p.event,
          error: `event ${p.event.detailType} is ${p.size} bytes, over the ${MAX_REQUEST_BYTES}-byte PutEvents limit`,
        });
      }
      const retry: Pending[] = [];
      for (const batch of batches) {
        const result = await this.send(batch);
        published += result.published;
        for (const p of result.failed) {
          const permanent = p.code !== undefined && PERMANENT_ENTRY_ERRORS.has(p.code);
          if (permanent || round >= this.maxEntryRetries || p.wholeRequest) {
            failed.push({ event: p.pending.event, error: p.error });
          } else {
            retry.push(p.pending);
          }
        }
      }
      pending = retry;
    }
    return { published, failed };
  }

  private backoff(round: number): number {
    return Math.floor(this.random() * this.baseDelayMs * 2 ** (round - 1));
  }

  /**
   * One PutEvents request. A thrown error fails every entry of the request: the SDK already retried
   * it (throttling, 5xx) under its retry strategy, so what is left is permanent or an outage.
   */
  private async send(batch: readonly Pending[]): Promise<{
    published: number;
    failed: { pending: Pending; error: string; code?: string; wholeRequest?: boolean }[];
  }> {
    try {
      const out = await this.client.send(new PutEventsCommand({ Entries: batch.map((p) => p.entry) }));
      const results = out.Entries ?? [];
      const failed: { pending: Pending; error: string; code?: string }[] = [];
      batch.forEach((pending, index) => {
        const result = results[index];
        if (result === undefined) {
          failed.push({ pending, error: `PutEvents ${this.eventBusName}: no result for entry ${index}` });
        } else if (result.ErrorCode !== undefined || result.EventId === undefined) {
          const code = result.ErrorCode ?? 'NoEventId';
          const message = scrubPrivateKeys(result.ErrorMessage ?? '').split('\n')[0];
          failed.push({
            pending,
            code,
            error: `PutEvents ${this.eventBusName}: ${code}${message ? `: ${message}` : ''}`,
          });
        }
      });
      return { published: batch.length - failed.length, failed };
    } catch (error) {
      const message = describeAwsError('PutEvents', `event bus ${this.eventBusName}`, error).message;
      return {
        published: 0,
        failed: batch.map((pending) => ({ pending, error: message, wholeRequest: true })),
      };
    }
  }
}

/**
 * Handing a batch of events over: to people through the notification outbox (the `notify` of the
 * cycle, which records every message before anything is sent) and to the bus. Only events handed
 * over completely may be marked as alerted (see `markAlerted` in scan.ts).
 */
import { describeError } from '../domain/errors';
import type { EventPublisher, OutgoingEvent } from '../domain/ports';
import type { ScanFailure } from './scan';

export interface HandOverDeps {
  readonly publisher: EventPublisher;
  /** Records the events' messages in the outbox; returns one line per problem. Never throws. */
  readonly notify?: (events: readonly OutgoingEvent[]) => Promise<string[]>;
}

/**
 * A publisher for the rotation steps that sends each event through the cycle's publisher and
 * notifier as it is produced, collecting the events and any delivery problems.
 */
export function eventSink(deps: HandOverDeps): {
  sink: EventPublisher;
  events: OutgoingEvent[];
  failures: ScanFailure[];
} {
  const events: OutgoingEvent[] = [];
  const failures: ScanFailure[] = [];
  const sink: EventPublisher = {
    name: deps.publisher.name,
    publish: async (batch) => {
      events.push(...batch);
      failures.push(...(await deliver(deps, batch)));
      return { published: batch.length, failed: [] };
    },
  };
  return { sink, events, failures };
}

/**
 * Hands events to people and to the bus. The notifier (the outbox) goes first: it records every
 * message as pending before anything is sent, so a publisher that hangs or fails cannot cost a
 * message. Returns one failure per event not published and per message not even recorded; a message
 * recorded but not yet delivered is no failure (the outbox delivers it later).
 */
export async function deliver(deps: HandOverDeps, events: readonly OutgoingEvent[]): Promise<ScanFailure[]> {
  return (await handOver(deps, events)).failures;
}

/**
 * `deliver`, also returning the events handed over: recorded in the outbox (when there is a
 * notifier) and published. Only those may be marked as alerted; the others are raised again.
 */
export async function handOver(
  deps: HandOverDeps,
  events: readonly OutgoingEvent[],
): Promise<{ failures: ScanFailure[]; events: OutgoingEvent[] }> {
  if (events.length === 0) return { failures: [], events: [] };
  const failures: ScanFailure[] = [];
  let recorded = true;
  if (deps.notify) {
    let unrecorded: string[];
    try {
      unrecorded = await deps.notify(events);
    } catch (error) {
      unrecorded = [describeError(error)];
    }
    for (const problem of unrecorded) failures.push({ what: 'notification', error: problem });
    recorded = unrecorded.length === 0;
  }
  let published: OutgoingEvent[] = [];
  try {
    const report = await deps.publisher.publish(events);
    for (const f of report.failed) failures.push({ what: `publish ${f.event.detailType}`, error: f.error });
    const key = (e: OutgoingEvent) => `${e.detailType}|${String(e.detail.dedupeKey)}`;
    const unpublished = new Set(report.failed.map((f) => key(f.event)));
    published = events.filter((e) => !unpublished.has(key(e)));
  } catch (error) {
    failures.push({ what: `publisher ${deps.publisher.name}`, error: describeError(error) });
  }
  return { failures, events: recorded ? published : [] };
}

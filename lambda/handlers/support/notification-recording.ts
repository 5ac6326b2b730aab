/**
 * The deployed side of recording notifications (use-cases/notify/record.ts): the silences the
 * functions honour, and the `notify` the scan jobs hand their batch of events to. The scan job
 * records the batch's messages in the outbox itself (so an incident is judged on the whole batch,
 * as in the CLI) before publishing the events; the notifier, receiving each event, finds them
 * recorded and sends what is pending.
 */
import type { CertrotorConfig } from '../../config/configuration';
import { describeError } from '../../domain/errors';
import type { OutgoingEvent, StateStore } from '../../domain/ports';
import { type Silence, liveSilences, silencesFromConfig } from '../../domain/silences';
import { COLLECTIONS } from '../../use-cases/certificate-state';
import { recordNotifications, recordResolutions } from '../../use-cases/notify/record';
import { logger } from './runtime';

/**
 * Silences from the configuration and those stored in the table (`certrotor silence --backend aws`).
 * A table that cannot be read leaves only the configured ones: a silence must never block an alert.
 */
export async function activeSilences(
  config: CertrotorConfig,
  store: StateStore,
  now: Date,
): Promise<Silence[]> {
  const configured = silencesFromConfig(config.silences);
  try {
    const stored = await store.list<Silence>(COLLECTIONS.silences, now);
    return liveSilences([...configured, ...stored.map((i) => i.value)], now);
  } catch (error) {
    logger.warn('stored silences unreadable; using configured ones only', { error: describeError(error) });
    return liveSilences(configured, now);
  }
}

/**
 * The scan jobs' `notify`: records the batch's messages (inhibition, silences, digest, resolution
 * watches) in the outbox; returns one line per problem (the findings are then not marked alerted).
 */
export function recordingNotifier(
  config: CertrotorConfig,
  store: StateStore,
  clock: () => Date,
): (events: readonly OutgoingEvent[]) => Promise<string[]> {
  return async (events) => {
    const now = clock();
    try {
      const report = await recordNotifications(
        { store, config, silences: await activeSilences(config, store, now), now },
        events,
      );
      logger.info('notifications recorded', {
        events: events.length,
        recorded: report.recorded,
        inhibited: report.inhibited,
        summaries: report.summaries,
        held: report.held,
      });
      return [];
    } catch (error) {
      return [`notification outbox: ${describeError(error)}`];
    }
  };
}

/**
 * After a scan recorded its observations: the "resolved" message of each critical alert that
 * cleared goes into the outbox (the notifier's outbox schedule sends it). Never throws.
 */
export async function recordClearedAlerts(store: StateStore, now: Date): Promise<void> {
  try {
    const resolved = await recordResolutions(store, now);
    if (resolved > 0) logger.info('resolved alerts recorded', { resolved });
  } catch (error) {
    logger.warn('resolution check failed', { error: describeError(error) });
  }
}

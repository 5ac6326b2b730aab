/**
 * Resolution: when a critical finding clears (the expired certificate is replaced), one "resolved"
 * message goes to the channel that got the alert.
 *
 * Primary course: when a **Certificate Expired** alert is recorded for a channel, `watchCritical`
 * remembers where the expired certificate was seen (the places of the scan's latest observations
 * serving its fingerprint). `resolvedWatches` later checks those places: once every one of them was
 * observed again after the alert and serves another certificate without error, the alert is resolved:
 * one message (deduplicated per channel and alert key in the outbox), then the watch ends. A place that
 * could not be observed (unreachable, not scanned) keeps the watch open: no resolution on a guess.
 */
import type { ChatMessage, StateStore } from '../../domain/ports';
import {
  type Block,
  bold,
  code,
  enforceLimits,
  escapeText,
  formatTime,
  header,
  listSection,
  section,
} from '../../domain/notifications/slack-blocks';
import type { NewOutboxMessage } from './outbox';

export const RESOLUTION_WATCH_COLLECTION = 'outbox-resolution-watch';
/** The observations collection of the scan (see `certificate-state.ts` COLLECTIONS). */
const OBSERVATIONS = 'observations';
const WATCH_RETAIN_MS = 90 * 86_400_000;

interface ObservedPlace {
  readonly environment: string;
  readonly location: string;
  readonly ok: boolean;
  readonly fingerprintSha256?: string;
  readonly observedAt: string;
}

export interface ResolutionWatch {
  readonly channel: string;
  /** The alert's deduplication key. */
  readonly key: string;
  readonly fingerprint: string;
  readonly headline: string;
  readonly alertedAt: string;
  /** Observation ids (places) that served the expired certificate. */
  readonly places: readonly string[];
  readonly labels: readonly string[];
}

export interface CriticalAlert {
  readonly channel: string;
  readonly key: string;
  readonly detailType: string;
  readonly detail: Record<string, unknown>;
  readonly headline: string;
}

const normalise = (fp: string) => fp.replace(/[^0-9a-f]/gi, '').toUpperCase();

/** Starts watching the Certificate Expired alerts just recorded; others are ignored. */
export async function watchCritical(
  store: StateStore,
  alerts: readonly CriticalAlert[],
  now: Date,
): Promise<number> {
  const expired = alerts.filter((a) => a.detailType === 'Certificate Expired');
  if (expired.length === 0) return 0;
  const observed = await store.list<ObservedPlace>(OBSERVATIONS, now);
  let watched = 0;
  for (const alert of expired) {
    const certificate = alert.detail.certificate as { fingerprintSha256?: string } | undefined;
    if (!certificate?.fingerprintSha256) continue;
    const fingerprint = normalise(certificate.fingerprintSha256);
    const places = observed.filter(
      (o) => o.value.fingerprintSha256 && normalise(o.value.fingerprintSha256) === fingerprint,
    );
    if (places.length === 0) continue;
    const watch: ResolutionWatch = {
      channel: alert.channel,
      key: alert.key,
      fingerprint,
      headline: alert.headline,
      alertedAt: now.toISOString(),
      places: places.map((p) => p.id),
      labels: places.map((p) => `${p.value.environment}: ${p.value.location}`),
    };
    try {
      await store.put(RESOLUTION_WATCH_COLLECTION, `${alert.channel}:${alert.key}`, watch, now, {
        ifAbsent: true,
        expiresAt: new Date(now.getTime() + WATCH_RETAIN_MS),
      });
      watched++;
    } catch {
      // Already watched (the same alert recorded again): nothing to do.
    }
  }
  return watched;
}

/**
 * The "resolved" message of every watched alert whose places all serve another certificate now,
 * each with `end` to end its watch once the message is recorded (`recordResolutions` in record.ts):
 * a crash in between resolves it again, and the outbox records one message per channel and key.
 */
export async function resolvedWatches(
  store: StateStore,
  now: Date,
): Promise<{ readonly message: NewOutboxMessage; readonly end: () => Promise<void> }[]> {
  const watches = await store.list<ResolutionWatch>(RESOLUTION_WATCH_COLLECTION, now);
  if (watches.length === 0) return [];
  const resolved: { message: NewOutboxMessage; end: () => Promise<void> }[] = [];
  for (const watch of watches) {
    const w = watch.value;
    const now_ = await Promise.all(w.places.map((id) => store.get<ObservedPlace>(OBSERVATIONS, id, now)));
    const cleared = now_.every(
      (o) =>
        o !== undefined &&
        o.value.ok &&
        Date.parse(o.value.observedAt) > Date.parse(w.alertedAt) &&
        o.value.fingerprintSha256 !== undefined &&
        normalise(o.value.fingerprintSha256) !== w.fingerprint,
    );
    if (!cleared) continue;
    resolved.push({
      message: {
        channel: w.channel,
        key: `resolved:${w.key}`,
        kind: 'message',
        message: resolvedMessage(
          w,
          now_.map((o) => o!.value),
          now,
        ),
      },
      end: () => store.delete(RESOLUTION_WATCH_COLLECTION, watch.id).catch(() => undefined),
    });
  }
  return resolved;
}

function resolvedMessage(watch: ResolutionWatch, places: readonly ObservedPlace[], now: Date): ChatMessage {
  const title = `Resolved: ${watch.headline.replace(/^(<[^>]+>\s*)?\[[a-z]+\]\s*/i, '')}`;
  const blocks: Block[] = [
    header(title.slice(0, 150)),
    section(
      `:white_check_mark: The expired certificate ${code(watch.fingerprint.slice(0, 12))} is no longer served: every place that served it now serves another certificate (alerted ${escapeText(formatTime(watch.alertedAt))}).`,
    ),
    listSection(
      `*Now serving* (${places.length})`,
      places.map(
        (p) =>
          `• ${bold(escapeText(p.environment))}: ${code(p.location)} → ${code((p.fingerprintSha256 ?? '').replace(/:/g, '').slice(0, 12))}`,
      ),
      15,
    ),
    {
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: `${escapeText(formatTime(now.toISOString()))} · key ${code(watch.key)}` },
      ],
    },
  ];
  return enforceLimits({ text: `[resolved] ${title}`, blocks });
}

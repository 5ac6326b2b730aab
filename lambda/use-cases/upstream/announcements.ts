/**
 * Recording announcements from every source (manual, feeds, observed changes), deduplicated by source id.
 */
import { describeError, InvalidInputError } from '../../domain/errors';
import type { StateStore, StoredItem } from '../../domain/ports';
import { ConditionFailedError } from '../../domain/ports';
import { type AnnouncementDraft, announcementIdOf } from '../../domain/upstream/announcement';
import { parseFeed } from '../../domain/upstream/feed-parsing';
import { COLLECTIONS } from '../certificate-state';
import type { AnnouncementRecord, UpstreamDeps, UpstreamSpec } from './model';

export interface RecordedAnnouncement {
  readonly record: AnnouncementRecord;
  /** First time this source id was seen. */
  readonly created: boolean;
  /** Seen before, and the source changed something (dates, text). */
  readonly changed: boolean;
}

export type AnnouncementExtras = Partial<
  Pick<
    AnnouncementRecord,
    'note' | 'newClientCertificate' | 'newCaPem' | 'newCaFingerprints' | 'newServerFingerprints'
  >
>;

/**
 * Stores an announcement, once per source id. Seeing it again updates what the source says (dates,
 * text) but keeps what certrotor added (new material, distribution state, creation time).
 */
export async function recordAnnouncement(
  state: StateStore,
  draft: AnnouncementDraft,
  now: Date,
  extras: AnnouncementExtras = {},
): Promise<RecordedAnnouncement> {
  const id = announcementIdOf(draft);
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = await state.get<AnnouncementRecord>(COLLECTIONS.announcements, id, now);
    try {
      if (!existing) {
        const record: AnnouncementRecord = {
          ...draft,
          ...extras,
          id,
          createdAt: now.toISOString(),
          updatedAt: now.toISOString(),
        };
        await state.put(COLLECTIONS.announcements, id, record, now, { ifAbsent: true });
        return { record, created: true, changed: false };
      }
      const merged: AnnouncementRecord = {
        ...existing.value,
        ...draft,
        ...definedOnly(extras),
        id,
        createdAt: existing.value.createdAt,
        updatedAt: existing.value.updatedAt,
      };
      if (sameJson(merged, existing.value)) return { record: existing.value, created: false, changed: false };
      const updated = { ...merged, updatedAt: now.toISOString() };
      await state.put(COLLECTIONS.announcements, id, updated, now, { expectedRevision: existing.revision });
      return { record: updated, created: false, changed: true };
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error; // a concurrent writer: read again
    }
  }
  throw new InvalidInputError(`announcement ${id}: could not be stored after 5 concurrent updates`);
}

export async function listAnnouncements(
  state: StateStore,
  now: Date,
  upstream?: string,
): Promise<AnnouncementRecord[]> {
  const items = await state.list<AnnouncementRecord>(
    COLLECTIONS.announcements,
    now,
    upstream ? `${upstream}:` : undefined,
  );
  return items.map((item) => item.value).sort((a, b) => (a.cutover ?? '').localeCompare(b.cutover ?? ''));
}

export async function updateAnnouncement(
  state: StateStore,
  id: string,
  now: Date,
  change: (record: AnnouncementRecord) => AnnouncementRecord,
): Promise<AnnouncementRecord> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing: StoredItem<AnnouncementRecord> | undefined = await state.get(
      COLLECTIONS.announcements,
      id,
      now,
    );
    if (!existing) throw new InvalidInputError(`announcement ${id}: not found`);
    const next = { ...change(existing.value), updatedAt: now.toISOString() };
    try {
      await state.put(COLLECTIONS.announcements, id, next, now, { expectedRevision: existing.revision });
      return next;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
  throw new InvalidInputError(`announcement ${id}: could not be updated after 5 concurrent updates`);
}

/** Attaches new material (a vendor client certificate, new CAs) to a stored announcement. */
export async function attachNewMaterial(
  state: StateStore,
  announcementId: string,
  extras: AnnouncementExtras,
  now: Date,
): Promise<AnnouncementRecord> {
  return updateAnnouncement(state, announcementId, now, (current) => ({
    ...current,
    ...definedOnly(extras),
  }));
}

export interface FeedPollReport {
  readonly recorded: readonly RecordedAnnouncement[];
  readonly skipped: number;
  /** One per feed that could not be fetched or parsed; the others still ran. */
  readonly failures: readonly { readonly upstream: string; readonly feed: string; readonly error: string }[];
}

/** Fetches every feed of every upstream and records its certificate-related items. */
export async function pollFeeds(
  deps: UpstreamDeps,
  upstreams: readonly UpstreamSpec[],
): Promise<FeedPollReport> {
  const recorded: RecordedAnnouncement[] = [];
  const failures: { upstream: string; feed: string; error: string }[] = [];
  let skipped = 0;
  if (!deps.feeds) return { recorded, skipped, failures };
  for (const upstream of upstreams) {
    for (const feed of upstream.feeds) {
      try {
        const text = await deps.feeds.fetchText(feed.url);
        const parsed = parseFeed(text, {
          kind: feed.kind,
          upstream: upstream.name,
          feedName: feed.url,
          ...(feed.match ? { match: feed.match } : {}),
          ...(feed.components ? { components: feed.components } : {}),
        });
        skipped += parsed.skipped;
        for (const draft of parsed.announcements)
          recorded.push(await recordAnnouncement(deps.state, draft, deps.clock()));
      } catch (error) {
        failures.push({ upstream: upstream.name, feed: feed.url, error: describeError(error) });
      }
    }
  }
  return { recorded, skipped, failures };
}
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

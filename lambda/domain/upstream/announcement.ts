/**
 * An upstream rotation announcement as certrotor records it, whatever its source (an operator, a
 * status-page feed, AWS Health, or our own observation of the endpoint). Sources produce drafts;
 * the upstream use case stores them deduplicated by `sourceId`. A draft whose dates could not be
 * read with confidence carries `needsReview` and the reasons: a human decides, nothing is guessed
 * silently. When a date was ambiguous, the earliest reading is kept so deadlines err early.
 */
import { createHash } from 'node:crypto';
import type { Announcement } from './window';

export const ANNOUNCEMENT_SOURCES = [
  'manual',
  'atom',
  'rss',
  'statuspage-json',
  'aws-health',
  'observation',
] as const;
export type AnnouncementSource = (typeof ANNOUNCEMENT_SOURCES)[number];

export interface AnnouncementDraft {
  readonly source: AnnouncementSource;
  /** Stable within the source (feed entry id, AWS Health event ARN, observed fingerprint): the dedupe key. */
  readonly sourceId: string;
  /** Upstream name from configuration. */
  readonly upstream: string;
  readonly title: string;
  /** The text as published (feed body, event description), kept for the human who reviews it. */
  readonly rawText?: string;
  readonly link?: string;
  /** When the source published it, ISO 8601 UTC. */
  readonly publishedAt?: string;
  /** Overlap start, ISO 8601 UTC. Defaults to the earlier of publication and cutover. */
  readonly windowStart?: string;
  /** After this instant only the new material may work, ISO 8601 UTC. Absent when unknown. */
  readonly cutover?: string;
  /** End of the vendor's maintenance window, when one was given. */
  readonly windowEnd?: string;
  readonly decommission?: string;
  readonly newCertificate?: Announcement['newCertificate'];
  /** Resources the source names (AWS Health affected entities, status-page components). */
  readonly affectedResources?: readonly string[];
  /** Keywords that marked the item as certificate related. */
  readonly keywords?: readonly string[];
  readonly needsReview: boolean;
  /** One line each, why a human must check the dates. */
  readonly reviewReasons: readonly string[];
}

/** Stable announcement id: upstream, source and a short hash of the source id. */
export function announcementIdOf(draft: Pick<AnnouncementDraft, 'upstream' | 'source' | 'sourceId'>): string {
  const hash = createHash('sha256').update(draft.sourceId).digest('hex').slice(0, 16);
  return `${draft.upstream}:${draft.source}:${hash}`;
}

/**
 * The window the readiness policy evaluates, or undefined when the draft has no cutover (a human must
 * supply one first). The overlap starts at the given window start, else at publication, and never
 * after the cutover.
 */
export function windowAnnouncementOf(id: string, draft: AnnouncementDraft): Announcement | undefined {
  if (draft.cutover === undefined || Number.isNaN(Date.parse(draft.cutover))) return undefined;
  const cutover = Date.parse(draft.cutover);
  const candidates = [draft.windowStart, draft.publishedAt]
    .filter((value): value is string => value !== undefined && !Number.isNaN(Date.parse(value)))
    .map((value) => Date.parse(value));
  const start = Math.min(candidates[0] ?? cutover, cutover);
  return {
    id,
    upstream: draft.upstream,
    windowStart: new Date(start).toISOString(),
    cutover: new Date(cutover).toISOString(),
    ...(draft.decommission !== undefined && Date.parse(draft.decommission) >= cutover
      ? { decommission: draft.decommission }
      : {}),
    ...(draft.newCertificate ? { newCertificate: draft.newCertificate } : {}),
  };
}

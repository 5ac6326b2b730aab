/**
 * Days left to each upstream rotation deadline as metric points, for the upstream watcher to emit
 * (EMF) and the deadline alarm to watch. Only announcements that still need work count: a completed
 * rotation, or one without a usable cutover yet (`needs-review`, which alerts on its own), has no
 * deadline to miss.
 */
import { DAY_MS } from '../domain/certificate';
import type { AnnouncementStatus } from './upstream/readiness';

/** Per announcement; dimensions `Upstream` and `Announcement`. */
export const DAYS_TO_DEADLINE_METRIC = 'DaysToUpstreamDeadline';
/** The minimum over every open announcement; no dimensions beyond the service. The alarm watches it. */
export const MINIMUM_DAYS_TO_DEADLINE_METRIC = 'MinimumDaysToUpstreamDeadline';

export interface MetricPoint {
  readonly name: string;
  readonly unit: 'Count';
  readonly value: number;
  /** Extra dimensions; none for the service-wide minimum. */
  readonly dimensions: Readonly<Record<string, string>>;
}

/** Whole days left (floored, negative once past) per open announcement, then the minimum. */
export function announcementDeadlineMetrics(
  statuses: readonly Pick<AnnouncementStatus, 'announcement' | 'stage' | 'deadline'>[],
  now: Date,
): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const status of statuses) {
    if (status.stage === 'completed' || status.stage === 'needs-review' || status.deadline === undefined)
      continue;
    const value = Math.floor((Date.parse(status.deadline) - now.getTime()) / DAY_MS);
    if (!Number.isFinite(value)) continue;
    points.push({
      name: DAYS_TO_DEADLINE_METRIC,
      unit: 'Count',
      value,
      dimensions: { Upstream: status.announcement.upstream, Announcement: status.announcement.id },
    });
  }
  if (points.length > 0) {
    points.push({
      name: MINIMUM_DAYS_TO_DEADLINE_METRIC,
      unit: 'Count',
      value: Math.min(...points.map((p) => p.value)),
      dimensions: {},
    });
  }
  return points;
}

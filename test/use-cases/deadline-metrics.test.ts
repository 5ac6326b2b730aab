import { announcementDeadlineMetrics } from '../../lambda/use-cases/deadline-metrics';
import type { AnnouncementStatus } from '../../lambda/use-cases/upstream/readiness';

const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;

function status(id: string, stage: AnnouncementStatus['stage'], deadlineDays?: number) {
  return {
    announcement: { id, upstream: 'payments' } as AnnouncementStatus['announcement'],
    stage,
    ...(deadlineDays !== undefined
      ? { deadline: new Date(NOW.getTime() + deadlineDays * DAY).toISOString() }
      : {}),
  };
}

describe('announcementDeadlineMetrics', () => {
  it('gives whole days to each open deadline and their minimum, leaving out completed and unreviewed ones', () => {
    // Act
    const points = announcementDeadlineMetrics(
      [
        status('a', 'window-open', 10.5),
        status('b', 'overdue', -1.5),
        status('c', 'completed', 3),
        status('d', 'needs-review'),
      ],
      NOW,
    );

    // Assess
    expect(points).toEqual([
      {
        name: 'DaysToUpstreamDeadline',
        unit: 'Count',
        value: 10,
        dimensions: { Upstream: 'payments', Announcement: 'a' },
      },
      {
        name: 'DaysToUpstreamDeadline',
        unit: 'Count',
        value: -2,
        dimensions: { Upstream: 'payments', Announcement: 'b' },
      },
      { name: 'MinimumDaysToUpstreamDeadline', unit: 'Count', value: -2, dimensions: {} },
    ]);
  });

  it('emits nothing when no announcement is open', () => {
    expect(announcementDeadlineMetrics([status('c', 'completed', 3)], NOW)).toEqual([]);
  });
});

import { InvalidInputError } from '../../../lambda/domain/errors';
import {
  type Announcement,
  type ConsumerReadiness,
  DEFAULT_SAFETY_MARGIN_MS,
  DEFAULT_WINDOW_THRESHOLDS,
  type WindowPolicy,
  evaluateWindow,
  windowFindings,
  windowKey,
} from '../../../lambda/domain/upstream/window';
import { DAY, HOUR, NOW, at, buildFacts } from '../../builders/facts';

/** Overlap opens at NOW, cutover 30 days later; with the default 1 day margin the deadline is NOW + 29 days. */
function announcement(overrides: Partial<Announcement> = {}): Announcement {
  return {
    id: 'ann-1',
    upstream: 'payments-api',
    windowStart: NOW.toISOString(),
    cutover: at(30 * DAY).toISOString(),
    ...overrides,
  };
}

const DEADLINE = 29 * DAY;

function consumer(name: string, ready: boolean, environment = 'prod'): ConsumerReadiness {
  return { consumer: name, ready, environment };
}

const someNotReady = [
  consumer('host-a', true),
  consumer('host-b', false),
  consumer('host-c', false, 'staging'),
];
const allReady = [consumer('host-a', true), consumer('host-b', true)];

describe('evaluateWindow', () => {
  it('defaults to a one day safety margin and thresholds 14, 7, 3 and 1 days before the deadline', () => {
    // Act
    const status = evaluateWindow(announcement(), someNotReady, {}, NOW);

    // Assess
    expect(DEFAULT_SAFETY_MARGIN_MS).toBe(DAY);
    expect(DEFAULT_WINDOW_THRESHOLDS).toEqual([14, 7, 3, 1]);
    expect(status.deadline).toEqual(at(DEADLINE));
  });

  it.each<[string, number, string, number | 'overdue' | undefined, string]>([
    ['is announced before the overlap window starts', -5 * DAY, 'announced', undefined, 'info'],
    ['is window-open once the overlap window starts', 0, 'window-open', undefined, 'info'],
    [
      'stays window-open until the first threshold',
      DEADLINE - 14 * DAY - 1,
      'window-open',
      undefined,
      'info',
    ],
    [
      'approaches the deadline 14 days before it, as a warning',
      DEADLINE - 14 * DAY,
      'deadline-approaching',
      14,
      'warning',
    ],
    [
      'approaches the deadline 7 days before it, as a warning',
      DEADLINE - 7 * DAY,
      'deadline-approaching',
      7,
      'warning',
    ],
    [
      'approaches the deadline 3 days before it, as critical',
      DEADLINE - 3 * DAY,
      'deadline-approaching',
      3,
      'critical',
    ],
    [
      'approaches the deadline 1 day before it, as critical',
      DEADLINE - DAY,
      'deadline-approaching',
      1,
      'critical',
    ],
    [
      'stays at the 1 day threshold an hour before the deadline',
      DEADLINE - HOUR,
      'deadline-approaching',
      1,
      'critical',
    ],
    ['is overdue at the deadline while a consumer is not ready', DEADLINE, 'overdue', 'overdue', 'critical'],
    [
      'is overdue after cutover while a consumer is not ready',
      30 * DAY + HOUR,
      'overdue',
      'overdue',
      'critical',
    ],
  ])('%s', (_name, offset, stage, threshold, severity) => {
    // Act
    const status = evaluateWindow(announcement(), someNotReady, {}, at(offset));

    // Assess
    expect(status.stage).toBe(stage);
    expect(status.threshold).toBe(threshold);
    expect(status.severity).toBe(severity);
  });

  it.each([
    ['is completed before the window opens when every consumer is ready', -5 * DAY],
    ['is completed inside a threshold when every consumer is ready', DEADLINE - DAY],
    ['is completed after cutover when every consumer is ready', 31 * DAY],
  ])('%s', (_name, offset) => {
    // Act
    const status = evaluateWindow(announcement(), allReady, {}, at(offset));

    // Assess
    expect(status.stage).toBe('completed');
    expect(status.threshold).toBeUndefined();
    expect(status.dedupeKey).toBeUndefined();
  });

  it('is completed when the upstream has no consumers', () => {
    // Act
    const status = evaluateWindow(announcement(), [], {}, at(DEADLINE + DAY));

    // Assess
    expect(status.stage).toBe('completed');
  });

  it.each<[string, WindowPolicy, number, string, number | 'overdue' | undefined]>([
    [
      'sets the deadline three days before cutover with a three day margin',
      { safetyMarginMs: 3 * DAY },
      27 * DAY,
      'overdue',
      'overdue',
    ],
    [
      'is not overdue a day before cutover with a zero margin',
      { safetyMarginMs: 0 },
      29 * DAY,
      'deadline-approaching',
      1,
    ],
    ['is overdue at cutover with a zero margin', { safetyMarginMs: 0 }, 30 * DAY, 'overdue', 'overdue'],
    [
      'uses configured thresholds instead of the defaults',
      { thresholds: [10] },
      DEADLINE - 10 * DAY,
      'deadline-approaching',
      10,
    ],
    [
      'stays window-open before a configured threshold',
      { thresholds: [10] },
      DEADLINE - 11 * DAY,
      'window-open',
      undefined,
    ],
    [
      'reports the most severe of unordered configured thresholds',
      { thresholds: [2, 20, 5] },
      DEADLINE - 4 * DAY,
      'deadline-approaching',
      5,
    ],
  ])('%s', (_name, policy, offset, stage, threshold) => {
    // Act
    const status = evaluateWindow(announcement(), someNotReady, policy, at(offset));

    // Assess
    expect(status.stage).toBe(stage);
    expect(status.threshold).toBe(threshold);
  });

  it('approaches the deadline even before a short overlap window opens', () => {
    // Prepare: a two day overlap that opens only two days before cutover
    const short = announcement({ windowStart: at(28 * DAY).toISOString() });

    // Act
    const status = evaluateWindow(short, someNotReady, {}, at(27 * DAY));

    // Assess
    expect(status.stage).toBe('deadline-approaching');
    expect(status.threshold).toBe(3);
  });

  it('lists the consumers that are not ready and those that are', () => {
    // Act
    const status = evaluateWindow(announcement(), someNotReady, {}, NOW);

    // Assess
    expect(status.notReady.map((c) => c.consumer)).toEqual(['host-b', 'host-c']);
    expect(status.ready.map((c) => c.consumer)).toEqual(['host-a']);
  });

  it('says whether cutover has passed and carries the decommission time', () => {
    // Prepare
    const withDecommission = announcement({ decommission: at(60 * DAY).toISOString() });

    // Act
    const before = evaluateWindow(withDecommission, allReady, {}, at(30 * DAY - 1));
    const after = evaluateWindow(withDecommission, allReady, {}, at(30 * DAY));

    // Assess
    expect(before.cutoverPassed).toBe(false);
    expect(after.cutoverPassed).toBe(true);
    expect(after.decommission).toEqual(at(60 * DAY));
  });

  it('reports time to the deadline in milliseconds and whole days', () => {
    // Act
    const status = evaluateWindow(announcement(), someNotReady, {}, at(DEADLINE - 7 * DAY + HOUR));

    // Assess
    expect(status.remainingMs).toBe(7 * DAY - HOUR);
    expect(status.daysLeft).toBe(6);
  });

  it('keeps the same deduplication key on every scan inside the same threshold', () => {
    // Act
    const first = evaluateWindow(announcement(), someNotReady, {}, at(DEADLINE - 7 * DAY));
    const later = evaluateWindow(announcement(), someNotReady, {}, at(DEADLINE - 4 * DAY));

    // Assess
    expect(first.dedupeKey).toBe('upstream-window:ann-1:7d');
    expect(later.dedupeKey).toBe(first.dedupeKey);
  });

  it.each<[string, Partial<Announcement>, WindowPolicy, string]>([
    [
      'refuses a cutover before the window start',
      { cutover: at(-DAY).toISOString() },
      {},
      'announcement ann-1 (payments-api): cutover',
    ],
    [
      'refuses a decommission before cutover',
      { decommission: at(DAY).toISOString() },
      {},
      'announcement ann-1 (payments-api): decommission',
    ],
    [
      'names a window start that is not a date',
      { windowStart: 'next week' },
      {},
      'announcement ann-1 (payments-api): windowStart "next week" is not a date',
    ],
    [
      'refuses a negative safety margin',
      {},
      { safetyMarginMs: -1 },
      'safetyMarginMs -1 must be zero or more',
    ],
    [
      'refuses a zero day threshold',
      {},
      { thresholds: [7, 0] },
      'thresholds[1] 0 must be a positive number of days',
    ],
  ])('%s', (_name, overrides, policy, message) => {
    // Act
    const act = () => evaluateWindow(announcement(overrides), someNotReady, policy, NOW);

    // Assess
    expect(act).toThrow(InvalidInputError);
    expect(act).toThrow(message);
  });
});

describe('windowKey', () => {
  it.each<[string, string, number | 'overdue', string]>([
    ['keys a threshold by announcement and days', 'ann-1', 7, 'upstream-window:ann-1:7d'],
    ['keys overdue by announcement', 'ann-1', 'overdue', 'upstream-window:ann-1:overdue'],
    ['keeps announcements apart', 'ann-2', 7, 'upstream-window:ann-2:7d'],
  ])('%s', (_name, id, threshold, key) => {
    // Act + Assess
    expect(windowKey(id, threshold)).toBe(key);
  });
});

describe('windowFindings', () => {
  it('finds nothing before the first threshold', () => {
    // Prepare
    const status = evaluateWindow(announcement(), someNotReady, {}, NOW);

    // Act + Assess
    expect(windowFindings(announcement(), status)).toEqual([]);
  });

  it('finds nothing once every consumer is ready, even past the deadline', () => {
    // Prepare
    const status = evaluateWindow(announcement(), allReady, {}, at(DEADLINE + DAY));

    // Act + Assess
    expect(windowFindings(announcement(), status)).toEqual([]);
  });

  it('reports the approaching deadline and names every consumer that is not ready', () => {
    // Prepare
    const status = evaluateWindow(announcement(), someNotReady, {}, at(DEADLINE - 3 * DAY));

    // Act
    const [window, consumers] = windowFindings(announcement(), status);

    // Assess
    expect(window).toMatchObject({
      kind: 'upstream-window',
      severity: 'critical',
      environments: ['prod', 'staging'],
      locations: ['payments-api'],
      daysLeft: 3,
      dedupeKey: 'upstream-window:ann-1:3d',
    });
    expect(window?.message).toBe(
      `payments-api rotation: deadline ${at(DEADLINE).toISOString()} in 3d (cutover ${at(30 * DAY).toISOString()}); 2 of 3 consumers not ready`,
    );
    expect(consumers).toMatchObject({
      kind: 'consumers-not-ready',
      locations: ['host-b', 'host-c'],
      dedupeKey: 'consumers-not-ready:ann-1:3d',
    });
    expect(consumers?.message).toBe(
      `payments-api rotation: not ready: host-b, host-c (deadline ${at(DEADLINE).toISOString()} in 3d)`,
    );
  });

  it('says the deadline passed when overdue', () => {
    // Prepare
    const status = evaluateWindow(announcement(), someNotReady, {}, at(DEADLINE + 2 * HOUR));

    // Act
    const [window] = windowFindings(announcement(), status);

    // Assess
    expect(window?.dedupeKey).toBe('upstream-window:ann-1:overdue');
    expect(window?.message).toContain(`deadline ${at(DEADLINE).toISOString()} passed 2h ago`);
  });

  it('carries the new certificate when the announcement names it', () => {
    // Prepare
    const newCertificate = buildFacts({ seed: 'vendor-new' });
    const withCertificate = announcement({ newCertificate });
    const status = evaluateWindow(withCertificate, someNotReady, {}, at(DEADLINE - DAY));

    // Act
    const findings = windowFindings(withCertificate, status);

    // Assess
    for (const finding of findings) {
      expect(finding.certificate?.fingerprintSha256).toBe(newCertificate.fingerprintSha256);
    }
  });
});

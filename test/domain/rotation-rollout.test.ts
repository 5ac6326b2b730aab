import {
  type TargetRecord,
  type TargetRef,
  decideNext,
  planBatches,
  targetKey,
} from '../../lambda/domain/rotation/rollout';
import { backoffAfter, escalationLevel, retryNotBefore } from '../../lambda/domain/rotation/backoff';
import { checkNewVersion, rotationDedupeKey } from '../../lambda/domain/rotation/version';

const targets = (n: number): TargetRef[] =>
  Array.from({ length: n }, (_, i) => ({ destination: 'd', target: `h${i + 1}` }));
const records = (entries: readonly (readonly [string, TargetRecord['state']])[]) =>
  new Map(
    entries.map(([t, state]) => [
      targetKey({ destination: 'd', target: t }),
      { destination: 'd', target: t, state },
    ]),
  );

describe('planning batches', () => {
  it.each([
    ['the canary alone first, then batches of the batch size', 1, 3, 7, [1, 3, 3]],
    ['no canary: batches from the first target', 0, 2, 5, [2, 2, 1]],
    ['a canary of two hosts', 2, 5, 4, [2, 2]],
    ['a batch size of zero treated as one', 1, 0, 3, [1, 1, 1]],
    ['nothing to plan for no targets', 1, 5, 0, []],
  ])('%s', (_name, canary, batchSize, count, sizes) => {
    const batches = planBatches(targets(count), { canary, batchSize, failureTolerance: 0 });
    expect(batches.map((b) => b.length)).toEqual(sizes);
    expect(batches.flat()).toEqual(targets(count));
  });
});

describe('deciding after each batch', () => {
  const plan = planBatches(targets(5), { canary: 1, batchSize: 2, failureTolerance: 0 });
  it.each([
    ['delivers the canary first', [], 0, { action: 'deliver', batch: 0 }],
    [
      'delivers the next batch once the canary is verified',
      [['h1', 'verified']],
      0,
      { action: 'deliver', batch: 1 },
    ],
    [
      'rolls back when the canary fails, whatever the tolerance',
      [['h1', 'failed']],
      3,
      { action: 'rollback' },
    ],
    [
      'rolls back when failures exceed the tolerance',
      [
        ['h1', 'verified'],
        ['h2', 'failed'],
        ['h3', 'failed'],
      ],
      1,
      { action: 'rollback' },
    ],
    [
      'goes on within the tolerance',
      [
        ['h1', 'verified'],
        ['h2', 'failed'],
        ['h3', 'verified'],
      ],
      1,
      { action: 'deliver', batch: 2 },
    ],
    [
      'delivers a batch again that a crash left unsettled',
      [
        ['h1', 'verified'],
        ['h2', 'delivering'],
      ],
      0,
      { action: 'deliver', batch: 1 },
    ],
    [
      'promotes only when every target is verified',
      [
        ['h1', 'verified'],
        ['h2', 'verified'],
        ['h3', 'verified'],
        ['h4', 'verified'],
        ['h5', 'verified'],
      ],
      0,
      { action: 'promote' },
    ],
    [
      'holds (never promotes) when every batch settled with failures within the tolerance',
      [
        ['h1', 'verified'],
        ['h2', 'verified'],
        ['h3', 'failed'],
        ['h4', 'verified'],
        ['h5', 'verified'],
      ],
      1,
      { action: 'hold' },
    ],
  ] as const)('%s', (_name, entries, failureTolerance, expected) => {
    const decision = decideNext(plan, records([...entries]), { canary: 1, batchSize: 2, failureTolerance });
    expect(decision).toMatchObject(expected);
  });
});

describe('checking a new version offline', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const current = { fingerprintSha256: 'AA', notAfter: '2026-07-01T00:00:00Z' };
  it.each([
    [
      'accepts a valid certificate that outlives the current one',
      'BB',
      '2026-05-31T00:00:00Z',
      '2026-09-01T00:00:00Z',
      undefined,
    ],
    ['rejects an expired certificate', 'BB', '2026-01-01T00:00:00Z', '2026-05-01T00:00:00Z', /expired/],
    [
      'rejects a certificate not yet valid beyond the skew',
      'BB',
      '2026-06-02T00:00:00Z',
      '2026-09-01T00:00:00Z',
      /not valid before/,
    ],
    [
      'rejects one that does not outlive the current one',
      'BB',
      '2026-05-31T00:00:00Z',
      '2026-06-15T00:00:00Z',
      /not later/,
    ],
  ])('%s', (_name, fingerprintSha256, notBefore, notAfter, expected) => {
    const problem = checkNewVersion({ fingerprintSha256, notBefore, notAfter }, current, now);
    if (expected) expect(problem).toMatch(expected);
    else expect(problem).toBeUndefined();
  });
});

describe('rotation event dedupe keys', () => {
  it('gives the started event and every outcome of one rotation keys of their own', () => {
    const keys = (['started', 'succeeded', 'failed', 'rolled-back'] as const).map((k) =>
      rotationDedupeKey(k, 'api:v1'),
    );
    expect(new Set(keys).size).toBe(4);
    expect(keys[0]).toBe('rotation-started:api:v1');
  });
});

describe('retrying a failed rotation', () => {
  const at = '2026-06-01T00:00:00Z';
  const HOUR = 3_600_000;
  it.each([
    ['waits one hour after the first failure', 1, 1],
    ['doubles with every failure', 3, 4],
    ['caps the wait at 32 hours', 9, 32],
  ])('%s', (_name, failures, hours) => {
    expect(backoffAfter(failures)).toBe(hours * HOUR);
    expect(retryNotBefore(failures, at, new Date(Date.parse(at) + hours * HOUR - 1))).toEqual(
      new Date(Date.parse(at) + hours * HOUR),
    );
    expect(retryNotBefore(failures, at, new Date(Date.parse(at) + hours * HOUR))).toBeUndefined();
  });

  it('does not wait before a first attempt', () => {
    expect(retryNotBefore(0, undefined, new Date(at))).toBeUndefined();
  });

  it.each([
    ['more than 30 days left', 40, 0],
    ['30 days left', 30, 1],
    ['10 days left', 10, 2],
    ['2 days left', 2, 4],
    ['expired', -1, 6],
  ])('escalates a repeated failure by the time left: %s', (_name, days, level) => {
    const now = new Date(at);
    expect(escalationLevel(new Date(now.getTime() + days * 86_400_000).toISOString(), now)).toBe(level);
  });
});

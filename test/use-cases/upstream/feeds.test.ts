import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DAY_MS } from '../../../lambda/domain/certificate';
import type { FeedFetcher } from '../../../lambda/domain/ports';
import { type UpstreamDeps, type UpstreamSpec } from '../../../lambda/use-cases/upstream/model';
import { listAnnouncements, pollFeeds } from '../../../lambda/use-cases/upstream/announcements';
import { upstreamStatus } from '../../../lambda/use-cases/upstream/readiness';
import { MemoryStateStore } from '../../fakes/memory-state-store';

const NOW = new Date('2026-10-21T00:00:00Z');
const STATUSPAGE = readFileSync(
  join(__dirname, '..', '..', 'fixtures', 'feeds', 'statuspage-scheduled.json'),
  'utf8',
);

function fetcher(pages: Record<string, string>): FeedFetcher {
  return {
    fetchText: async (url) => {
      const page = pages[url];
      if (page === undefined) throw new Error(`fetch feed ${url}: HTTP 503`);
      return page;
    },
  };
}

function setUp(pages: Record<string, string>, feeds: UpstreamSpec['feeds']) {
  const state = new MemoryStateStore();
  let now = NOW;
  const deps: UpstreamDeps = {
    state,
    bundles: { put: jest.fn(), get: jest.fn(), find: jest.fn() },
    destinations: new Map(),
    prober: { probe: jest.fn() },
    feeds: fetcher(pages),
    clock: () => now,
  };
  const spec: UpstreamSpec = {
    name: 'acme',
    environment: 'prod',
    endpoints: [],
    pinnedFingerprints: [],
    consumers: [{ name: 'app-1', kind: 'host' }],
    feeds,
    policy: { safetyMarginMs: DAY_MS, thresholds: [14, 7, 3, 1] },
    expiryWarningMs: 30 * DAY_MS,
  };
  return { deps, spec, state, at: (date: Date) => (now = date) };
}

describe('polling status-page feeds', () => {
  it('records each certificate-related item once, however often the feed is polled', async () => {
    // Prepare
    const { deps, spec, state } = setUp({ 'https://status.acme.example/api': STATUSPAGE }, [
      { kind: 'statuspage-json', url: 'https://status.acme.example/api' },
    ]);

    // Act
    const first = await pollFeeds(deps, [spec]);
    const second = await pollFeeds(deps, [spec]);

    // Assess
    expect(first.recorded.map((r) => r.created)).toEqual([true, true, true]);
    expect(second.recorded.map((r) => [r.created, r.changed])).toEqual([
      [false, false],
      [false, false],
      [false, false],
    ]);
    expect(await listAnnouncements(state, NOW, 'acme')).toHaveLength(3);
  });

  it('keeps going when one feed fails, naming it', async () => {
    // Prepare
    const { deps, spec } = setUp({ 'https://ok.example/api': STATUSPAGE }, [
      { kind: 'rss', url: 'https://down.example/rss' },
      { kind: 'statuspage-json', url: 'https://ok.example/api' },
      { kind: 'atom', url: 'https://broken.example/atom' },
    ]);
    (deps.feeds as FeedFetcher).fetchText = async (url) => {
      if (url === 'https://broken.example/atom') return '<feed><entry>';
      if (url === 'https://ok.example/api') return STATUSPAGE;
      throw new Error(`fetch feed ${url}: HTTP 503`);
    };

    // Act
    const report = await pollFeeds(deps, [spec]);

    // Assess
    expect(report.recorded).toHaveLength(3);
    expect(report.failures).toEqual([
      {
        upstream: 'acme',
        feed: 'https://down.example/rss',
        error: 'fetch feed https://down.example/rss: HTTP 503',
      },
      {
        upstream: 'acme',
        feed: 'https://broken.example/atom',
        error: expect.stringMatching(/not well-formed XML/),
      },
    ]);
  });

  it('shows feed announcements that need review, and those without new material as not ready', async () => {
    // Prepare
    const { deps, spec, at } = setUp({ u: STATUSPAGE }, [{ kind: 'statuspage-json', url: 'u' }]);
    await pollFeeds(deps, [spec]);
    at(new Date('2026-11-25T00:00:00Z'));

    // Act
    const statuses = await upstreamStatus(deps, spec);

    // Assess
    const byTitle = new Map(statuses.map((s) => [s.announcement.title, s]));
    expect(byTitle.get('Intermediate CA change')?.stage).toBe('needs-review');
    const mtls = byTitle.get('Rotation of the mTLS client certificate CA');
    expect(mtls).toMatchObject({ stage: 'deadline-approaching', deadline: '2026-11-30T14:00:00.000Z' });
    expect(mtls?.consumers[0]?.detail).toMatch(/new material is not known yet/);
    expect(mtls?.findings.find((f) => f.kind === 'consumers-not-ready')?.locations).toEqual(['app-1']);
  });
});

import { mkdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { stringify } from 'yaml';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { serveReport } from '../../lambda/cli/report';
import { esc, renderReportHtml } from '../../lambda/adapters/report/fleet-report-html';
import { COLLECTIONS } from '../../lambda/use-cases/certificate-state';
import { fleetReport } from '../../lambda/use-cases/fleet-report';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;
const ARTIFACTS = join(__dirname, '../../test-artifacts');
const ENVIRONMENTS = ['prod-eu', 'prod-us', 'staging'];
const HOSTILE = '<img src=x onerror="window.__xss=1">';

/** Fingerprint-shaped hex for certificate `i`. */
function fp(i: number): string {
  return Array.from({ length: 32 }, (_, k) => ((i * 7 + k * 13) % 256).toString(16).padStart(2, '0'))
    .join(':')
    .toUpperCase();
}

/** 36 endpoints over three environments expiring from 3 days ago to 200 days ahead, 3 managed certificates. */
async function fleetState(): Promise<{ cwd: string; config: string }> {
  const cwd = await temp.make('report');
  const stateDirectory = join(cwd, '.certrotor');
  await writeFile(
    join(cwd, 'certrotor.yaml'),
    stringify({
      version: 1,
      environments: ENVIRONMENTS.map((name) => ({ name })),
      issuers: [{ name: 'local', kind: 'local-ca' }],
      destinations: [{ name: 'web-files', kind: 'files', environment: 'staging', directory: 'tls' }],
      hosts: [
        { name: 'web-1', environment: 'prod-eu', endpoint: { host: '127.0.0.1', port: 8443 } },
        { name: 'web-2', environment: 'prod-eu', endpoint: { host: '127.0.0.1', port: 8444 } },
      ],
      certificates: [
        {
          name: 'internal-api',
          commonName: 'internal.example',
          issuer: 'local',
          destinations: ['web-files'],
        },
      ],
      upstreams: [
        {
          name: 'payments',
          endpoints: [{ host: 'pay.example.net', port: 443, environment: 'prod-eu' }],
          consumers: { hosts: ['web-1', 'web-2'] },
        },
      ],
      local: { stateDirectory },
    }),
  );
  const state = new FileStateStore({ directory: join(stateDirectory, 'state') });
  await state.put(
    COLLECTIONS.certificates,
    'internal-api',
    {
      name: 'internal-api',
      failedAttempts: 0,
      current: {
        version: 'v1a2b3c',
        fingerprintSha256: fp(99),
        notAfter: new Date(NOW.getTime() + 40 * DAY).toISOString(),
        notBefore: new Date(NOW.getTime() - 50 * DAY).toISOString(),
        bundle: { id: 'internal-api/v1a2b3c' },
        promotedAt: new Date(NOW.getTime() - 50 * DAY).toISOString(),
      },
    },
    NOW,
  );
  for (let i = 0; i < 36; i++) {
    const environment = ENVIRONMENTS[i % 3]!;
    const daysLeft = -3 + Math.round((i * 203) / 35);
    await state.put(
      COLLECTIONS.observations,
      `obs-${i}`,
      {
        environment,
        location: `api-${i}.${environment}.example:443`,
        source: 'probe',
        ok: i !== 7,
        ...(i === 7 ? { error: 'connection refused' } : {}),
        fingerprintSha256: fp(i),
        subject: i === 5 ? `CN=${HOSTILE}` : `CN=api-${i}.${environment}.example`,
        ...(i === 7 ? {} : { notAfter: new Date(NOW.getTime() + daysLeft * DAY + 3_600_000).toISOString() }),
        managedName: i === 5 ? HOSTILE : `api-${i}`,
        observedAt: NOW.toISOString(),
      },
      NOW,
    );
  }
  await state.put(
    COLLECTIONS.hosts,
    'web-1#internal-api',
    {
      host: 'web-1',
      certificate: 'internal-api',
      environment: 'prod-eu',
      installedFingerprint: fp(99),
      servedFingerprint: fp(98),
      healthy: true,
      reloadOk: false,
      at: NOW.toISOString(),
    },
    NOW,
  );
  await state.put(
    COLLECTIONS.announcements,
    'payments:manual:abc',
    {
      id: 'payments:manual:abc',
      upstream: 'payments',
      source: 'manual',
      sourceId: 'abc',
      title: 'Payments gateway rotates its server CA',
      windowStart: new Date(NOW.getTime() - 5 * DAY).toISOString(),
      cutover: new Date(NOW.getTime() + 20 * DAY).toISOString(),
      needsReview: false,
      reviewReasons: [],
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
      distribution: { 'web-1': { delivered: true, verified: true, at: NOW.toISOString() } },
    },
    NOW,
  );
  for (const [i, status] of ['succeeded', 'failed', 'succeeded'].entries()) {
    await state.put(
      COLLECTIONS.rotations,
      `internal-api#v00${i}`,
      {
        status,
        at: new Date(NOW.getTime() - (10 - i) * DAY).toISOString(),
        ...(status === 'failed' ? { reason: 'web-2 served the old certificate' } : {}),
      },
      NOW,
    );
  }
  return { cwd, config: join(cwd, 'certrotor.yaml') };
}

async function certrotor(
  cwd: string,
  ...argv: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: {},
    cwd,
    clock: () => NOW,
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('the fleet report view model', () => {
  it('escapes every string it renders', () => {
    expect(esc(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('puts expiries in the calendar from the expired ones through the horizon, soonest first', () => {
    const report = fleetReport(
      {
        environments: ['prod'],
        certificates: [],
        managedEnvironments: new Map(),
        observations: [10, -2, 400, 3].map((days, i) => ({
          environment: 'prod',
          location: `h${i}:443`,
          source: 'probe',
          ok: true,
          notAfter: new Date(NOW.getTime() + days * DAY + 60_000).toISOString(),
          observedAt: NOW.toISOString(),
        })),
        hostReports: [],
        expectedHosts: [],
        announcements: [],
        upstreams: new Map(),
        rotations: [],
      },
      NOW,
      120,
    );

    // States follow the scan's threshold rule: 3 days and a minute left has not crossed "3 days" yet.
    expect(report.calendar.map((c) => [c.where, c.daysLeft, c.state])).toEqual([
      ['h1:443', -2, 'expired'],
      ['h3:443', 3, 'warning'],
      ['h0:443', 10, 'warning'],
    ]);
    expect(report.counts).toMatchObject({ expired: 1, critical: 0, warning: 2, ok: 1 });
  });
});

describe('certrotor report in a real browser', () => {
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];

  beforeAll(async () => {
    const profile = await temp.make('chromium-profile');
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (request) => requests.push(request.url()));
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
  });

  it('renders the fleet, the calendar and the upstream window, filters and sorts, with no network', async () => {
    const { cwd, config } = await fleetState();
    const file = join(cwd, 'fleet.html');

    const run = await certrotor(cwd, 'report', '--config', config, '--out', file);
    requests.length = 0;
    await page.goto(pathToFileURL(file).href);

    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^wrote fleet\.html \(\d+ KiB; open it in a browser\)$/);
    // Self-contained: the page itself is the only request.
    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(await page.title()).toBe('certrotor fleet report');
    // 36 observed placements and the managed certificate's issued version.
    expect(await page.locator('#fleet tbody tr').count()).toBe(37);
    // Hostile names are shown as text, never run.
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('#fleet tbody tr', { hasText: HOSTILE }).count()).toBe(1);

    // The calendar: every expiry from 3 days ago through 120 days, by month.
    const entries = page.locator('#calendar .cal-entry');
    const expected = Array.from({ length: 36 }, (_, i) => ({
      i,
      days: -3 + Math.round((i * 203) / 35),
    })).filter(({ i, days }) => i !== 7 && days <= 120);
    expect(await entries.count()).toBe(expected.length + 1); // + internal-api (40 days)
    const first = page.locator('#calendar .cal-entry[data-certificate="api-0"]');
    expect(await first.getAttribute('data-date')).toBe('2026-02-26');
    expect(await first.getAttribute('class')).toContain('s-expired');
    expect(await page.locator('#calendar .month h3').first().textContent()).toBe('February 2026');
    expect(
      await page.locator('#calendar .cal-entry[data-certificate="internal-api"]').getAttribute('data-date'),
    ).toBe('2026-04-10');
    expect(await page.locator('.lane').count()).toBe(3);

    // The upstream window with per-consumer readiness.
    const upstream = page.locator('.upstream[data-upstream="payments"]');
    expect(await upstream.locator('h4').textContent()).toContain('Payments gateway rotates its server CA');
    expect(await upstream.locator('tbody tr').allInnerTexts()).toEqual([
      expect.stringMatching(/^web-1\s+ready\s+delivered and verified/),
      expect.stringMatching(/^web-2\s+not ready\s+new material not delivered yet/),
    ]);
    expect(await upstream.locator('.dates').textContent()).toContain('19 days to the deadline');
    // Installed vs served, and the last rotations.
    expect(await page.locator('#hosts tbody tr').first().innerText()).toMatch(
      /^web-1\s+prod-eu\s+internal-api\s+v1a2b3c\s+\S+\s+v1a2b3c\s+\S+\s+\S+\s+2026-03-01T12:00:00\.000Z\s+drift not-reloaded$/,
    );
    expect(await page.locator('#hosts td.differs').count()).toBe(1);
    expect(await page.locator('#rotations tbody tr').count()).toBe(3);

    await page.screenshot({ path: join(ARTIFACTS, 'report-full.png'), fullPage: true });

    // Filtering by environment, then by text.
    // (12 staging endpoints, and internal-api, delivered to a staging destination.)
    await page.selectOption('#env-filter', 'staging');
    expect(await page.locator('#fleet tbody tr:visible').count()).toBe(13);
    expect(await page.locator('#calendar .cal-entry:visible').count()).toBe(
      expected.filter(({ i }) => i % 3 === 2).length + 1,
    );
    await page.fill('#filter', 'api-11.');
    expect(await page.locator('#fleet tbody tr:visible').count()).toBe(1);
    expect(await page.locator('#fleet-count').textContent()).toBe('1');
    await page.fill('#filter', '');
    await page.selectOption('#env-filter', '');
    await page.selectOption('#state-filter', 'expired');
    expect(await page.locator('#fleet tbody tr:visible').count()).toBe(
      expected.filter(({ days }) => days < 0).length,
    );
    await page.selectOption('#state-filter', '');
    expect(await page.locator('#fleet tbody tr:visible').count()).toBe(37);

    // Sorting by days left, both ways.
    const daysHeader = page.locator('#fleet th', { hasText: 'Days left' });
    await daysHeader.click();
    expect(await page.locator('#fleet tbody tr td:nth-child(6)').first().textContent()).toBe('-3');
    await daysHeader.click();
    expect(await page.locator('#fleet tbody tr td:nth-child(6)').first().textContent()).toBe('-');
    expect(await daysHeader.getAttribute('aria-sort')).toBe('descending');

    await page.selectOption('#env-filter', 'prod-eu');
    await page.screenshot({ path: join(ARTIFACTS, 'report-filtered.png'), fullPage: false });
    expect(requests.every((url) => url.startsWith('file:'))).toBe(true);
  }, 60_000);

  it('serves the same report live on loopback, rebuilt on every load', async () => {
    let version = 0;
    const served = await serveReport(async () => {
      version++;
      return renderReportHtml(
        fleetReport(
          {
            environments: ['prod'],
            certificates: [],
            managedEnvironments: new Map(),
            observations: [],
            hostReports: [],
            expectedHosts: [],
            announcements: [],
            upstreams: new Map(),
            rotations: [],
          },
          NOW,
        ),
        { title: `live report ${version}` },
      );
    });
    try {
      expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      await page.goto(served.url);
      expect(await page.title()).toBe('live report 1');
      await page.reload();
      expect(await page.title()).toBe('live report 2');
      const missing = await page.goto(`${served.url}nothing`);
      expect(missing?.status()).toBe(404);
    } finally {
      await served.close();
    }
  }, 60_000);

  it('refuses --serve with --out in one line', async () => {
    const { cwd, config } = await fleetState();

    const run = await certrotor(cwd, 'report', '--config', config, '--serve', '--out', 'x.html');

    expect(run.code).toBe(1);
    expect(run.err).toBe('certrotor: --serve and --out: choose one (the served page is the same report)');
    expect(readFileSync(config, 'utf8')).toContain('payments');
  });
});

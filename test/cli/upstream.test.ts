import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { DAY, buildCa, buildCertificate, type BuiltCertificate } from '../builders/certificates';
import { buildConfig } from '../builders/config';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const NOW = new Date('2026-11-01T00:00:00Z');

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function certrotor(cwd: string, now: Date, ...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: {},
    cwd,
    clock: () => now,
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function workspace(): Promise<string> {
  const dir = await temp.make('cli-upstream');
  const config = buildConfig((c) => {
    c.upstreams[0].endpoints = [{ host: '127.0.0.1', port: 1, environment: 'prod' }];
  });
  writeFileSync(join(dir, 'certrotor.yaml'), JSON.stringify(config, null, 2));
  return dir;
}

function write(dir: string, name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

async function clientCertificate(
  options: { eku?: ('clientAuth' | 'serverAuth')[]; daysLeft?: number } = {},
): Promise<BuiltCertificate> {
  const ca = await buildCa({ commonName: 'Vendor client CA', now: NOW });
  return buildCertificate({
    issuer: ca,
    commonName: 'client.example.com',
    extendedKeyUsage: options.eku ?? ['clientAuth'],
    now: NOW,
    daysLeft: options.daysLeft ?? 200,
    lifetimeDays: 365,
  });
}

describe('certrotor upstream announce', () => {
  it('records an announcement that status then shows with its deadline and consumers', async () => {
    // Prepare
    const dir = await workspace();

    // Act
    const announced = await certrotor(
      dir,
      NOW,
      'upstream',
      'announce',
      'payments',
      '--window-start',
      '2026-11-01T00:00:00Z',
      '--cutover',
      '2026-12-01T14:00:00+01:00',
      '--note',
      'VEND-1 client CA rotation',
    );
    const shown = await certrotor(dir, NOW, 'upstream', 'status', '--json');

    // Assess
    expect(announced).toMatchObject({ code: 0, err: '' });
    expect(announced.out).toMatch(
      /^recorded payments:manual:[0-9a-f]{16}: payments window from 2026-11-01T00:00:00.000Z, cutover 2026-12-01T13:00:00.000Z$/,
    );
    const [payments] = (
      JSON.parse(shown.out) as { upstreams: { announcements: Record<string, unknown>[] }[] }
    ).upstreams;
    expect(payments?.announcements[0]).toMatchObject({
      title: 'VEND-1 client CA rotation',
      stage: 'window-open',
      cutover: '2026-12-01T13:00:00.000Z',
      deadline: '2026-11-30T13:00:00.000Z',
      consumers: [{ consumer: 'web-1', ready: false, environment: 'staging' }],
    });
  });

  it.each([
    [
      ['--window-start', '2026-11-01', '--cutover', '2026-12-01T00:00:00Z'],
      /--window-start: "2026-11-01" has no time or time zone/,
    ],
    [['--window-start', '2026-11-01T00:00:00', '--cutover', '2026-12-01T00:00:00Z'], /no time zone offset/],
    [
      ['--window-start', '2026-12-02T00:00:00Z', '--cutover', '2026-12-01T00:00:00Z'],
      /--cutover .* is before --window-start/,
    ],
    [
      [
        '--window-start',
        '2026-11-01T00:00:00Z',
        '--cutover',
        '2026-12-01T00:00:00Z',
        '--new-ca',
        'missing.pem',
      ],
      /--new-ca missing.pem: no such file/,
    ],
  ])('refuses %j with one line and a non-zero exit', async (flags, message) => {
    // Prepare
    const dir = await workspace();

    // Act
    const run = await certrotor(dir, NOW, 'upstream', 'announce', 'payments', ...flags);

    // Assess
    expect(run.code).not.toBe(0);
    expect(run.err).toMatch(message);
  });

  it('refuses an upstream the configuration does not define', async () => {
    // Act
    const run = await certrotor(
      await workspace(),
      NOW,
      'upstream',
      'announce',
      'nope',
      '--window-start',
      '2026-11-01T00:00:00Z',
      '--cutover',
      '2026-12-01T00:00:00Z',
    );

    // Assess
    expect(run.code).toBe(1);
    expect(run.err).toBe('certrotor: upstream nope: not in the configuration (configured: payments)');
  });

  it('stores new CAs and refuses a leaf passed as a CA', async () => {
    // Prepare
    const dir = await workspace();
    const ca = await buildCa({ commonName: 'Vendor root G2', now: NOW });
    const leaf = await clientCertificate();

    // Act
    const good = await certrotor(
      dir,
      NOW,
      'upstream',
      'announce',
      'payments',
      '--json',
      '--window-start',
      '2026-11-01T00:00:00Z',
      '--cutover',
      '2026-12-01T00:00:00Z',
      '--new-ca',
      write(dir, 'ca.pem', ca.certificatePem),
    );
    const bad = await certrotor(
      dir,
      NOW,
      'upstream',
      'announce',
      'payments',
      '--window-start',
      '2026-11-01T00:00:00Z',
      '--cutover',
      '2026-12-01T00:00:00Z',
      '--new-ca',
      write(dir, 'leaf.pem', leaf.certificatePem),
    );

    // Assess
    expect(good.code).toBe(0);
    expect(JSON.parse(good.out).announcement.newCaFingerprints).toHaveLength(1);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/leaf\.pem: holds a certificate that is not a CA/);
  });
});

describe('certrotor upstream import-client-cert', () => {
  it('stores a valid client certificate, attaches it to the next announcement, and never prints the key', async () => {
    // Prepare
    const dir = await workspace();
    const client = await clientCertificate();
    await certrotor(
      dir,
      NOW,
      'upstream',
      'announce',
      'payments',
      '--window-start',
      '2026-11-01T00:00:00Z',
      '--cutover',
      '2026-12-01T00:00:00Z',
    );

    // Act
    const run = await certrotor(
      dir,
      NOW,
      'upstream',
      'import-client-cert',
      'payments',
      '--json',
      '--cert',
      write(dir, 'client.pem', client.certificatePem),
      '--key',
      write(dir, 'client.key', client.privateKey.reveal()),
    );
    const shown = await certrotor(dir, NOW, 'upstream', 'status', 'payments');

    // Assess
    expect(run).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(run.out)).toMatchObject({
      upstream: 'payments',
      name: 'vendor-client',
      announcement: expect.stringMatching(/^payments:manual:/),
    });
    expect(run.out + shown.out).not.toContain('PRIVATE KEY');
    expect(shown.out).toMatch(/NOT READY web-1: holds no client certificate we can see/);
  });

  it.each<[string, Parameters<typeof clientCertificate>[0], RegExp]>([
    ['a certificate without clientAuth', { eku: ['serverAuth'] }, /clientAuth is required/],
    ['an expired certificate', { daysLeft: -1 }, /expired at/],
  ])('refuses %s', async (_name, options, message) => {
    // Prepare
    const dir = await workspace();
    const client = await clientCertificate(options);

    // Act
    const run = await certrotor(
      dir,
      NOW,
      'upstream',
      'import-client-cert',
      'payments',
      '--cert',
      write(dir, 'client.pem', client.certificatePem),
      '--key',
      write(dir, 'client.key', client.privateKey.reveal()),
    );

    // Assess
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/^certrotor: client\.pem: not usable as the client certificate for payments: /);
    expect(run.err).toMatch(message);
  });

  it('refuses a key that does not match, naming the key file and not its content', async () => {
    // Prepare
    const dir = await workspace();
    const client = await clientCertificate();
    const other = await clientCertificate();

    // Act
    const run = await certrotor(
      dir,
      NOW,
      'upstream',
      'import-client-cert',
      'payments',
      '--cert',
      write(dir, 'client.pem', client.certificatePem),
      '--key',
      write(dir, 'other.key', other.privateKey.reveal()),
    );

    // Assess
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/other\.key: does not match client\.pem/);
    expect(run.err).not.toContain('PRIVATE KEY');
  });
});

describe('certrotor upstream status', () => {
  it('exits non-zero when a rotation is overdue', async () => {
    // Prepare
    const dir = await workspace();
    await certrotor(
      dir,
      NOW,
      'upstream',
      'announce',
      'payments',
      '--window-start',
      '2026-11-01T00:00:00Z',
      '--cutover',
      '2026-11-10T00:00:00Z',
    );

    // Act
    const run = await certrotor(dir, new Date(NOW.getTime() + 20 * DAY), 'upstream', 'status');

    // Assess
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/^payments: .* \[manual\] overdue, deadline 2026-11-09T00:00:00.000Z/);
  });

  it('says so when nothing is announced', async () => {
    // Act
    const run = await certrotor(await workspace(), NOW, 'upstream', 'status');

    // Assess
    expect(run).toMatchObject({ code: 0, out: 'payments: no announcements' });
  });
});

describe('certrotor upstream watch', () => {
  it('reports a new announcement once, with its consumers, and names an unreachable upstream endpoint', async () => {
    // Prepare
    const dir = await workspace();
    await certrotor(
      dir,
      NOW,
      'upstream',
      'announce',
      'payments',
      '--window-start',
      '2026-11-01T00:00:00Z',
      '--cutover',
      '2026-12-01T00:00:00Z',
      '--note',
      'VEND-7 server certificate rotation',
    );

    // Act
    const first = await certrotor(dir, NOW, 'upstream', 'watch', '--json');
    const second = await certrotor(dir, NOW, 'upstream', 'watch');

    // Assess
    expect(first.code).toBe(1);
    const report = JSON.parse(first.out) as {
      events: { detailType: string; detail: { consumers: { name: string; ready: boolean }[] } }[];
      failures: { what: string; error: string }[];
    };
    expect(report.events.map((e) => e.detailType)).toEqual(['Upstream Rotation Announced']);
    expect(report.events[0]!.detail.consumers.map((c) => c.name).sort()).toEqual(['web-1']);
    expect(report.failures).toEqual([
      {
        what: 'upstream payments endpoint 127.0.0.1:1',
        error: expect.stringMatching(/refused|ECONNREFUSED/i),
      },
    ]);
    expect(second.out).toContain('upstream payments: VEND-7 server certificate rotation window-open');
    expect(second.out).toContain('NOT READY web-1');
    expect(second.out).not.toContain('event  Upstream Rotation Announced');
    expect(second.code).toBe(1);
  });
});

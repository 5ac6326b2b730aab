/**
 * Digest and silence through `certrotor run`, in-process, with the clock moving across thresholds:
 * four real certificates in files (two in prod, two in staging) seen by a files source, a channel
 * whose webhook is a fake Slack server on loopback, and a daily digest at 08:00 UTC.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { DAY, buildCa, buildCertificate } from '../builders/certificates';
import { type FakeSlackServer, startFakeSlackServer } from '../support/fake-slack-server';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const HOUR = 3_600_000;
/** When the prod certificates and one staging certificate expire (a Wednesday, noon UTC). */
const EXPIRY = new Date('2027-01-20T12:00:00Z');
const at = (offsetMs: number) => new Date(EXPIRY.getTime() + offsetMs);

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

interface Posted {
  readonly text: string;
  readonly body: string;
}

let slack: FakeSlackServer;

beforeAll(async () => {
  slack = await startFakeSlackServer();
});

afterAll(async () => {
  await slack.close();
});

async function certrotor(dir: string, now: Date, ...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: { SLACK_WEBHOOK_URL: slack.url },
    cwd: dir,
    clock: () => now,
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** What reached Slack since `from` (an index into the server's requests). */
function postedSince(from: number): Posted[] {
  return slack.requests.slice(from).map((r) => ({ text: r.json?.text ?? '', body: r.body }));
}

async function workspace(): Promise<string> {
  const dir = await temp.make('run-notifications');
  const ca = await buildCa({ commonName: 'Run notifications test CA', now: at(-400 * DAY) });
  const certificate = async (commonName: string, notAfter: Date) => {
    const built = await buildCertificate({ issuer: ca, commonName, notAfter, lifetimeDays: 365 });
    const file = join(dir, `${commonName}.pem`);
    writeFileSync(file, built.certificatePem);
    return file;
  };
  const prod = [await certificate('api.example.com', EXPIRY), await certificate('www.example.com', EXPIRY)];
  const staging = [
    await certificate('staging-api.example.com', EXPIRY),
    // Expires well after the silence ends: the silence keeps it quiet.
    await certificate('staging-legacy.example.com', at(20 * DAY)),
  ];
  const config = {
    version: 1,
    environments: [{ name: 'prod' }, { name: 'staging' }],
    sources: [
      { name: 'prod-files', kind: 'files', environment: 'prod', paths: prod },
      { name: 'staging-files', kind: 'files', environment: 'staging', paths: staging },
    ],
    notifications: {
      channels: [{ name: 'alerts', kind: 'slack', webhook: { env: 'SLACK_WEBHOOK_URL' } }],
      escalation: { mentionAtDays: 3, mention: '<!subteam^S0ONCALL>' },
      digest: { enabled: true, schedule: 'cron(0 8 * * ? *)', timeZone: 'UTC', horizon: '30d' },
      delivery: { messagesPerSecond: 10, maxAttempts: 2, timeout: '5s' },
    },
    local: { stateDirectory: join(dir, 'state'), events: { stdout: false } },
  };
  writeFileSync(join(dir, 'certrotor.yaml'), JSON.stringify(config, null, 2));
  return dir;
}

/** Runs twice at `now`: returns what the first run posted and asserts the rerun posts nothing. */
async function runTwice(dir: string, now: Date): Promise<Posted[]> {
  const before = slack.requests.length;
  const first = await certrotor(dir, now, 'run');
  expect({ code: first.code, err: first.err }).toEqual({ code: 0, err: '' });
  const posted = postedSince(before);
  const rerunFrom = slack.requests.length;
  const rerun = await certrotor(dir, now, 'run');
  expect({ code: rerun.code, err: rerun.err }).toEqual({ code: 0, err: '' });
  expect(postedSince(rerunFrom)).toEqual([]);
  return posted;
}

function names(posted: readonly Posted[]): string[] {
  return posted
    .map((p) => /(staging-legacy|staging-api|api|www)\.example\.com/.exec(p.text)?.[1] ?? p.text)
    .sort();
}

describe('certrotor run with a digest and a silence, as the clock crosses thresholds', () => {
  it('sends routine alerts as one digest, escalations and expiries at once, never repeats, and lets a silence quiet only what expires after it', async () => {
    // Prepare
    const dir = await workspace();

    // Act + Assess: 60 days before, no threshold is crossed.
    expect(await runTwice(dir, at(-60 * DAY))).toEqual([]);

    // 30 days before: three certificates cross 30 days; routine, so one digest carries all three.
    const thirty = await runTwice(dir, at(-30 * DAY));
    expect(thirty).toHaveLength(1);
    expect(thirty[0]!.text).toMatch(/^certrotor digest for alerts: 3 items within 30 days/);
    for (const name of ['api.example.com', 'www.example.com', 'staging-api.example.com'])
      expect(thirty[0]!.body).toContain(name);
    expect(thirty[0]!.body).not.toContain('staging-legacy');

    // An incident in staging: quiet staging until two days after the expiry.
    const silenced = await certrotor(
      dir,
      at(-10 * DAY),
      'silence',
      '--scope',
      'environment=staging',
      '--until',
      at(2 * DAY).toISOString(),
      '--reason',
      'INC-42 staging rebuild',
    );
    expect(silenced.code).toBe(0);
    expect(silenced.out).toContain('silenced environment=staging');

    // 7 days before: the next threshold, still routine: one digest. staging-legacy crosses 30 days
    // but expires after the silence, so it stays quiet; staging-api expires inside it and gets through.
    const seven = await runTwice(dir, at(-7 * DAY));
    expect(seven).toHaveLength(1);
    expect(seven[0]!.text).toMatch(/^certrotor digest for alerts: 3 items within 30 days/);
    for (const name of ['api.example.com', 'www.example.com', 'staging-api.example.com'])
      expect(seven[0]!.body).toContain(name);
    expect(seven[0]!.body).not.toContain('staging-legacy');

    // 1 day before: escalations go out at once, one per certificate, mentioning on-call; no digest.
    const one = await runTwice(dir, at(-1 * DAY));
    expect(names(one)).toEqual(['api', 'staging-api', 'www']);
    for (const message of one) {
      expect(message.text).toMatch(/^<!subteam\^S0ONCALL> \[critical\]/);
      expect(message.text).not.toContain('digest');
    }

    // An hour after expiry: one expired alert per certificate, staging-api included despite the silence.
    const expired = await runTwice(dir, at(HOUR));
    expect(names(expired)).toEqual(['api', 'staging-api', 'www']);
    for (const message of expired) expect(message.text).toMatch(/expired/i);

    // Nothing about staging-legacy reached Slack while the silence lasted.
    expect(slack.requests.map((r) => r.body).join('\n')).not.toContain('staging-legacy');

    // Six days after (the silence is over): staging-legacy crosses 14 days and is in the next digest.
    const after = await runTwice(dir, at(6 * DAY));
    expect(after).toHaveLength(1);
    expect(after[0]!.text).toMatch(/^certrotor digest for alerts: 1 item within 30 days/);
    expect(after[0]!.body).toContain('staging-legacy.example.com');
  });
});

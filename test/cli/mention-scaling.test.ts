/**
 * The owner mention follows the one threshold rule, through the built `certrotor` binary
 * (dist/certrotor.js) and a loopback Slack webhook: `escalation.mentionAtDays` (3) scales with each
 * certificate's lifetime like every threshold, so a 90-day certificate with 2½ days left (a warning:
 * its "3 days" is 1½) is posted without waking anyone, while a one-year certificate with 2½ days left
 * (critical) mentions the on-call group.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DAY, buildCa, buildCertificate } from '../builders/certificates';
import { type FakeSlackServer, startFakeSlackServer } from '../support/fake-slack-server';
import { useTempDirs } from '../support/temp-dir';

jest.setTimeout(60_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const temp = useTempDirs();
const MENTION = '<!subteam^S0ONCALL>';
let slack: FakeSlackServer;

beforeAll(async () => {
  slack = await startFakeSlackServer();
});

afterAll(async () => {
  await slack.close();
});

function certrotor(
  dir: string,
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...argv, '--config', join(dir, 'certrotor.json')], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, SLACK_WEBHOOK_URL: slack.url },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

describe('the owner mention', () => {
  it('scales with lifetime like every threshold: a 90-day certificate with 2½ days left is posted without a mention, a one-year one with it', async () => {
    // Prepare
    const dir = await temp.make('mention-scaling');
    const now = Date.now();
    const ca = await buildCa({ commonName: 'Mention CA', now: new Date(now - 400 * DAY) });
    const soon = new Date(now + 2.5 * DAY);
    for (const [name, lifetimeDays] of [
      ['quarterly', 90],
      ['yearly', 365],
    ] as const) {
      const built = await buildCertificate({
        issuer: ca,
        commonName: `${name}.example`,
        notAfter: soon,
        lifetimeDays,
      });
      writeFileSync(join(dir, `${name}.pem`), built.certificatePem);
    }
    writeFileSync(
      join(dir, 'certrotor.json'),
      JSON.stringify({
        version: 1,
        environments: [{ name: 'prod' }],
        sources: [
          { name: 'files', kind: 'files', environment: 'prod', paths: ['quarterly.pem', 'yearly.pem'] },
        ],
        notifications: {
          channels: [{ name: 'alerts', kind: 'slack', webhook: { env: 'SLACK_WEBHOOK_URL' } }],
          escalation: { mentionAtDays: 3, mention: MENTION },
        },
        local: { stateDirectory: 'state', events: { stdout: false } },
      }),
    );

    // Act
    const scanned = await certrotor(dir, 'scan', '--json');

    // Assess: one message each, the mention only where the scaled rule says so.
    expect(scanned.code).toBe(0);
    const findings = (JSON.parse(scanned.stdout) as { findings: { message: string; severity: string }[] })
      .findings;
    expect(findings.map((f) => [/(quarterly|yearly)/.exec(f.message)?.[1], f.severity]).sort()).toEqual([
      ['quarterly', 'warning'],
      ['yearly', 'critical'],
    ]);
    const posted = slack.requests.map((r) => r.body);
    const about = (name: string) => posted.filter((body) => body.includes(`${name}.example`));
    expect(about('quarterly')).toHaveLength(1);
    expect(about('yearly')).toHaveLength(1);
    expect(about('quarterly')[0]).not.toContain(MENTION);
    expect(about('yearly')[0]).toContain(MENTION);
  });
});

/**
 * Inhibition through `certrotor scan`: while most of an environment is expired (a critical incident),
 * its lower alerts are summarised in one message; what expires inside the incident window still gets
 * its own message, and other environments are not affected.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { DAY, buildCa, buildCertificate } from '../builders/certificates';
import { type FakeSlackServer, startFakeSlackServer } from '../support/fake-slack-server';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
let slack: FakeSlackServer;

beforeAll(async () => {
  slack = await startFakeSlackServer();
});

afterAll(async () => {
  await slack.close();
});

async function certrotor(cwd: string, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: { SLACK_WEBHOOK_URL: slack.url },
    cwd,
    clock: () => new Date(),
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function workspace(inhibition: Record<string, unknown> = {}): Promise<string> {
  const dir = await temp.make('inhibition');
  const now = Date.now();
  const ca = await buildCa({ commonName: 'Inhibition test CA', now: new Date(now - 400 * DAY) });
  const file = async (name: string, daysLeft: number) => {
    const built = await buildCertificate({
      issuer: ca,
      commonName: `${name}.example.com`,
      notAfter: new Date(now + daysLeft * DAY),
      lifetimeDays: 365,
    });
    writeFileSync(join(dir, `${name}.pem`), built.certificatePem);
    return join(dir, `${name}.pem`);
  };
  const prod = [
    await file('prod-a', -1),
    await file('prod-b', -2),
    await file('prod-c', -1),
    await file('prod-later', 20),
    await file('prod-soon', 2),
  ];
  const staging = [await file('staging-later', 20)];
  writeFileSync(
    join(dir, 'certrotor.yaml'),
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }, { name: 'staging' }],
      sources: [
        { name: 'prod-files', kind: 'files', environment: 'prod', paths: prod },
        { name: 'staging-files', kind: 'files', environment: 'staging', paths: staging },
      ],
      notifications: {
        channels: [{ name: 'alerts', kind: 'slack', webhook: { env: 'SLACK_WEBHOOK_URL' } }],
        delivery: { messagesPerSecond: 10, commandWait: '10s' },
        inhibition,
      },
      local: { stateDirectory: 'state', events: { stdout: false } },
    }),
  );
  return dir;
}

const headline = (text: string) =>
  /(Incident in \w+)|(prod-\w+|staging-\w+)\.example\.com/.exec(text)?.slice(1).find(Boolean) ?? text;

describe('inhibition during a critical incident', () => {
  it('summarises the lower alerts of an environment in an incident in one message, and lets what expires within the window through', async () => {
    // Prepare
    const dir = await workspace();
    const before = slack.requests.length;

    // Act
    const scan = await certrotor(dir, 'scan');

    // Assess
    expect(scan.code).toBe(0);
    const texts = slack.requests.slice(before).map((r) => r.json?.text ?? '');
    expect(texts.map(headline).sort()).toEqual(
      ['Incident in prod', 'prod-a', 'prod-b', 'prod-c', 'prod-soon', 'staging-later'].sort(),
    );
    const summary = slack.requests.slice(before).find((r) => /Incident in prod/.test(r.json?.text ?? ''))!;
    expect(summary.json!.text).toContain('1 lower alert held back');
    expect(summary.body).toContain('prod-later');
  });

  it('sends every alert on its own when inhibition is off', async () => {
    // Prepare
    const dir = await workspace({ enabled: false });
    const before = slack.requests.length;

    // Act
    await certrotor(dir, 'scan');

    // Assess
    const texts = slack.requests.slice(before).map((r) => r.json?.text ?? '');
    expect(texts.map(headline).sort()).toEqual(
      ['prod-a', 'prod-b', 'prod-c', 'prod-later', 'prod-soon', 'staging-later'].sort(),
    );
  });
});

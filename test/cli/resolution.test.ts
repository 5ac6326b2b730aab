/**
 * Resolution through `certrotor scan`: an expired certificate alerted to a channel, then replaced by a
 * valid one at the same place, gets one "resolved" message in that channel; a place that cannot be
 * read any more resolves nothing.
 */
import { rmSync, writeFileSync } from 'node:fs';
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

async function certificatePem(daysLeft: number): Promise<string> {
  const now = Date.now();
  const ca = await buildCa({ commonName: 'Resolution test CA', now: new Date(now - 400 * DAY) });
  const built = await buildCertificate({
    issuer: ca,
    commonName: 'pay.example.com',
    notAfter: new Date(now + daysLeft * DAY),
    lifetimeDays: 90,
  });
  return built.certificatePem;
}

async function workspace(): Promise<{ dir: string; file: string }> {
  const dir = await temp.make('resolution');
  const file = join(dir, 'pay.pem');
  writeFileSync(file, await certificatePem(-1));
  writeFileSync(
    join(dir, 'certrotor.yaml'),
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }],
      sources: [{ name: 'files', kind: 'files', environment: 'prod', paths: [file] }],
      notifications: {
        channels: [{ name: 'alerts', kind: 'slack', webhook: { env: 'SLACK_WEBHOOK_URL' } }],
        delivery: { messagesPerSecond: 10 },
      },
      local: { stateDirectory: 'state', events: { stdout: false } },
    }),
  );
  return { dir, file };
}

const textsSince = (from: number) => slack.requests.slice(from).map((r) => r.json?.text ?? '');

describe('a resolved message when a critical finding clears', () => {
  it('tells the channel once when the expired certificate is replaced', async () => {
    // Prepare
    const { dir, file } = await workspace();
    const start = slack.requests.length;
    await certrotor(dir, 'scan');
    const alerted = textsSince(start);
    writeFileSync(file, await certificatePem(80));

    // Act
    const replaced = slack.requests.length;
    await certrotor(dir, 'scan');
    const resolved = textsSince(replaced);
    const again = slack.requests.length;
    await certrotor(dir, 'scan');

    // Assess
    expect(alerted).toEqual([expect.stringMatching(/Certificate EXPIRED: pay\.example\.com/)]);
    expect(resolved).toEqual([
      expect.stringMatching(/^\[resolved\] Resolved: Certificate EXPIRED: pay\.example\.com/),
    ]);
    expect(textsSince(again)).toEqual([]);
  });

  it('resolves nothing when the place can no longer be read', async () => {
    // Prepare
    const { dir, file } = await workspace();
    await certrotor(dir, 'scan');
    rmSync(file);

    // Act
    const from = slack.requests.length;
    await certrotor(dir, 'scan');

    // Assess
    expect(textsSince(from).filter((t) => /resolved/i.test(t))).toEqual([]);
  });
});

/**
 * The second outage, replayed through the built `certrotor` binary (dist/certrotor.js): a vendor
 * announces a client-CA rotation; three hosts consume it, and nothing delivers to one of them (a
 * background component). Rehearsed with `--at` across the alert thresholds and past the cutover: the
 * missing consumer is named with its reason at each threshold and reaches Slack (a real loopback
 * webhook), `upstream watch` exits non-zero once it is overdue, and the two covered consumers
 * connect to the vendor's real mutual-TLS server after cutover with the files certrotor delivered.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { INSTALLED_FILES } from '../../lambda/adapters/local/file-destination';
import { DAY, type BuiltCertificate, buildCa, buildCertificate } from '../builders/certificates';
import { type FakeSlackServer, startFakeSlackServer } from '../support/fake-slack-server';
import { type LoopbackUpstream, connectAsConsumer, startLoopbackUpstream } from '../support/mtls-upstream';
import { useTempDirs } from '../support/temp-dir';

jest.setTimeout(60_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const temp = useTempDirs();

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function certrotor(dir: string, env: Record<string, string>, ...argv: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...argv, '--config', join(dir, 'certrotor.json')], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

let upstream: LoopbackUpstream | undefined;
let slack: FakeSlackServer | undefined;

afterAll(async () => {
  await upstream?.close();
  await slack?.close();
});

interface WatchJson {
  readonly upstreams: {
    readonly announcements: {
      readonly stage: string;
      readonly consumers: { consumer: string; ready: boolean; detail?: string }[];
    }[];
  }[];
  readonly events: { detailType: string; detail: { summary?: string; owner?: string } }[];
}

describe('a vendor client-CA rotation with one consumer nothing delivers to, rehearsed with --at', () => {
  it('names the uncovered consumer with its reason at every threshold, in Slack, exits non-zero once overdue, and the covered two connect after cutover', async () => {
    // Prepare: the vendor's server (mutual TLS, both client CAs accepted during the overlap).
    const dir = await temp.make('outage-vendor');
    const now = Date.now();
    const serverCa = await buildCa({ commonName: 'Vendor server root', now: new Date(now) });
    const server = await buildCertificate({
      issuer: serverCa,
      dnsNames: ['pay.vendor.test'],
      ipAddresses: ['127.0.0.1'],
      now: new Date(now),
      lifetimeDays: 365,
    });
    const oldClientCa = await buildCa({ commonName: 'Vendor client CA G1', now: new Date(now) });
    const newClientCa = await buildCa({ commonName: 'Vendor client CA G2', now: new Date(now) });
    const client = (issuer: BuiltCertificate) =>
      buildCertificate({
        issuer,
        commonName: 'certrotor-client',
        dnsNames: [],
        extendedKeyUsage: ['clientAuth'],
        now: new Date(now - DAY),
        lifetimeDays: 365,
        daysLeft: 300,
      });
    const newClient = await client(newClientCa);
    upstream = await startLoopbackUpstream({
      certificatePem: server.certificatePem,
      keyPem: server.privateKey.reveal(),
      clientCaPem: [oldClientCa.certificatePem, newClientCa.certificatePem],
    });
    writeFileSync(join(dir, 'vendor-ca.pem'), serverCa.certificatePem);
    writeFileSync(join(dir, 'client-g2.pem'), newClient.certificatePem);
    writeFileSync(join(dir, 'client-g2.key'), newClient.privateKey.reveal(), { mode: 0o600 });
    slack = await startFakeSlackServer();
    const files = (host: string) => ({
      name: `${host}-payments`,
      kind: 'files',
      host,
      directory: `hosts/${host}/payments-client`,
    });
    writeFileSync(
      join(dir, 'certrotor.json'),
      JSON.stringify({
        version: 1,
        environments: [{ name: 'prod' }],
        hosts: ['app-1', 'app-2', 'event-tracker'].map((name) => ({ name, environment: 'prod' })),
        destinations: [files('app-1'), files('app-2')],
        upstreams: [
          {
            name: 'payments',
            owner: 'payments-team',
            endpoints: [
              { host: '127.0.0.1', port: upstream.port, servername: 'pay.vendor.test', environment: 'prod' },
            ],
            trust: { caBundleFile: 'vendor-ca.pem' },
            consumers: { destinations: ['app-1-payments', 'app-2-payments'], hosts: ['event-tracker'] },
          },
        ],
        notifications: {
          channels: [{ name: 'ops', kind: 'slack', webhook: { env: 'SLACK_WEBHOOK_URL' } }],
          delivery: { timeout: '2s', commandWait: '5s' },
        },
        local: { stateDirectory: 'state', events: { stdout: false } },
      }),
    );
    const env = { SLACK_WEBHOOK_URL: slack.url };
    const cutover = new Date(now + 20 * DAY);
    // Deadline = cutover − 1 day (safety margin); thresholds 14, 7, 3 and 1 days before it.
    const deadline = cutover.getTime() - DAY;
    const announced = await certrotor(
      dir,
      env,
      'upstream',
      'announce',
      'payments',
      '--window-start',
      new Date(now - DAY).toISOString(),
      '--cutover',
      cutover.toISOString(),
      '--id',
      'VEND-2291',
    );
    const imported = await certrotor(
      dir,
      env,
      'upstream',
      'import-client-cert',
      'payments',
      '--cert',
      'client-g2.pem',
      '--key',
      'client-g2.key',
    );
    expect([announced.code, imported.code]).toEqual([0, 0]);

    // Act + Assess: at each threshold the rehearsal names event-tracker, why, and Slack hears it.
    for (const days of [14, 7, 3, 1]) {
      const at = new Date(deadline - days * DAY + 3_600_000).toISOString();
      const before = slack.delivered().length;
      const watched = await certrotor(dir, env, 'upstream', 'watch', '--json', '--at', at);
      expect(watched.stderr).toContain(`rehearsal as of ${at}`);
      expect(watched.code).toBe(0);
      const report = JSON.parse(watched.stdout) as WatchJson;
      const consumers = report.upstreams[0]!.announcements[0]!.consumers;
      expect(
        consumers
          .filter((c) => c.ready)
          .map((c) => c.consumer)
          .sort(),
      ).toEqual(['app-1', 'app-2']);
      const missing = consumers.find((c) => c.consumer === 'event-tracker');
      expect(missing?.ready).toBe(false);
      expect(missing?.detail).toMatch(/no destination delivers to event-tracker/);
      const posted = slack
        .delivered()
        .slice(before)
        .map((m) => JSON.stringify(m));
      expect(posted.some((m) => m.includes('event-tracker') && m.includes('no destination delivers'))).toBe(
        true,
      );
    }
    // Rerun at the last threshold: nothing new for Slack.
    const settled = slack.delivered().length;
    await certrotor(
      dir,
      env,
      'upstream',
      'watch',
      '--at',
      new Date(deadline - DAY + 7_200_000).toISOString(),
    );
    expect(slack.delivered()).toHaveLength(settled);

    // The vendor cuts over: only the new client CA is accepted.
    upstream.swap({
      certificatePem: server.certificatePem,
      keyPem: server.privateKey.reveal(),
      clientCaPem: [newClientCa.certificatePem],
    });
    const afterJson = await certrotor(
      dir,
      env,
      'upstream',
      'watch',
      '--json',
      '--at',
      new Date(cutover.getTime() + 1_800_000).toISOString(),
    );
    expect(afterJson.code).toBe(1);
    const verdicts = (
      JSON.parse(afterJson.stdout) as {
        upstreams: {
          announcements: { afterCutover?: { consumer: string; connects: boolean; reason?: string }[] }[];
        }[];
      }
    ).upstreams[0]!.announcements[0]!.afterCutover;
    expect(verdicts?.map((v) => [v.consumer, v.connects]).sort()).toEqual([
      ['app-1', true],
      ['app-2', true],
      ['event-tracker', false],
    ]);
    const after = await certrotor(
      dir,
      env,
      'upstream',
      'watch',
      '--at',
      new Date(cutover.getTime() + 3_600_000).toISOString(),
    );
    expect(after.code).toBe(1);
    expect(after.stdout).toMatch(
      /after cutover: event-tracker FAILS to connect: no destination delivers to event-tracker/,
    );
    expect(after.stdout).toMatch(/after cutover: app-1 connects/);
    // The rehearsal kept its own state: today, in the real state, the window is simply open.
    const real = await certrotor(dir, env, 'upstream', 'status', '--json');
    expect(real.code).toBe(0);
    expect(
      (JSON.parse(real.stdout) as { upstreams: { announcements: { stage: string }[] }[] }).upstreams[0]!
        .announcements[0]!.stage,
    ).not.toBe('overdue');

    // The covered consumers connect with what certrotor delivered; the left-out one has nothing.
    for (const host of ['app-1', 'app-2']) {
      const held = join(dir, 'hosts', host, 'payments-client');
      const material = {
        certificatePem: readFileSync(join(held, INSTALLED_FILES.certificate), 'utf8'),
        keyPem: readFileSync(join(held, INSTALLED_FILES.key), 'utf8'),
      };
      expect(await connectAsConsumer(upstream, material, [serverCa.certificatePem])).toEqual({ ok: true });
    }
    expect(existsSync(join(dir, 'hosts', 'event-tracker'))).toBe(false);
  });
});

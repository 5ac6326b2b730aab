/**
 * The first outage, replayed through the built `certrotor` binary (dist/certrotor.js): a certificate
 * nobody manages expires on staging, hidden behind a live long-lived connection, while the same
 * certificate (same subject and names, other serials) is about to expire on prod and dev. Three real
 * TLS servers on loopback, a real loopback Slack webhook per channel, an owner on the endpoints and
 * a route for that owner.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import * as tls from 'node:tls';
import { DAY, type BuiltCertificate, buildCa, buildCertificate } from '../builders/certificates';
import { type FakeSlackServer, startFakeSlackServer } from '../support/fake-slack-server';
import { useTempDirs } from '../support/temp-dir';

jest.setTimeout(60_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const temp = useTempDirs();
const NAME = 'api.internal.example';

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

const servers: tls.Server[] = [];
const sockets: tls.TLSSocket[] = [];
let teamSlack: FakeSlackServer;
let defaultSlack: FakeSlackServer;

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  await Promise.all([teamSlack?.close(), defaultSlack?.close()]);
});

function serve(certificate: BuiltCertificate): Promise<{ server: tls.Server; port: number }> {
  const server = tls.createServer({
    key: certificate.privateKey.reveal(),
    cert: certificate.certificatePem + certificate.chainPem,
  });
  // Keep every connection open: the long-lived sessions that hid the real outage.
  server.on('secureConnection', (socket) => socket.on('data', (d: Buffer) => socket.write(d)));
  servers.push(server);
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () => done({ server, port: (server.address() as AddressInfo).port })),
  );
}

interface EventLine {
  readonly detailType: string;
  readonly detail: {
    readonly environments: string[];
    readonly owner?: string;
    readonly summary?: string;
    readonly locations?: { environment: string; location: string }[];
  };
}

describe('an unmanaged certificate expired on staging and expiring on prod and dev', () => {
  it('is one event naming every environment, routed to the endpoints’ owner, never repeated, and gates cron with exit 2', async () => {
    // Prepare: one CA; three certificates with the same subject and names, different serials.
    const dir = await temp.make('outage-sweep');
    const now = Date.now();
    const ca = await buildCa({ commonName: 'Sweep test CA', now: new Date(now - 400 * DAY) });
    const fresh = await buildCertificate({
      issuer: ca,
      commonName: NAME,
      notAfter: new Date(now + 60 * DAY),
    });
    const expired = await buildCertificate({
      issuer: ca,
      commonName: NAME,
      notAfter: new Date(now - 2 * DAY),
      lifetimeDays: 30,
    });
    const prodCert = await buildCertificate({
      issuer: ca,
      commonName: NAME,
      notAfter: new Date(now + 5 * DAY + 3_600_000),
    });
    const devCert = await buildCertificate({
      issuer: ca,
      commonName: NAME,
      notAfter: new Date(now + 5 * DAY + 7_200_000),
    });
    const staging = await serve(fresh);
    const prod = await serve(prodCert);
    const dev = await serve(devCert);
    writeFileSync(join(dir, 'ca.pem'), ca.certificatePem);

    // A client holds a connection to staging; then staging's certificate is swapped for the expired one.
    const longLived = tls.connect({
      host: '127.0.0.1',
      port: staging.port,
      servername: NAME,
      ca: ca.certificatePem,
    });
    sockets.push(longLived);
    await new Promise<void>((done, fail) => longLived.once('secureConnect', done).once('error', fail));
    staging.server.setSecureContext({
      key: expired.privateKey.reveal(),
      cert: expired.certificatePem + expired.chainPem,
    });
    const echoed = new Promise<string>((done) => longLived.once('data', (d: Buffer) => done(d.toString())));
    longLived.write('still-alive');
    expect(await echoed).toBe('still-alive');

    teamSlack = await startFakeSlackServer({ path: '/services/TEAM/API/team-token' });
    defaultSlack = await startFakeSlackServer({ path: '/services/TEAM/DEF/default-token' });
    const endpoint = (name: string, environment: string, port: number) => ({
      name,
      environment,
      host: '127.0.0.1',
      port,
      servername: NAME,
      caFile: 'ca.pem',
      owner: 'team-api',
    });
    writeFileSync(
      join(dir, 'certrotor.json'),
      JSON.stringify({
        version: 1,
        environments: [{ name: 'staging' }, { name: 'prod' }, { name: 'dev' }],
        endpoints: [
          endpoint('api-staging', 'staging', staging.port),
          endpoint('api-prod', 'prod', prod.port),
          endpoint('api-dev', 'dev', dev.port),
        ],
        notifications: {
          channels: [
            { name: 'team-api', kind: 'slack', webhook: { env: 'SLACK_TEAM_URL' } },
            { name: 'general', kind: 'slack', webhook: { env: 'SLACK_DEFAULT_URL' } },
          ],
          defaultChannel: 'general',
          routes: [{ owner: 'team-api', channel: 'team-api' }],
          delivery: { timeout: '2s', commandWait: '5s' },
        },
        local: { stateDirectory: 'state', events: { stdout: false, jsonlFile: 'events.jsonl' } },
      }),
    );
    const env = { SLACK_TEAM_URL: teamSlack.url, SLACK_DEFAULT_URL: defaultSlack.url };

    // Act
    const first = await certrotor(dir, env, 'scan', '--json', '--fail-on', 'critical');
    const second = await certrotor(dir, env, 'scan', '--json', '--fail-on', 'critical');
    const status = await certrotor(dir, env, 'status', '--json', '--group', 'identity');

    // Assess: the first scan raises exactly one event, about every environment.
    expect(first.stderr).toBe('');
    expect(first.code).toBe(2);
    const report = JSON.parse(first.stdout) as { schema: string; events: EventLine[]; newFindings: number };
    expect(report.schema).toBe('certrotor.scan/1');
    expect(report.events.map((e) => e.detailType)).toEqual(['Certificate Expired']);
    const [event] = report.events;
    expect([...event!.detail.environments].sort()).toEqual(['dev', 'prod', 'staging']);
    expect(event!.detail.owner).toBe('team-api');
    expect(event!.detail.summary).toMatch(
      /expired .*; also in (prod|dev): expires in 5 days; (dev|prod): expires in 5 days/,
    );
    expect(event!.detail.locations?.map((l) => l.environment).sort()).toEqual(['dev', 'prod', 'staging']);

    // It reached the owner's channel, once, naming each environment; nothing went to the default one.
    expect(teamSlack.delivered()).toHaveLength(1);
    const message = JSON.stringify(teamSlack.delivered()[0]);
    for (const environment of ['staging', 'prod', 'dev']) expect(message).toContain(environment);
    expect(message).toContain('expires in 5 days');
    expect(defaultSlack.delivered()).toHaveLength(0);

    // The second scan still sees it (exit 2 for cron) but repeats nothing.
    expect(second.code).toBe(2);
    const again = JSON.parse(second.stdout) as { events: EventLine[]; newFindings: number };
    expect(again.events).toEqual([]);
    expect(again.newFindings).toBe(0);
    expect(teamSlack.delivered()).toHaveLength(1);

    // status groups the three places under one identity, with numbers as numbers.
    expect(status.code).toBe(0);
    const rows = (
      JSON.parse(status.stdout) as {
        rows: {
          identity: string | null;
          daysLeft: number | null;
          environment: string;
          fingerprintSha256: string | null;
        }[];
      }
    ).rows;
    const identities = new Set(rows.map((r) => r.identity));
    expect(identities.size).toBe(1);
    expect(rows.map((r) => r.environment)).toHaveLength(3);
    expect(rows.find((r) => r.environment === 'staging')?.daysLeft).toBe(-2);
    expect(rows.find((r) => r.environment === 'prod')?.daysLeft).toBe(5);
    expect(
      rows.every((r) => /^([0-9A-F]{2}:){31}[0-9A-F]{2}$|^[0-9a-fA-F]{64}$/.test(r.fingerprintSha256 ?? '')),
    ).toBe(true);

    // The long-lived connection never noticed.
    const stillEchoed = new Promise<string>((done) =>
      longLived.once('data', (d: Buffer) => done(d.toString())),
    );
    longLived.write('after-scans');
    expect(await stillEchoed).toBe('after-scans');
  });
});

/**
 * The sibling sweep counts what host agents report installed, through the built `certrotor` binary
 * (dist/certrotor.js): certrotor manages `api` (local CA, 30-day lifetime) on worker-1, whose agent
 * runs as its own process and reports the version it installed; staging serves a copy nobody manages,
 * expired. Rehearsed 26 days on, the one finding about the expired copy names worker-1 and how its
 * installed version stands there ("also on host worker-1: expires in 3 days").
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import * as tls from 'node:tls';
import { DAY, buildCa, buildCertificate } from '../builders/certificates';
import { useTempDirs } from '../support/temp-dir';

jest.setTimeout(60_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const SERVERNAME = 'api.internal.example';

const servers: tls.Server[] = [];
const agents: ChildProcess[] = [];

afterAll(async () => {
  // Wait for each agent to exit: on SIGTERM it still writes its state file, which must not race the
  // removal of the temporary directory.
  await Promise.all(
    agents.map(
      (agent) =>
        new Promise<void>((done) => {
          if (agent.exitCode !== null || agent.signalCode !== null) return done();
          agent.once('exit', () => done());
          agent.kill();
        }),
    ),
  );
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
});
// Declared after the hook above: Jest runs a scope's afterAll hooks in order, so the agents have
// exited before their directories are removed.
const temp = useTempDirs();

function certrotor(
  dir: string,
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...argv, '--config', join(dir, 'certrotor.json')], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

interface Place {
  readonly environment: string;
  readonly location: string;
  readonly status: string;
  readonly host?: string;
}

describe('a certificate a host agent reports installed', () => {
  it('is a place of the sibling sweep: the finding about its expired copy names the host and its state', async () => {
    // Prepare: staging serves an expired copy of api (another CA, nobody manages it).
    const dir = await temp.make('outage-agent-places');
    const now = Date.now();
    const ca = await buildCa({ commonName: 'Staging copy CA', now: new Date(now - 400 * DAY) });
    const copy = await buildCertificate({
      issuer: ca,
      commonName: SERVERNAME,
      notAfter: new Date(now - 2 * DAY),
      lifetimeDays: 30,
    });
    writeFileSync(join(dir, 'staging-ca.pem'), ca.certificatePem);
    const staging = tls.createServer({
      key: copy.privateKey.reveal(),
      cert: copy.certificatePem + copy.chainPem,
    });
    servers.push(staging);
    await new Promise<void>((done) => staging.listen(0, '127.0.0.1', done));
    writeFileSync(
      join(dir, 'certrotor.json'),
      JSON.stringify({
        version: 1,
        environments: [{ name: 'staging' }, { name: 'prod' }],
        issuers: [{ name: 'local', kind: 'local-ca' }],
        hosts: [{ name: 'worker-1', environment: 'prod', agent: { pollInterval: '200ms', jitter: '50ms' } }],
        destinations: [
          {
            name: 'workers',
            kind: 'agent',
            hosts: ['worker-1'],
            directory: join(dir, 'worker-1'),
            healthCheck: { handshake: false },
          },
        ],
        certificates: [
          {
            name: 'api',
            commonName: SERVERNAME,
            dnsNames: [SERVERNAME],
            issuer: 'local',
            validity: '30d',
            destinations: ['workers'],
            rollout: { verifyTimeout: '20s', verifyInterval: '100ms' },
          },
        ],
        endpoints: [
          {
            name: 'api-staging',
            environment: 'staging',
            host: '127.0.0.1',
            port: (staging.address() as AddressInfo).port,
            servername: SERVERNAME,
            caFile: 'staging-ca.pem',
            expect: { certificate: 'api' },
          },
        ],
        local: { stateDirectory: 'state', events: { stdout: false } },
      }),
    );
    const agent = spawn(
      process.execPath,
      [CLI, 'agent', '--host', 'worker-1', '--config', join(dir, 'certrotor.json')],
      {
        cwd: dir,
        stdio: 'ignore',
      },
    );
    agents.push(agent);
    // certrotor issues api and worker-1's agent installs it and reports it.
    const rotated = await certrotor(dir, 'rotate', 'api');
    expect(rotated).toMatchObject({ code: 0 });

    // Act: 26 days on, the 30-day certificate on worker-1 has 3 to 4 days left.
    const scanned = await certrotor(dir, 'scan', '--at', '26d', '--json');
    const text = await certrotor(dir, 'scan', '--at', '26d');

    // Assess: one finding about the expired copy, naming worker-1 and its state.
    expect(scanned.code).toBe(0);
    const report = JSON.parse(scanned.stdout) as {
      findings: { kind: string; message: string; environments: string[]; places: Place[] }[];
      events: {
        detailType: string;
        detail: { environments: string[]; summary?: string; locations: Record<string, unknown>[] };
      }[];
    };
    const expired = report.findings.filter((f) => f.kind === 'expired');
    expect(expired).toHaveLength(1);
    expect(expired[0]!.message).toMatch(/expired .* ago .*; also on host worker-1: expires in [34] days$/);
    expect(expired[0]!.environments).toEqual(['staging', 'prod']);
    expect(expired[0]!.places).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ environment: 'prod', location: 'host worker-1', host: 'worker-1' }),
      ]),
    );
    const event = report.events.find((e) => e.detailType === 'Certificate Expired');
    expect(event?.detail.environments).toEqual(['staging', 'prod']);
    expect(event?.detail.locations).toContainEqual({
      environment: 'prod',
      location: expect.stringMatching(/^host worker-1 — expires in [34] days$/),
      source: 'agent',
      host: 'worker-1',
    });
    // Nothing is repeated: the second scan reports the finding as already reported.
    expect(text.stdout).toMatch(/also on host worker-1: expires in [34] days {2}\[already reported\]/);
    // status lists the host among the places of its identity.
    const status = JSON.parse(
      (await certrotor(dir, 'status', '--json', '--group', 'identity', '--at', '26d')).stdout,
    ) as {
      rows: { environment: string; where: string; identity: string | null; state: string }[];
    };
    expect(status.rows.filter((r) => r.identity === 'name:api').map((r) => [r.environment, r.where])).toEqual(
      expect.arrayContaining([
        ['prod', 'host worker-1'],
        ['staging', expect.stringMatching(/^127\.0\.0\.1:\d+$/)],
      ]),
    );
  });
});

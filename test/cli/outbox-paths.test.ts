/**
 * Every command path that produces events reaches Slack through the outbox: `upstream watch`, `scan`,
 * `run`, `rotate` and the host agents' reports (judged by the next scan). For each, Slack is down while
 * the command runs: the command still exits as it would, says its messages are pending, and a later,
 * different command (after Slack recovered) delivers each of them exactly once.
 */
import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { FileBundleStore } from '../../lambda/adapters/local/file-bundle-store';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import { DESIRED_COLLECTION, type DesiredRecord, hostRecordId } from '../../lambda/domain/host-agent';
import { updateCertificateState } from '../../lambda/use-cases/certificate-state';
import { buildBundleVersions } from '../builders/bundles';
import { DAY, buildCa, buildCertificate } from '../builders/certificates';
import { buildConfig } from '../builders/config';
import { type FakeSlackServer, startFakeSlackServer } from '../support/fake-slack-server';
import { useTempDirs } from '../support/temp-dir';

jest.setTimeout(120_000);

const temp = useTempDirs();
/** Fast pacing and short waits keep the suite quick; the outbox e2e suite covers pacing. */
const DELIVERY = {
  messagesPerSecond: 10,
  timeout: '1s',
  commandWait: '2s',
  retryDelay: '1s',
  maxRetryDelay: '1s',
};

let slack: FakeSlackServer;

beforeAll(async () => {
  slack = await startFakeSlackServer();
});

afterAll(async () => {
  await slack.close();
});

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function certrotor(cwd: string, argv: readonly string[], now?: Date): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: { SLACK_WEBHOOK_URL: slack.url },
    cwd,
    clock: () => now ?? new Date(),
    exitCode: 0,
  };
  const code = await runCli([...argv], ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/**
 * Runs `argv` with Slack answering 500, then `next` with Slack healthy; returns the texts Slack
 * accepted (request bodies), the first run, and how many attempts the first run made.
 */
async function downThenUp(
  dir: string,
  argv: readonly string[],
  next: readonly string[] = ['scan'],
  now?: Date,
): Promise<{ first: Run; attempted: number; accepted: string[] }> {
  const before = slack.requests.length;
  slack.script(Array.from({ length: 200 }, () => ({ status: 500, body: 'internal_error' })));
  const first = await certrotor(dir, argv, now);
  const attempted = slack.requests.length - before;
  slack.script([]);
  const recoveredFrom = slack.requests.length;
  // A pinned clock moves on a minute, past the first attempt's backoff.
  const later = now ? new Date(now.getTime() + 60_000) : undefined;
  for (let i = 0; i < 4; i++) {
    const again = await certrotor(dir, next, later);
    if (!/pending/.test(again.err)) break;
  }
  const accepted = slack.requests
    .slice(recoveredFrom)
    .filter((r) => 'status' in r.response && r.response.status < 300)
    .map((r) => r.body);
  return { first, attempted, accepted };
}

function once(texts: readonly string[], pattern: RegExp): number {
  return texts.filter((t) => pattern.test(t)).length;
}

/** A managed certificate issued by the local CA into files (rotate and run). */
async function localCaWorkspace(extra: Record<string, unknown> = {}): Promise<string> {
  const dir = await temp.make('outbox-paths');
  writeFileSync(
    join(dir, 'certrotor.yaml'),
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }],
      issuers: [{ name: 'local', kind: 'local-ca' }],
      destinations: [{ name: 'disk', kind: 'files', environment: 'prod', directory: 'tls' }],
      certificates: [
        {
          name: 'api',
          commonName: 'api.example.com',
          dnsNames: ['api.example.com'],
          issuer: 'local',
          destinations: ['disk'],
        },
      ],
      notifications: {
        channels: [{ name: 'alerts', kind: 'slack', webhook: { env: 'SLACK_WEBHOOK_URL' } }],
        defaultChannel: 'alerts',
        delivery: DELIVERY,
      },
      local: { stateDirectory: 'state', events: { stdout: false } },
      ...extra,
    }),
  );
  return dir;
}

describe('every command path reaches Slack through the outbox', () => {
  it('rotate: its rotation messages wait in the outbox while Slack is down and go out once after', async () => {
    const dir = await localCaWorkspace();

    const { first, attempted, accepted } = await downThenUp(dir, ['rotate', 'api']);

    expect(first.code).toBe(0);
    expect(first.out).toMatch(/rotation api v\S+: SUCCEEDED/);
    expect(first.err).toMatch(/^2 messages pending: alerts: .*HTTP 500/m);
    expect(attempted).toBeGreaterThan(0);
    expect(once(accepted, /Rotation started/i)).toBe(1);
    expect(once(accepted, /Rotation succeeded/i)).toBe(1);
  });

  it('run: the alerts of its scan and its rotation go out once after Slack recovers', async () => {
    const dir = await temp.make('outbox-paths-run');
    const ca = await buildCa({ commonName: 'Paths test CA', now: new Date(Date.now() - 400 * DAY) });
    const expired = await buildCertificate({
      issuer: ca,
      commonName: 'legacy.example.com',
      notAfter: new Date(Date.now() - DAY),
      lifetimeDays: 365,
    });
    writeFileSync(join(dir, 'legacy.pem'), expired.certificatePem);
    const workspace = await localCaWorkspace({
      sources: [{ name: 'files', kind: 'files', environment: 'prod', paths: [join(dir, 'legacy.pem')] }],
    });

    const { first, accepted } = await downThenUp(workspace, ['run']);

    expect(first.code).toBe(0);
    expect(first.err).toMatch(/messages pending: alerts: .*HTTP 500/m);
    expect(once(accepted, /legacy\.example\.com/)).toBe(1);
    expect(once(accepted, /Rotation succeeded/i)).toBe(1);
  });

  it('scan: an expiry alert waits in the outbox and goes out once after Slack recovers', async () => {
    const dir = await temp.make('outbox-paths-scan');
    const ca = await buildCa({ commonName: 'Paths test CA', now: new Date(Date.now() - 400 * DAY) });
    const expired = await buildCertificate({
      issuer: ca,
      commonName: 'old.example.com',
      notAfter: new Date(Date.now() - DAY),
      lifetimeDays: 365,
    });
    writeFileSync(join(dir, 'old.pem'), expired.certificatePem);
    const workspace = await localCaWorkspace({
      certificates: [],
      issuers: [],
      destinations: [],
      sources: [{ name: 'files', kind: 'files', environment: 'prod', paths: [join(dir, 'old.pem')] }],
    });

    // The next command is a different one (`run`): any command delivers what is held.
    const { first, accepted } = await downThenUp(workspace, ['scan'], ['run']);

    expect(first.code).toBe(0);
    expect(first.err).toMatch(/^1 message pending: alerts: .*HTTP 500/m);
    expect(once(accepted, /old\.example\.com/)).toBe(1);
  });

  it('upstream watch: a vendor announcement and its not-ready consumers reach Slack, once', async () => {
    const now = new Date('2026-11-01T00:00:00Z');
    const dir = await temp.make('outbox-paths-upstream');
    const config = buildConfig((c) => {
      c.upstreams[0].endpoints = [{ host: '127.0.0.1', port: 1, environment: 'prod' }];
      c.notifications.delivery = DELIVERY;
      c.local = { stateDirectory: join(dir, 'state'), events: { stdout: false } };
    });
    writeFileSync(join(dir, 'certrotor.yaml'), JSON.stringify(config, null, 2));
    const announced = await certrotor(
      dir,
      [
        'upstream',
        'announce',
        'payments',
        '--window-start',
        '2026-11-01T00:00:00Z',
        '--cutover',
        '2026-12-01T00:00:00Z',
        '--note',
        'VEND-7 server certificate rotation',
      ],
      now,
    );
    expect(announced.code).toBe(0);

    const { first, accepted } = await downThenUp(dir, ['upstream', 'watch'], ['upstream', 'watch'], now);

    // Exit 1 is for the unreachable vendor endpoint, not for Slack.
    expect(first.code).toBe(1);
    expect(first.out).toContain('failure upstream payments endpoint 127.0.0.1:1');
    expect(first.err).toMatch(/^1 message pending: alerts: .*HTTP 500/m);
    expect(once(accepted, /VEND-7 server certificate rotation|payments/)).toBe(1);
  });

  it("agent reports: a host agent's report judged by the next scan (a host that never reported) reaches Slack, once", async () => {
    const dir = await temp.make('outbox-paths-agent');
    const stateDirectory = join(dir, 'state');
    const config = buildConfig((c) => {
      c.local = { stateDirectory, events: { stdout: false } };
      c.notifications.delivery = DELIVERY;
      c.hosts.push({ name: 'app-1', environment: 'prod', agent: {} });
      c.hosts.push({ name: 'app-2', environment: 'prod', agent: {} });
      c.destinations.push({
        name: 'app-agents',
        kind: 'agent',
        directory: join(dir, 'tls'),
        hosts: ['app-1', 'app-2'],
        healthCheck: { handshake: false },
      });
      c.certificates[0].destinations.push('app-agents');
    });
    await writeFile(join(dir, 'certrotor.yaml'), JSON.stringify(config));
    const [v1] = await buildBundleVersions(1, { issuer: await buildCa(), name: 'api' });
    const state = new FileStateStore({ directory: join(stateDirectory, 'state') });
    const bundles = new FileBundleStore({ directory: join(stateDirectory, 'bundles') });
    const ref = await bundles.put(v1!);
    const now = new Date();
    const desired: DesiredRecord = {
      host: 'app-1',
      certificate: 'api',
      version: v1!.version,
      fingerprintSha256: v1!.facts.fingerprintSha256,
      bundle: ref,
      requestedAt: now.toISOString(),
    };
    await state.put(DESIRED_COLLECTION, hostRecordId('app-1', 'api'), desired, now);
    await updateCertificateState(state, 'api', now, () => ({
      name: 'api',
      current: {
        version: 'v1',
        fingerprintSha256: v1!.facts.fingerprintSha256,
        notAfter: v1!.facts.notAfter,
        notBefore: v1!.facts.notBefore,
        bundle: ref,
      },
      failedAttempts: 0,
    }));
    const agent = await certrotor(dir, ['agent', '--host', 'app-1', '--once']);
    expect(agent).toMatchObject({ code: 0, err: '' });

    const { first, accepted } = await downThenUp(dir, ['scan']);

    expect(first.err).toMatch(/messages? pending: alerts: .*HTTP 500/m);
    expect(once(accepted, /Drift: 1 place not serving api[^]*app-2/)).toBe(1);
  });
});

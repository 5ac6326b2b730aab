/**
 * The notification outbox through the built `certrotor` binary (dist/certrotor.js): real loopback
 * Slack servers that answer 429 with Retry-After, 5xx, never answer (timeouts), or 404 until "fixed".
 * Every message names a unique certificate (svc-N.example.com), so each one is counted: delivered
 * exactly once across runs, none lost, at most one per second per webhook, Retry-After honoured, and
 * with Slack down each command stops waiting within its own promised bound and says what is pending.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { DAY, buildCa, buildCertificate } from '../builders/certificates';
import {
  type FakeSlackServer,
  type ScriptedResponse,
  startFakeSlackServer,
} from '../support/fake-slack-server';
import { useTempDirs } from '../support/temp-dir';

jest.setTimeout(240_000);

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

/** A workspace whose files source holds `count` expired certificates: one critical message each. */
async function workspace(
  count: number,
  delivery: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const dir = await temp.make('outbox');
  const now = Date.now();
  const ca = await buildCa({ commonName: 'Outbox test CA', now: new Date(now - 400 * DAY) });
  const paths: string[] = [];
  for (let i = 1; i <= count; i++) {
    const built = await buildCertificate({
      issuer: ca,
      commonName: `svc-${i}.example.com`,
      notAfter: new Date(now - DAY),
      lifetimeDays: 365,
    });
    const file = join(dir, `svc-${i}.pem`);
    writeFileSync(file, built.certificatePem);
    paths.push(file);
  }
  writeFileSync(
    join(dir, 'certrotor.json'),
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }],
      sources: [{ name: 'files', kind: 'files', environment: 'prod', paths }],
      notifications: {
        channels: [
          { name: 'alerts', kind: 'slack', webhook: { env: 'SLACK_ALERTS_URL' } },
          { name: 'ops', kind: 'slack', webhook: { env: 'SLACK_OPS_URL' } },
        ],
        defaultChannel: 'alerts',
        operatorChannel: 'ops',
        delivery: { timeout: '1s', retryDelay: '1s', maxRetryDelay: '2s', commandWait: '3s', ...delivery },
      },
      local: {
        stateDirectory: 'state',
        events: { stdout: false, jsonlFile: 'events.jsonl' },
      },
      ...extra,
    }),
  );
  return dir;
}

/** svc-N of each message Slack accepted (2xx), in arrival order. */
function acceptedIds(slack: FakeSlackServer): string[] {
  return slack.requests
    .filter((r) => (statusOf(r.response) ?? 999) < 300)
    .map((r) => /svc-(\d+)\.example\.com/.exec(r.json?.text ?? '')?.[1] ?? `?${r.json?.text ?? ''}`);
}

/** Gaps between consecutive requests to one webhook, in ms. */
function gaps(slack: FakeSlackServer): number[] {
  return slack.requests.slice(1).map((r, i) => r.at - slack.requests[i]!.at);
}

/** "waited 2.1s of 3s" from the command's own report on stderr. */
function waited(run: Run): { waited: number; bound: number } | undefined {
  const m = /waited (\d+(?:\.\d+)?)s of (\d+(?:\.\d+)?)s/.exec(run.stderr);
  return m ? { waited: Number(m[1]), bound: Number(m[2]) } : undefined;
}

function sorted(ids: readonly string[]): string[] {
  return [...ids].sort((a, b) => Number(a) - Number(b));
}

const statusOf = (response: ScriptedResponse): number | undefined =>
  'status' in response ? response.status : undefined;

const range = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1));

/** Runs `scan` until nothing is pending (at most `max` runs); returns every run. */
async function scanUntilDelivered(dir: string, env: Record<string, string>, max = 8): Promise<Run[]> {
  const runs: Run[] = [];
  for (let i = 0; i < max; i++) {
    const run = await certrotor(dir, env, 'scan');
    runs.push(run);
    if (!/messages? pending/.test(run.stderr)) break;
  }
  return runs;
}

describe('notifications through the outbox, via the built binary', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} missing: run node scripts/build-cli.mjs`);
  });

  it('delivers every message of a 429-then-5xx storm exactly once across runs, one per second, honouring Retry-After', async () => {
    // Prepare: 8 messages; Slack answers 429 (Retry-After 2) twice, then 503 three times, then accepts
    const count = 8;
    const dir = await workspace(count, {});
    const script: ScriptedResponse[] = [
      { status: 429, body: 'rate_limited', headers: { 'retry-after': '2' } },
      { status: 429, body: 'rate_limited', headers: { 'retry-after': '2' } },
      { status: 503, body: 'service_unavailable' },
      { status: 503, body: 'service_unavailable' },
      { status: 503, body: 'service_unavailable' },
    ];
    const slack = await startFakeSlackServer({ script });
    const ops = await startFakeSlackServer();
    try {
      // Act
      const runs = await scanUntilDelivered(dir, { SLACK_ALERTS_URL: slack.url, SLACK_OPS_URL: ops.url });

      // Assess: every message once, none lost; pacing and Retry-After held across processes
      expect(sorted(acceptedIds(slack))).toEqual(range(count));
      expect(runs.every((r) => r.code === 0)).toBe(true);
      expect(Math.min(...gaps(slack))).toBeGreaterThanOrEqual(950);
      const afterRateLimit = slack.requests
        .map((r, i) => ({ r, previous: slack.requests[i - 1] }))
        .filter(({ previous }) => previous !== undefined && statusOf(previous.response) === 429)
        .map(({ r, previous }) => r.at - previous!.at);
      expect(afterRateLimit).toHaveLength(2);
      expect(Math.min(...afterRateLimit)).toBeGreaterThanOrEqual(1950);
      expect(ops.requests).toHaveLength(0);
      report('429/5xx storm', slack, runs);
    } finally {
      await slack.close();
      await ops.close();
    }
  });

  it('with Slack down (5xx) a command stops waiting within its bound, says what is pending, and the next run after recovery delivers each message once', async () => {
    // Prepare: Slack answers 500 to everything
    const count = 4;
    const dir = await workspace(count, { commandWait: '2s' });
    const slack = await startFakeSlackServer({ fallback: { status: 500, body: 'internal_error' } });
    const ops = await startFakeSlackServer();
    const env = { SLACK_ALERTS_URL: slack.url, SLACK_OPS_URL: ops.url };
    try {
      // Act: one scan while Slack is down
      const down = await certrotor(dir, env, 'scan');
      const bound = waited(down);

      // Assess: results printed, exit 0, pending said, within the promised bound (+ margin)
      expect(down.code).toBe(0);
      expect(down.stdout).toContain('findings (4, 4 new)');
      expect(down.stderr).toMatch(/^4 messages pending: alerts: .*HTTP 500/m);
      expect(bound).toBeDefined();
      expect(bound!.waited).toBeLessThanOrEqual(bound!.bound + 1);

      // Act: Slack recovers; the next command sends what was held
      slack.script(Array.from({ length: 50 }, () => ({ status: 200, body: 'ok' })));
      const runs = await scanUntilDelivered(dir, env);

      // Assess
      expect(sorted(acceptedIds(slack))).toEqual(range(count));
      expect(runs.at(-1)!.stderr).not.toMatch(/pending/);
      report('5xx outage then recovery', slack, [down, ...runs]);
    } finally {
      await slack.close();
      await ops.close();
    }
  });

  it('with a webhook that never answers (timeouts) the command still ends within its bound and nothing is lost', async () => {
    // Prepare: a webhook that holds every request open until it is "fixed"
    const count = 3;
    const dir = await workspace(count, { commandWait: '2s' });
    const accepted: string[] = [];
    let fixed = false;
    const held: ServerResponse[] = [];
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      let body = '';
      request.on('data', (c: Buffer) => (body += c.toString()));
      request.on('end', () => {
        if (!fixed) {
          held.push(response);
          return;
        }
        accepted.push(/svc-(\d+)\.example\.com/.exec(body)?.[1] ?? '?');
        response.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T/B/slow`;
    const ops = await startFakeSlackServer();
    const env = { SLACK_ALERTS_URL: url, SLACK_OPS_URL: ops.url };
    try {
      // Act
      const down = await certrotor(dir, env, 'scan');
      const bound = waited(down);
      fixed = true;
      for (const r of held.splice(0)) r.destroy();
      const runs = await scanUntilDelivered(dir, env);

      // Assess
      expect(down.code).toBe(0);
      expect(down.stderr).toMatch(/^3 messages pending: alerts: /m);
      expect(bound!.waited).toBeLessThanOrEqual(bound!.bound + 1);
      expect(sorted(accepted)).toEqual(range(count));

      console.log(
        `[figures] timeouts: sent ${count}, received ${accepted.length}, lost ${count - new Set(accepted).size}, duplicates ${accepted.length - new Set(accepted).size}; first command waited ${bound!.waited}s of ${bound!.bound}s; runs ${1 + runs.length}`,
      );
    } finally {
      for (const r of held.splice(0)) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await ops.close();
    }
  });

  it('a webhook answering 404 dead-letters its messages at once, tells the operator channel once, publishes Notification Delivery Failed, and delivers them all after the fix', async () => {
    // Prepare: 5 messages; the alerts webhook answers 404 channel_not_found until fixed
    const count = 5;
    const dir = await workspace(count, {});
    const slack = await startFakeSlackServer({ fallback: { status: 404, body: 'channel_not_found' } });
    const ops = await startFakeSlackServer();
    const env = { SLACK_ALERTS_URL: slack.url, SLACK_OPS_URL: ops.url };
    try {
      // Act: broken, then another command while still broken
      const broken = await certrotor(dir, env, 'scan');
      const stillBroken = await certrotor(dir, env, 'scan');

      // Assess: one probe per command (no hammering), one operator alert naming the channel and the 5 messages
      expect(broken.code).toBe(0);
      expect(broken.stderr).toMatch(
        /^5 messages pending: alerts: .*404 channel_not_found.*webhook must be fixed/m,
      );
      expect(slack.requests).toHaveLength(2);
      expect(ops.delivered()).toHaveLength(1);
      expect(ops.delivered()[0]!.text).toContain('Notifications to alerts are failing');
      const events = readFileSync(join(dir, 'events.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { detailType: string; detail: Record<string, unknown> })
        .filter((e) => e.detailType === 'Notification Delivery Failed');
      expect(events).toHaveLength(count);
      expect(events.every((e) => e.detail.channel === 'alerts' && e.detail.status === 404)).toBe(true);
      const deadLetters = readFileSync(join(dir, 'events.jsonl'), 'utf8');
      expect(deadLetters).not.toContain(slack.path);

      // Act: the webhook is fixed; any command delivers what was held
      slack.script(Array.from({ length: 50 }, () => ({ status: 200, body: 'ok' })));
      const runs = await scanUntilDelivered(dir, env);

      // Assess: each held message exactly once, the operator not told again
      expect(sorted(acceptedIds(slack))).toEqual(range(count));
      expect(ops.delivered()).toHaveLength(1);
      report('404 then fixed', slack, [broken, stillBroken, ...runs]);
    } finally {
      await slack.close();
      await ops.close();
    }
  });
});

function report(scenario: string, slack: FakeSlackServer, runs: readonly Run[]): void {
  const ids = acceptedIds(slack);
  const unique = new Set(ids);
  const waits = runs.map(waited).filter((w) => w !== undefined);

  console.log(
    `[figures] ${scenario}: requests ${slack.requests.length}, accepted ${ids.length}, unique ${unique.size}, duplicates ${ids.length - unique.size}, min gap ${Math.min(...gaps(slack))} ms, runs ${runs.length}, waits ${waits.map((w) => `${w!.waited}s/${w!.bound}s`).join(' ')}`,
  );
}

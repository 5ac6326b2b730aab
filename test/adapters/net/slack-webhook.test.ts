import {
  SlackWebhookNotifier,
  WebhookPacer,
  parseRetryAfter,
  redactWebhookUrl,
  type SlackWebhookOptions,
} from '../../../lambda/adapters/net/slack-webhook';
import type { ChatMessage } from '../../../lambda/domain/ports';
import {
  startFakeSlackServer,
  type FakeSlackServer,
  type ScriptedResponse,
} from '../../support/fake-slack-server';

/** Virtual time: `sleep` advances the clock at once, so pacing and backoff are observable without waiting. */
function virtualTime(start = Date.parse('2026-03-01T00:00:00Z')) {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    clock: () => new Date(t),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}

function message(n: number): ChatMessage {
  return {
    text: `message ${n}`,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `message ${n}` } }],
  };
}

describe('SlackWebhookNotifier', () => {
  let server: FakeSlackServer | undefined;
  let time: ReturnType<typeof virtualTime>;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function setup(script: readonly ScriptedResponse[] = [], options: Partial<SlackWebhookOptions> = {}) {
    time = virtualTime();
    server = await startFakeSlackServer({ script, now: time.now });
    const notifier = new SlackWebhookNotifier({
      webhookUrl: server.url,
      name: 'team-payments',
      clock: time.clock,
      sleep: time.sleep,
      random: () => 0.5,
      pacer: new WebhookPacer(),
      ...options,
    });
    return { server, notifier };
  }

  function gaps(s: FakeSlackServer): number[] {
    return s.requests.slice(1).map((r, i) => r.at - s.requests[i]!.at);
  }

  it('delivers every message once, in order, as Block Kit JSON', async () => {
    // Prepare
    const { server, notifier } = await setup();

    // Act
    const outcomes = [];
    for (let n = 1; n <= 5; n++) outcomes.push(await notifier.send(message(n)));

    // Assess
    expect(outcomes.every((o) => o.ok && o.attempts === 1 && o.status === 200)).toBe(true);
    expect(server.delivered().map((b) => b.text)).toEqual([
      'message 1',
      'message 2',
      'message 3',
      'message 4',
      'message 5',
    ]);
    expect(server.requests[0]!.method).toBe('POST');
    expect(server.requests[0]!.headers['content-type']).toMatch(/^application\/json/);
    expect(server.requests[0]!.json?.blocks).toEqual(message(1).blocks);
  });

  it('spaces messages to one webhook at least a second apart', async () => {
    // Prepare
    const { server, notifier } = await setup();

    // Act
    for (let n = 1; n <= 4; n++) await notifier.send(message(n));

    // Assess
    expect(gaps(server).every((gap) => gap >= 1000)).toBe(true);
  });

  it('paces two notifiers that share a webhook URL as one, without losing or duplicating messages', async () => {
    // Prepare
    const { server } = await setup();
    const pacer = new WebhookPacer();
    const common = { webhookUrl: server.url, clock: time.clock, sleep: time.sleep, pacer };
    const first = new SlackWebhookNotifier({ ...common, name: 'a' });
    const second = new SlackWebhookNotifier({ ...common, name: 'b' });

    // Act
    await Promise.all([
      first.send(message(1)),
      second.send(message(2)),
      first.send(message(3)),
      second.send(message(4)),
    ]);

    // Assess
    expect(server.delivered().map((b) => b.text)).toEqual([
      'message 1',
      'message 2',
      'message 3',
      'message 4',
    ]);
    expect(gaps(server).every((gap) => gap >= 1000)).toBe(true);
  });

  it('paces by default across notifiers in the process, in real time', async () => {
    // Prepare
    server = await startFakeSlackServer();
    const first = new SlackWebhookNotifier({ webhookUrl: server.url });
    const second = new SlackWebhookNotifier({ webhookUrl: server.url });

    // Act
    await Promise.all([first.send(message(1)), second.send(message(2))]);

    // Assess: a lower bound on spacing is correctness, not speed (timer granularity allowed for)
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('waits for Retry-After on 429 and then delivers the message once', async () => {
    // Prepare
    const { server, notifier } = await setup([
      { status: 429, body: 'rate_limited', headers: { 'retry-after': '3' } },
    ]);

    // Act
    const outcome = await notifier.send(message(1));

    // Assess
    expect(outcome).toEqual({ ok: true, status: 200, attempts: 2 });
    expect(gaps(server)).toEqual([3000]);
    expect(server.delivered()).toHaveLength(1);
  });

  it('holds later messages to the same webhook behind a Retry-After too', async () => {
    // Prepare
    const { server, notifier } = await setup([{ status: 429, headers: { 'retry-after': '5' } }]);

    // Act
    await notifier.send(message(1));
    await notifier.send(message(2));

    // Assess
    expect(server.delivered().map((b) => b.text)).toEqual(['message 1', 'message 2']);
    expect(gaps(server)).toEqual([5000, 1000]);
  });

  it('gives up without blocking when Retry-After is longer than allowed, leaving the message for the dead-letter path', async () => {
    // Prepare
    const { server, notifier } = await setup([{ status: 429, headers: { 'retry-after': '3600' } }]);

    // Act
    const outcome = await notifier.send(message(1));

    // Assess
    expect(outcome.ok).toBe(false);
    expect(outcome.permanent).toBeUndefined();
    expect(outcome.error).toMatch(/HTTP 429.*Retry-After 3600s exceeds 60s/);
    expect(server.requests).toHaveLength(1);
  });

  it('retries 5xx with exponential backoff and jitter, then delivers once', async () => {
    // Prepare
    const { server, notifier } = await setup([{ status: 500 }, { status: 503 }, { status: 502 }]);

    // Act
    const outcome = await notifier.send(message(1));

    // Assess: random 0.5 puts each delay at 3/4 of 500, 1000, 2000 ms
    expect(outcome).toEqual({ ok: true, status: 200, attempts: 4 });
    expect(time.sleeps).toEqual([375, 625, 750, 250, 1500]);
    expect(gaps(server)).toEqual([1000, 1000, 1500]);
    expect(server.delivered()).toHaveLength(1);
  });

  it('retries a dropped connection as a network error', async () => {
    // Prepare
    const { server, notifier } = await setup([{ drop: true }]);

    // Act
    const outcome = await notifier.send(message(1));

    // Assess
    expect(outcome.ok).toBe(true);
    expect(outcome.attempts).toBe(2);
    expect(server.delivered()).toHaveLength(1);
  });

  it('stops after the bounded number of attempts and reports a retryable failure', async () => {
    // Prepare
    const { server, notifier } = await setup([], { maxAttempts: 3 });
    server.script([{ status: 500, body: 'internal' }, { status: 500 }, { status: 500, body: 'internal' }]);

    // Act
    const outcome = await notifier.send(message(1));

    // Assess
    expect(outcome).toMatchObject({ ok: false, status: 500, attempts: 3 });
    expect(outcome.permanent).toBeUndefined();
    expect(outcome.error).toMatch(/HTTP 500 internal \(gave up after 3 attempts\)/);
    expect(server.requests).toHaveLength(3);
  });

  it.each([
    [400, 'invalid_payload'],
    [403, 'invalid_token'],
    [404, 'channel_not_found'],
    [410, 'channel_is_archived'],
  ])('does not retry %i and reports it as permanent with Slack’s reason %s', async (status, reason) => {
    // Prepare
    const { server, notifier } = await setup([{ status, body: reason }]);

    // Act
    const outcome = await notifier.send(message(1));

    // Assess
    expect(outcome).toMatchObject({ ok: false, status, attempts: 1, permanent: true });
    expect(outcome.error).toContain(reason);
    expect(server.requests).toHaveLength(1);
  });

  it('keeps every message and its order through a mix of answers', async () => {
    // Prepare
    const { server, notifier } = await setup([
      { status: 200, body: 'ok' },
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 200, body: 'ok' },
      { status: 500 },
      { drop: true },
      { status: 200, body: 'ok' },
      { status: 404, body: 'channel_not_found' },
      { status: 200, body: 'ok' },
    ]);

    // Act
    const outcomes = [];
    for (let n = 1; n <= 5; n++) outcomes.push(await notifier.send(message(n)));

    // Assess
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true, false, true]);
    expect(server.delivered().map((b) => b.text)).toEqual([
      'message 1',
      'message 2',
      'message 3',
      'message 5',
    ]);
    expect(server.requests.map((r) => r.json?.text)).toEqual([
      'message 1',
      'message 2',
      'message 2',
      'message 3',
      'message 3',
      'message 3',
      'message 4',
      'message 5',
    ]);
  });

  it('never puts the webhook URL in an outcome, even when Slack or the network echoes it', async () => {
    // Prepare
    const { server, notifier } = await setup([], { maxAttempts: 2 });
    server.script([{ status: 404, body: `no such webhook ${server.path}` }]);

    // Act
    const echoed = await notifier.send(message(1));
    await server.close();
    const unreachable = await notifier.send(message(2));

    // Assess
    for (const outcome of [echoed, unreachable]) {
      expect(outcome.ok).toBe(false);
      expect(outcome.error).toMatch(/^slack webhook http:\/\/127\.0\.0\.1:\d+\/…/);
      expect(outcome.error).not.toContain('s3cr3t');
      expect(outcome.error).not.toContain('B0FAKE');
    }
    expect(unreachable.error).toMatch(/ECONNREFUSED/);
  });

  it('refuses a malformed webhook URL without repeating it', () => {
    // Act
    const attempt = () =>
      new SlackWebhookNotifier({ webhookUrl: 'hooks.slack.com/services/T/B/s3cr3t', name: 'ops' });

    // Assess
    expect(attempt).toThrow('slack webhook for ops: not a valid URL');
    expect(attempt).not.toThrow(/s3cr3t/);
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-03-01T00:00:00Z');

  it.each([
    ['seconds as Slack sends them', '30', 30_000],
    ['fractional seconds', '1.5', 1500],
    ['an HTTP date', 'Sun, 01 Mar 2026 00:00:10 GMT', 10_000],
    ['a date in the past as no wait', 'Sat, 28 Feb 2026 00:00:00 GMT', 0],
    ['garbage as unknown', 'soon', undefined],
    ['a missing header as unknown', undefined, undefined],
  ])('reads %s', (_name, value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('redactWebhookUrl', () => {
  it('keeps only the scheme and host', () => {
    expect(redactWebhookUrl('https://hooks.slack.com/services/T000/B000/XXXX')).toBe(
      'https://hooks.slack.com/…',
    );
  });
});

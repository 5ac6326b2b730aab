/**
 * The CLI's side of the notification outbox. Every command that produces events (`scan`, `run`,
 * `rotate`, `repair`, `upstream watch`) hands them to `notify`, which plans them (routes, silences,
 * digest) and records each message as pending in the state store before anything is sent; a drainer
 * beside the command sends what is due — this command's messages and whatever earlier commands left.
 *
 * Slack never holds a command up: once the command printed its results, it waits at most
 * `notifications.delivery.commandWait`, then stops (in-flight requests are aborted), prints
 * "N messages pending: <reason>" on stderr and exits. The pending messages stay in the outbox for the
 * next command. A notification that is not delivered never changes the exit code.
 */
import { outboxPolicy, webhookSettings } from '../config/views/delivery';
import type { Command } from 'commander';
import { SlackWebhookNotifier } from '../adapters/net/slack-webhook';
import { describeError } from '../domain/errors';
import { operatorChannel } from '../domain/notifications/routing';
import type { Notifier, OutgoingEvent } from '../domain/ports';
import { type Silence, liveSilences, silencesFromConfig } from '../domain/silences';
import { COLLECTIONS } from '../use-cases/certificate-state';
import { digestChannels, sendDueDigests } from '../use-cases/notify/digest';
import { type DrainReport, OutboxDispatcher, drainOutbox, pendingItems } from '../use-cases/notify/outbox';
import { recordNotifications, recordResolutions } from '../use-cases/notify/record';
import type { CliContext } from './context';
import type { Runtime } from './local-runtime';

export class CliNotifications {
  private readonly abort = new AbortController();
  private readonly notifiers: Map<string, Notifier>;
  private deadlineAt = Number.POSITIVE_INFINITY;
  private running: Promise<void> | undefined;
  private again = false;
  private silences: Promise<Silence[]> | undefined;
  private lastReport: DrainReport | undefined;
  private readonly problems: string[] = [];
  /**
   * The command's clock, advancing in real time even when the context's clock stands still (tests
   * that pin the time): pacing and retry waits need time to pass.
   */
  private readonly clock: () => Date;
  /** Channels found refusing for good in this command: probed once, not again. */
  private readonly broken = new Map<string, string>();

  constructor(
    private readonly runtime: Runtime,
    private readonly ctx: CliContext,
  ) {
    this.notifiers = localNotifiers(runtime, ctx, this.abort.signal);
    const base = ctx.clock().getTime();
    const realStart = Date.now();
    this.clock = () => new Date(Math.max(ctx.clock().getTime(), base + (Date.now() - realStart)));
  }

  /** True when at least one channel has a webhook here. */
  get enabled(): boolean {
    return this.notifiers.size > 0;
  }

  /** The channels with a webhook here. */
  get channels(): ReadonlyMap<string, Notifier> {
    return this.notifiers;
  }

  /**
   * Plans the events and records their messages in the outbox (pending), then lets the drainer send
   * them. Returns one line per message that could not even be recorded (the state store failed).
   */
  readonly notify = async (events: readonly OutgoingEvent[]): Promise<string[]> => {
    if (!this.enabled) return [];
    const config = this.runtime.config;
    const now = this.ctx.clock();
    this.silences ??= allSilences(this.runtime, now);
    const problems: string[] = [];
    try {
      // Inhibition, silences, digest, the outbox and resolution watches: the same use case as the
      // deployed scan jobs and notifier, for the channels with a webhook here.
      await recordNotifications(
        {
          store: this.runtime.state,
          config,
          silences: await this.silences,
          now,
          reachable: (channel) => this.notifiers.has(channel),
        },
        events,
      );
    } catch (error) {
      problems.push(`notification outbox: ${describeError(error)}`);
    }
    this.kick();
    return problems;
  };

  /** Starts (or re-runs) the drainer in the background. */
  kick(): void {
    if (!this.enabled || this.abort.signal.aborted) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        const config = this.runtime.config;
        const operator = operatorChannel(config.notifications);
        this.lastReport = await drainOutbox(
          {
            store: this.runtime.state,
            clock: this.clock,
            notifierFor: (channel) => this.notifiers.get(channel),
            ...(operator !== undefined ? { operatorChannel: operator } : {}),
            publish: (events) => this.runtime.publisher.publish(events),
            deadline: () => this.deadlineAt,
            signal: this.abort.signal,
            ...(config.notifications.runbookBaseUrl !== undefined
              ? { runbookBaseUrl: config.notifications.runbookBaseUrl }
              : {}),
            onProblem: (problem) => this.problems.push(problem),
            broken: this.broken,
          },
          outboxPolicy(config),
        );
      } catch (error) {
        this.problems.push(`notification outbox: ${describeError(error)}`);
      }
    } while (this.again && !this.abort.signal.aborted);
  }

  /**
   * Waits at most `commandWait` for what is due, then stops and says what is left. Returns the number
   * of messages still pending.
   */
  async finish(): Promise<number> {
    if (!this.enabled) return 0;
    const started = Date.now();
    const waitMs = this.runtime.config.notifications.delivery.commandWait;
    try {
      // Critical alerts whose places all serve another certificate now are resolved.
      await recordResolutions(this.runtime.state, this.clock(), (channel) => this.notifiers.has(channel));
    } catch (error) {
      this.problems.push(`resolution: ${describeError(error)}`);
    }
    this.deadlineAt = this.clock().getTime() + waitMs;
    this.kick();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.running ?? Promise.resolve(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs))),
    ]);
    clearTimeout(timer);
    this.abort.abort();
    await this.running;
    let pending = 0;
    let reasons: readonly string[] = this.lastReport?.reasons ?? [];
    try {
      pending = (await pendingItems({ store: this.runtime.state, clock: this.ctx.clock })).filter((i) =>
        this.notifiers.has(i.value.channel),
      ).length;
    } catch (error) {
      reasons = [`outbox unreadable: ${describeError(error)}`];
    }
    const waited = Date.now() - started;
    this.ctx.verbose?.(`notifications: waited ${waited} ms of ${waitMs} ms; ${pending} pending`);
    if (pending > 0) {
      this.ctx.err(
        `${pending} message${pending === 1 ? '' : 's'} pending: ${reasons.join('; ') || 'not sent yet'} ` +
          `(kept in the outbox; the next certrotor command sends ${pending === 1 ? 'it' : 'them'}; waited ${(waited / 1000).toFixed(1)}s of ${waitMs / 1000}s)`,
      );
    }
    for (const problem of this.problems.splice(0)) this.ctx.verbose?.(`notification: ${problem}`);
    return pending;
  }
}

/** The notifications of the command running in each context; finished after its action. */
const active = new WeakMap<CliContext, CliNotifications[]>();

/** The outbox side for a command; it is finished (bounded wait, pending line) after the command's action. */
export function cliNotifications(runtime: Runtime, ctx: CliContext): CliNotifications {
  const notifications = new CliNotifications(runtime, ctx);
  const list = active.get(ctx) ?? [];
  list.push(notifications);
  active.set(ctx, list);
  return notifications;
}

/** Finishes every outbox side the command created (call once its results are printed). */
export async function finishNotifications(ctx: CliContext): Promise<void> {
  const list = active.get(ctx) ?? [];
  active.delete(ctx);
  for (const notifications of list) await notifications.finish();
}

/** Registers the post-action step on the root program: after any command, its messages get their bounded wait. */
export function registerNotificationFinish(program: Command, ctx: CliContext): void {
  program.hook('postAction', async () => {
    await finishNotifications(ctx);
  });
}

/** A Slack notifier for each channel whose webhook URL is in the environment. */
export function localNotifiers(
  runtime: Runtime,
  ctx: CliContext,
  signal?: AbortSignal,
): Map<string, Notifier> {
  const notifiers = new Map<string, Notifier>();
  for (const channel of runtime.config.notifications.channels) {
    const url = channel.webhook.env ? ctx.env[channel.webhook.env] : undefined;
    if (url) {
      notifiers.set(
        channel.name,
        new SlackWebhookNotifier({
          webhookUrl: url,
          name: channel.name,
          ...webhookSettings(runtime.config),
          // The outbox retries (with its backoff kept across runs); one request per attempt here.
          maxAttempts: 1,
          env: ctx.env,
          ...(signal ? { signal } : {}),
        }),
      );
    }
  }
  return notifiers;
}

export async function allSilences(runtime: Runtime, now: Date): Promise<Silence[]> {
  const stored = await runtime.state.list<Silence>(COLLECTIONS.silences, now);
  return liveSilences([...silencesFromConfig(runtime.config.silences), ...stored.map((s) => s.value)], now);
}

/**
 * Sends every channel's digest that is due (at most one per channel and schedule occurrence, however
 * often certrotor runs) through the outbox; returns one line per problem. Channels without a webhook
 * are skipped.
 */
export async function sendLocalDigests(
  runtime: Runtime,
  ctx: CliContext,
  notifiers: ReadonlyMap<string, Notifier> = localNotifiers(runtime, ctx),
): Promise<string[]> {
  if (!runtime.config.notifications.digest.enabled || notifiers.size === 0) return [];
  const report = await sendDueDigests(
    { store: runtime.state, clock: ctx.clock, dispatcher: new OutboxDispatcher(runtime.state, ctx.clock) },
    {
      ...runtime.config,
      notifications: {
        ...runtime.config.notifications,
        digest: {
          ...runtime.config.notifications.digest,
          channels: digestChannels(runtime.config).filter((c) => notifiers.has(c)),
        },
      },
    },
  );
  return [
    ...report.problems.map((p) => `${p.channel}: ${p.kind}: ${p.error}`),
    ...report.channels
      .filter((c) => c.status === 'failed' && !report.problems.some((p) => p.channel === c.channel))
      .map((c) => `${c.channel}: digest: ${c.error ?? 'not delivered'}`),
  ];
}

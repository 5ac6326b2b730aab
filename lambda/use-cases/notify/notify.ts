/**
 * Delivers chat messages without ever failing the caller. Primary course: for each delivery, in order
 * per channel, claim its deduplication key (when it has one), send it through that channel's notifier,
 * and report the outcome. A channel that answers with a permanent error (a deleted channel, a revoked
 * webhook) is not tried again in the same dispatch; each broken channel raises ONE operator problem,
 * through the fallback notifier (another channel) and the `onProblem` callback (a log line and a metric).
 *
 * Retryable failures (Slack down, rate limits beyond patience) are returned in `retryable`, so that the
 * caller can hand them to its dead-letter path; they are never dropped silently.
 */
import { describeError } from '../../domain/errors';
import {
  type ChatMessage,
  type Clock,
  ConditionFailedError,
  type DeliveryOutcome,
  type Notifier,
  type StateStore,
} from '../../domain/ports';
import { buildDeliveryProblemMessage } from '../../domain/notifications/delivery-problem-message';

export interface Delivery {
  /** Names the message in reports (e.g. the event id or its deduplication key). */
  readonly id: string;
  /** Channel name from configuration (see notification-routing). */
  readonly channel: string;
  readonly message: ChatMessage;
  /**
   * When set, the delivery is claimed in the state store under `channel` + this key before sending and
   * skipped when already claimed: an event delivered twice (at-least-once sources) posts once. A failed
   * send releases the claim so that a retry can post.
   */
  readonly dedupeKey?: string;
}

export type DeliveryStatus =
  /** Posted. */
  | 'sent'
  /** Already posted earlier (deduplication key claimed). */
  | 'duplicate'
  /** Not posted; see `outcome`. */
  | 'failed'
  /** Not attempted: an earlier message showed the channel is permanently broken. */
  | 'skipped'
  /** No notifier is configured for the channel. */
  | 'no-channel';

export interface DeliveryReport {
  readonly id: string;
  readonly channel: string;
  readonly status: DeliveryStatus;
  readonly outcome?: DeliveryOutcome;
}

export type NotificationProblemKind =
  /** The channel refused for good (400/403/404/410): an operator must fix configuration. */
  | 'permanent'
  /** Retries exhausted: the messages go to the dead-letter path. */
  | 'undelivered'
  /** A delivery named a channel nobody configured. */
  | 'no-channel'
  /** The operator alert itself could not be delivered. */
  | 'fallback-failed'
  /** The deduplication store failed; the message was sent anyway (a duplicate beats a loss). */
  | 'dedupe-store';

export interface NotificationProblem {
  readonly kind: NotificationProblemKind;
  readonly channel: string;
  /** One line, safe to log (no webhook URL: notifiers redact it). */
  readonly error: string;
  readonly status?: number;
  /** Ids of the deliveries affected. */
  readonly deliveries: readonly string[];
}

export interface DispatchReport {
  readonly deliveries: readonly DeliveryReport[];
  readonly sent: number;
  readonly duplicates: number;
  /** failed + skipped + no-channel */
  readonly failed: number;
  /** Failed for a transient reason: the caller's dead-letter path should keep these. */
  readonly retryable: readonly Delivery[];
  readonly problems: readonly NotificationProblem[];
}

export interface NotificationDispatcherOptions {
  /** The notifier for a channel name, or undefined when none is configured. */
  readonly notifierFor: (channel: string) => Notifier | undefined;
  /** Another channel for operator problems. Never used to report a problem with itself. */
  readonly fallback?: Notifier;
  /** Called once per problem (log it, count it as a metric). Exceptions from it are ignored. */
  readonly onProblem?: (problem: NotificationProblem) => void;
  /** Enables `Delivery.dedupeKey`. */
  readonly dedupe?: {
    readonly store: StateStore;
    readonly clock: Clock;
    /** How long a claim is kept. @default 400 days (longer than any certificate's last threshold) */
    readonly retainMs?: number;
  };
  /** Time for operator messages: the composition root's clock. */
  readonly clock: Clock;
}

/** The state store collection holding claimed notification keys. */
export const NOTIFICATIONS_COLLECTION = 'notifications';

const DEFAULT_RETAIN_MS = 400 * 86_400_000;
/** Statuses that mean the channel itself is gone or refuses us; 400 is about one message only. */
const CHANNEL_BROKEN_STATUSES = new Set([401, 403, 404, 410]);

export class NotificationDispatcher {
  constructor(private readonly options: NotificationDispatcherOptions) {}

  /** Sends every delivery; never throws. Channels proceed in parallel, each in the given order. */
  async dispatch(deliveries: readonly Delivery[]): Promise<DispatchReport> {
    const reports = new Array<DeliveryReport>(deliveries.length);
    const problems: NotificationProblem[] = [];
    const retryable: Delivery[] = [];

    const lanes = new Map<string, number[]>();
    deliveries.forEach((delivery, index) => {
      const lane = lanes.get(delivery.channel);
      if (lane) lane.push(index);
      else lanes.set(delivery.channel, [index]);
    });

    await Promise.all(
      [...lanes.entries()].map(async ([channel, indexes]) => {
        const laneProblems = await this.runLane(channel, indexes, deliveries, reports, retryable);
        problems.push(...laneProblems);
      }),
    );

    const headlines = new Map(deliveries.map((d) => [d.id, d.message.text.split('\n')[0] ?? d.id]));
    for (const problem of [...problems]) await this.reportProblem(problem, problems, headlines);

    const count = (status: DeliveryStatus) => reports.filter((r) => r.status === status).length;
    return {
      deliveries: reports,
      sent: count('sent'),
      duplicates: count('duplicate'),
      failed: reports.length - count('sent') - count('duplicate'),
      retryable: deliveries.filter((d) => retryable.includes(d)),
      problems,
    };
  }

  private async runLane(
    channel: string,
    indexes: readonly number[],
    deliveries: readonly Delivery[],
    reports: DeliveryReport[],
    retryable: Delivery[],
  ): Promise<NotificationProblem[]> {
    const problems: NotificationProblem[] = [];
    let notifier: Notifier | undefined;
    try {
      notifier = this.options.notifierFor(channel);
    } catch {
      notifier = undefined;
    }
    if (!notifier) {
      for (const index of indexes)
        reports[index] = { id: deliveries[index]!.id, channel, status: 'no-channel' };
      problems.push({
        kind: 'no-channel',
        channel,
        error: `notification channel "${channel}" has no notifier configured`,
        deliveries: indexes.map((i) => deliveries[i]!.id),
      });
      return problems;
    }

    let broken:
      { outcome: DeliveryOutcome; problem: NotificationProblem & { deliveries: string[] } } | undefined;
    const messageErrors: (NotificationProblem & { deliveries: string[] })[] = [];
    const undelivered: (NotificationProblem & { deliveries: string[] })[] = [];

    for (const index of indexes) {
      const delivery = deliveries[index]!;
      if (broken) {
        reports[index] = { id: delivery.id, channel, status: 'skipped', outcome: broken.outcome };
        broken.problem.deliveries.push(delivery.id);
        continue;
      }
      const claim = await this.claim(delivery);
      if (claim === 'duplicate') {
        reports[index] = { id: delivery.id, channel, status: 'duplicate' };
        continue;
      }
      if (claim instanceof Error) {
        problems.push({
          kind: 'dedupe-store',
          channel,
          error: `claiming ${delivery.dedupeKey} for channel ${channel}: ${describeError(claim)}`,
          deliveries: [delivery.id],
        });
      }

      const outcome = await sendSafely(notifier, delivery.message);
      if (outcome.ok) {
        reports[index] = { id: delivery.id, channel, status: 'sent', outcome };
        continue;
      }
      reports[index] = { id: delivery.id, channel, status: 'failed', outcome };
      if (claim === 'claimed') await this.release(delivery);
      const base = {
        channel,
        error: outcome.error ?? 'delivery failed',
        ...(outcome.status !== undefined ? { status: outcome.status } : {}),
        deliveries: [delivery.id],
      };
      if (!outcome.permanent) {
        retryable.push(delivery);
        const same = undelivered.find((p) => p.error === base.error);
        if (same) same.deliveries.push(delivery.id);
        else undelivered.push({ kind: 'undelivered', ...base });
      } else if (outcome.status !== undefined && CHANNEL_BROKEN_STATUSES.has(outcome.status)) {
        broken = { outcome, problem: { kind: 'permanent', ...base } };
      } else {
        const same = messageErrors.find((p) => p.error === base.error);
        if (same) same.deliveries.push(delivery.id);
        else messageErrors.push({ kind: 'permanent', ...base });
      }
    }
    return [...problems, ...(broken ? [broken.problem] : []), ...messageErrors, ...undelivered];
  }

  private async claim(delivery: Delivery): Promise<'claimed' | 'duplicate' | 'none' | Error> {
    const dedupe = this.options.dedupe;
    if (!dedupe || delivery.dedupeKey === undefined) return 'none';
    const now = dedupe.clock();
    try {
      await dedupe.store.put(
        NOTIFICATIONS_COLLECTION,
        claimId(delivery),
        { id: delivery.id, channel: delivery.channel, at: now.toISOString() },
        now,
        { ifAbsent: true, expiresAt: new Date(now.getTime() + (dedupe.retainMs ?? DEFAULT_RETAIN_MS)) },
      );
      return 'claimed';
    } catch (error) {
      if (error instanceof ConditionFailedError) return 'duplicate';
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private async release(delivery: Delivery): Promise<void> {
    try {
      await this.options.dedupe?.store.delete(NOTIFICATIONS_COLLECTION, claimId(delivery));
    } catch {
      // A claim that outlives a failed send only risks a missed repeat; the failure itself is reported.
    }
  }

  private async reportProblem(
    problem: NotificationProblem,
    all: NotificationProblem[],
    headlines: ReadonlyMap<string, string>,
  ): Promise<void> {
    this.callback(problem);
    if (problem.kind !== 'permanent' && problem.kind !== 'no-channel') return;
    const fallback = this.options.fallback;
    if (!fallback) return;
    let brokenNotifier: Notifier | undefined;
    try {
      brokenNotifier = this.options.notifierFor(problem.channel);
    } catch {
      brokenNotifier = undefined;
    }
    // The broken channel cannot carry news of its own breakage.
    if (brokenNotifier === fallback) return;
    const message = buildDeliveryProblemMessage({
      channel: problem.channel,
      error: problem.error,
      ...(problem.status !== undefined ? { status: problem.status } : {}),
      undelivered: problem.deliveries.map((id) => headlines.get(id) ?? id),
      now: this.options.clock(),
    });
    const outcome = await sendSafely(fallback, message);
    if (!outcome.ok) {
      const failed: NotificationProblem = {
        kind: 'fallback-failed',
        channel: fallback.name,
        error: `operator alert about channel ${problem.channel} not delivered: ${outcome.error ?? 'failed'}`,
        ...(outcome.status !== undefined ? { status: outcome.status } : {}),
        deliveries: problem.deliveries,
      };
      all.push(failed);
      this.callback(failed);
    }
  }

  private callback(problem: NotificationProblem): void {
    try {
      this.options.onProblem?.(problem);
    } catch {
      // Reporting a problem must not become one.
    }
  }
}

function claimId(delivery: Delivery): string {
  return `${delivery.channel}:${delivery.dedupeKey}`;
}

/** A notifier that throws is a failed delivery, not a failed caller. */
async function sendSafely(notifier: Notifier, message: ChatMessage): Promise<DeliveryOutcome> {
  try {
    return await notifier.send(message);
  } catch (error) {
    return { ok: false, attempts: 1, error: `${notifier.name}: ${describeError(error)}` };
  }
}

/**
 * The message operators get when notification delivery itself fails (a dead webhook, retries exhausted).
 */
import type { ChatMessage } from '../ports';
import {
  type Block,
  bold,
  code,
  enforceLimits,
  escapeText,
  formatTime,
  header,
  listSection,
  plural,
  section,
} from './slack-blocks';
import { runbookUrlFor } from './event-message';

// ---------------------------------------------------------------------------------------------
// Operator problems with notification delivery itself
// ---------------------------------------------------------------------------------------------

export interface DeliveryProblemInput {
  readonly channel: string;
  /** One line, already free of the webhook URL. */
  readonly error: string;
  readonly status?: number;
  /** Headlines (fallback text first lines) of the messages not delivered. */
  readonly undelivered: readonly string[];
  readonly now: Date;
  readonly runbookBaseUrl?: string;
}

/** The operator alert sent through another channel when a channel refuses messages for good. */
export function buildDeliveryProblemMessage(input: DeliveryProblemInput): ChatMessage {
  const runbook = input.runbookBaseUrl
    ? runbookUrlFor('Notification Delivery Failed', {}, input.runbookBaseUrl)
    : undefined;
  const title = `Notifications to ${input.channel} are failing`;
  const blocks: Block[] = [
    header(title),
    section(
      `:x: Channel ${bold(input.channel)} refused ${plural(input.undelivered.length, 'message')}${input.status !== undefined ? ` with HTTP ${input.status}` : ''}: ${escapeText(input.error)}`,
    ),
    listSection(
      `*Not delivered* (${input.undelivered.length})`,
      input.undelivered.map((h) => `• ${escapeText(h)}`),
      15,
    ),
    section(
      `*What to do*\nFix the webhook for ${bold(input.channel)}: the channel was deleted or archived, or the webhook revoked. Create a new incoming webhook, update its secret, and re-run ${code('certrotor scan')} to resend.`,
    ),
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `${escapeText(formatTime(input.now.toISOString()))}${runbook ? ` · Runbook: <${runbook}|notification delivery>` : ''}`,
        },
      ],
    },
  ];
  return enforceLimits({
    text: `[error] ${title}: ${input.error} (${plural(input.undelivered.length, 'message')} not delivered)`,
    blocks,
  });
}

/**
 * Generates docs/slack-messages.md: every Slack message certrotor posts, built by the real formatter
 * (lambda/domain/notifications/) from the event catalogue's examples and routed through the real
 * routing (lambda/domain/notification-routing.ts) with the configuration printed in the document.
 * test/domain/slack-docs.test.ts compares the file with what this module renders and checks every
 * message against Slack's limits; `UPDATE_DOCS=1 npx jest test/domain/slack-docs.test.ts` rewrites it.
 *
 * Time is fixed per example (never the wall clock) so the document only changes when the messages do.
 */
import { stringify } from 'yaml';
import { DAY_MS } from '../lambda/domain/certificate';
import { validateConfig } from '../lambda/config/configuration';
import { HOUR_MS } from '../lambda/domain/duration';
import {
  type CatalogueEvent,
  DETAIL_TYPES,
  type DetailTypeName,
  type EventDetail,
  catalogue,
  parseDetail,
} from '../lambda/domain/events';
import {
  type RoutingConfig,
  heldForDigest,
  messageOptionsFor,
  routeEvent,
} from '../lambda/domain/notifications/routing';
import type { ChatMessage } from '../lambda/domain/ports';
import {
  type DigestItem,
  buildDigest,
  digestItemFromEvent,
} from '../lambda/domain/notifications/digest-message';
import { SLACK_LIMITS } from '../lambda/domain/notifications/slack-blocks';
import { buildDeliveryProblemMessage } from '../lambda/domain/notifications/delivery-problem-message';
import { buildSlackMessage } from '../lambda/domain/notifications/event-message';

export const SLACK_DOCS_PATH = 'docs/slack-messages.md';
export const SLACK_DOCS_HINT = 'UPDATE_DOCS=1 npx jest test/domain/slack-docs.test.ts';

type EventLike = Pick<CatalogueEvent, 'detailType' | 'detail'>;

/** One message as the document shows it. */
export interface SlackDocExample {
  /** Heading (also the anchor). */
  readonly title: string;
  /** One or two sentences: what it shows and where it goes. */
  readonly about: string;
  readonly renderedAt: Date;
  readonly message: ChatMessage;
  /** Set for the catalogue examples. */
  readonly detailType?: DetailTypeName;
}

export interface SlackDocSection {
  readonly title: string;
  readonly intro: string;
  readonly examples: readonly SlackDocExample[];
}

// ---------------------------------------------------------------------------------------------
// The configuration every example is routed with
// ---------------------------------------------------------------------------------------------

const RUNBOOK_BASE = 'https://runbooks.example.com/certrotor';

/** The notifications section used for every example (as in config/certrotor.example.yaml). */
export const DOCS_NOTIFICATIONS = {
  channels: [
    {
      name: 'platform-alerts',
      kind: 'slack',
      webhook: { env: 'SLACK_WEBHOOK_URL', parameter: '/certrotor/slack/platform' },
      mention: '<!subteam^S0PLATFORM>',
    },
    {
      name: 'payments-alerts',
      kind: 'slack',
      webhook: { env: 'PAYMENTS_SLACK_WEBHOOK_URL', parameter: '/certrotor/slack/payments' },
    },
  ],
  defaultChannel: 'platform-alerts',
  operatorChannel: 'platform-alerts',
  routes: [{ owner: 'payments', channel: 'payments-alerts', mention: '<!subteam^S0PAYMENTS>' }],
  runbookBaseUrl: RUNBOOK_BASE,
  escalation: { mentionAtDays: 3, mention: '<!here>' },
  digest: { enabled: true, schedule: 'cron(0 8 ? * MON-FRI *)', timeZone: 'Europe/Paris', horizon: '30d' },
} as const;

function docsConfig(): RoutingConfig {
  return validateConfig(
    {
      version: 1,
      environments: [{ name: 'prod-eu' }, { name: 'prod-us' }, { name: 'staging' }],
      notifications: DOCS_NOTIFICATIONS,
    },
    'the slack-messages documentation example',
  );
}

// ---------------------------------------------------------------------------------------------
// Events: the catalogue examples, at a moment that agrees with their days left
// ---------------------------------------------------------------------------------------------

/** Hours past a whole day, so that "13 days left" reads as the event's `daysLeft: 13`. */
const PAST_THE_DAY_MS = 3 * HOUR_MS;

interface TimedDetail {
  readonly occurredAt: string;
  readonly daysLeft?: number;
  readonly hoursLeft?: number;
  readonly expiredAt?: string;
  readonly announcement?: { readonly deadline: string };
  readonly certificate?: { readonly notAfter?: string };
}

/**
 * When the example is rendered: the moment its `daysLeft`/`hoursLeft` are true (the catalogue's
 * `occurredAt` is shared by every example, so alone it would make some time-left texts disagree).
 */
function momentOf(detail: TimedDetail): Date {
  const deadline = detail.announcement?.deadline;
  if (detail.hoursLeft !== undefined && deadline)
    return new Date(Date.parse(deadline) - detail.hoursLeft * HOUR_MS);
  const reference = detail.expiredAt ?? deadline ?? detail.certificate?.notAfter;
  if (detail.daysLeft !== undefined && reference)
    return new Date(Date.parse(reference) - detail.daysLeft * DAY_MS - PAST_THE_DAY_MS);
  return new Date(detail.occurredAt);
}

/**
 * The catalogue example of `type`, validated, emitted at the moment it describes. Its own `runbookUrl`
 * is dropped (the catalogue shares one link between all examples) so the configured base applies.
 */
function catalogueEvent<T extends DetailTypeName>(
  type: T,
  overrides: Partial<EventDetail<T>> = {},
): { event: EventLike; now: Date } {
  const { runbookUrl: _shared, ...example } = catalogue[type].example as EventDetail<T> & {
    runbookUrl?: string;
  };
  const draft = { ...example, ...overrides };
  const now = momentOf(draft as unknown as TimedDetail);
  const detail = parseDetail(type, { ...draft, occurredAt: now.toISOString() });
  return { event: { detailType: type, detail } as EventLike, now };
}

function code(text: string): string {
  const fence = text.includes('`') ? '``' : '`';
  return `${fence}${text.includes('`') ? ` ${text} ` : text}${fence}`;
}

/** Routes `event` with the example configuration and builds the message exactly as the notifier would. */
function routed(
  config: RoutingConfig,
  title: string,
  { event, now }: { event: EventLike; now: Date },
  lead = '',
): SlackDocExample {
  const decision = routeEvent(event, config);
  const options = messageOptionsFor(decision, config, now);
  const message = buildSlackMessage(event, options);
  const channel = decision.channel ?? '(no channel)';
  const escalated = options.ownerMention !== undefined && message.text.startsWith(options.ownerMention);
  const facts = [
    `Posted to ${code(channel)} (${decision.reason === 'defaultChannel' ? 'the default channel' : `matched ${code(`notifications.${decision.reason}`)}`})`,
    escalated
      ? `escalated: mentions ${code(options.ownerMention ?? '')}`
      : `not escalated (no mention until ${config.notifications.escalation.mentionAtDays} days left)`,
  ];
  const held = heldForDigest(event, channel, config, now)
    ? ` With the digest enabled (as configured here) this routine alert waits for the [daily digest](#daily-digest) instead; this is the message sent when it is disabled or once the alert escalates.`
    : '';
  return {
    title,
    about: `${lead}${facts.join('; ')}.${held}`,
    renderedAt: now,
    message,
    detailType: event.detailType,
  };
}

// ---------------------------------------------------------------------------------------------
// Longest realistic lists
// ---------------------------------------------------------------------------------------------

const FAILURE_REASONS = [
  'still serves 3F2A9C11D47E after reload',
  'health check failed: connection refused on :8443',
  'SSH timed out after 30s',
  'nginx -t failed: SSL_CTX_use_PrivateKey_file: key values mismatch',
  'agent did not report within 10 minutes',
] as const;

/** A fleet-wide rotation failing at verification on 40 of 120 hosts, not rolled back: the longest list. */
function rotationFailedAtScale(): { event: EventLike; now: Date } {
  const failedHosts = Array.from({ length: 40 }, (_, i) => ({
    target: `checkout-${String(i * 3 + 1).padStart(3, '0')}.${i % 2 === 0 ? 'eu' : 'us'}.example.com`,
    environment: i % 2 === 0 ? 'prod-eu' : 'prod-us',
    destination: 'checkout-fleet',
    reason: FAILURE_REASONS[i % FAILURE_REASONS.length] as string,
  }));
  return catalogueEvent('Rotation Failed', {
    owner: 'payments',
    environments: ['prod-eu', 'prod-us'],
    dedupeKey: 'rotation-failed:checkout-edge/20260226T090000Z',
    rotation: {
      id: 'checkout-edge/20260226T090000Z',
      name: 'checkout-edge',
      version: '20260226T090000Z',
      trigger: 'schedule',
    },
    certificate: { ...catalogue['Rotation Failed'].example.certificate!, name: 'checkout-edge' },
    previous: { ...catalogue['Rotation Failed'].example.previous!, name: 'checkout-edge' },
    stage: 'verify',
    error: '40 of 120 hosts did not serve the new certificate before the verification deadline',
    failedHosts,
    convergencePercent: 66.7,
    rolledBack: false,
  });
}

const TEAMS = [
  { owner: 'platform', count: 80, env: 'prod-eu' },
  { owner: 'search', count: 50, env: 'prod-us' },
  { owner: 'identity', count: 40, env: 'prod-eu' },
  { owner: 'data', count: 30, env: 'staging' },
] as const;

/** 200 certificates, all expiring within a week, owned by four teams that share one channel. */
function manyExpiringSoon(now: Date): DigestItem[] {
  const items: DigestItem[] = [];
  let n = 0;
  for (const team of TEAMS) {
    for (let i = 0; i < team.count; i++, n++) {
      // Spread over the week, hour by hour, so every bucket up to seven days has entries.
      const remaining = ((n * 37) % (7 * 24)) * HOUR_MS + 30 * 60_000;
      items.push({
        title: `${team.owner}-svc-${String(i + 1).padStart(3, '0')}.example.com`,
        kind: 'Certificate Expiring',
        expiresAt: new Date(now.getTime() + remaining).toISOString(),
        environments: [team.env],
        owner: team.owner,
        severity: remaining <= 3 * DAY_MS ? 'critical' : 'warning',
      });
    }
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// Digests
// ---------------------------------------------------------------------------------------------

/** Monday 2 March 2026, 08:00 in Europe/Paris: when the configured digest runs. */
const DIGEST_AT = new Date('2026-03-02T07:00:00.000Z');

function mentionFor(config: RoutingConfig, channel: string) {
  const n = config.notifications;
  return (owner: string) =>
    n.routes.find((r) => r.owner === owner && r.channel === channel)?.mention ??
    n.channels.find((c) => c.name === channel)?.mention ??
    n.escalation.mention;
}

function digestOptions(config: RoutingConfig, channel: string, horizon: string, now: Date) {
  return {
    horizon,
    now,
    channel,
    escalateAtDays: config.notifications.escalation.mentionAtDays,
    mentionFor: mentionFor(config, channel),
    runbookBaseUrl: RUNBOOK_BASE,
  };
}

/** A typical Monday digest for one channel: held catalogue alerts plus the week's other certificates. */
function dailyDigest(config: RoutingConfig): SlackDocExample {
  const held = (['Certificate Expiring', 'Upstream Rotation Announced'] as const).map(
    (type) => catalogueEvent(type).event,
  );
  const at = (days: number, hours = 0) =>
    new Date(DIGEST_AT.getTime() + days * DAY_MS + hours * HOUR_MS).toISOString();
  const items: DigestItem[] = [
    ...held.map(digestItemFromEvent),
    {
      title: 'grafana.internal.example.com',
      kind: 'Certificate Expiring',
      expiresAt: at(2, 5),
      environments: ['prod-eu'],
      owner: 'observability',
      severity: 'critical',
    },
    {
      title: 'sso.example.com',
      kind: 'Certificate Expiring',
      expiresAt: at(5, 2),
      environments: ['prod-eu', 'prod-us'],
      owner: 'identity',
      severity: 'warning',
    },
    {
      title: 'search-api',
      kind: 'Renewal Due',
      expiresAt: at(9),
      environments: ['prod-us'],
      owner: 'search',
      severity: 'info',
    },
    {
      title: 'legacy-ftp.example.com',
      kind: 'Certificate Expired',
      expiresAt: at(-3),
      environments: ['staging'],
      owner: 'platform',
      severity: 'critical',
    },
    {
      title: 'kafka-broker-mtls',
      kind: 'Certificate Expiring',
      expiresAt: at(21),
      environments: ['prod-eu', 'prod-us', 'staging'],
      owner: 'data',
      severity: 'info',
    },
    {
      title: 'internal-api:8443',
      kind: 'Endpoint Problem Detected',
      environments: ['staging'],
      owner: 'platform',
      severity: 'error',
    },
  ];
  return {
    title: 'Daily digest',
    about: `The weekday digest for ${code('platform-alerts')} (${code('notifications.digest')} above: horizon 30 days, 08:00 Europe/Paris). Items are grouped by time left, then by owner; owners with anything at or under ${config.notifications.escalation.mentionAtDays} days left are mentioned.`,
    renderedAt: DIGEST_AT,
    message: buildDigest(items, digestOptions(config, 'platform-alerts', '30d', DIGEST_AT)),
  };
}

function longestDigest(config: RoutingConfig): SlackDocExample {
  const items = manyExpiringSoon(DIGEST_AT);
  return {
    title: 'Digest of 200 certificates expiring within a week',
    about: `${items.length} certificates of four teams, all routed to ${code('platform-alerts')}, all expiring within 7 days: one message. Each time bucket gives every owner a share of its 3,000 characters and ends its list with a count of what is not shown.`,
    renderedAt: DIGEST_AT,
    message: buildDigest(items, digestOptions(config, 'platform-alerts', '7d', DIGEST_AT)),
  };
}

// ---------------------------------------------------------------------------------------------
// Operator alert
// ---------------------------------------------------------------------------------------------

/** What the notifier sends through the operator channel when another channel refuses messages for good. */
function deliveryProblem(config: RoutingConfig): SlackDocExample {
  const expiring = catalogueEvent('Certificate Expiring', { owner: 'payments' });
  const failed = rotationFailedAtScale();
  const undelivered = [expiring, failed].map(({ event, now }) => {
    const decision = routeEvent(event, config);
    return buildSlackMessage(event, messageOptionsFor(decision, config, now)).text.split('\n')[0] ?? '';
  });
  const now = new Date('2026-03-01T09:00:05.000Z');
  return {
    title: 'Operator alert: a channel refuses messages',
    about: `Sent by the notifier to ${code('notifications.operatorChannel')} (${code('platform-alerts')}) when a webhook answers 400, 403, 404 or 410: here ${code('payments-alerts')} was archived. The broken channel never carries news of its own breakage. The same problem is also published as a [Notification Delivery Failed](#notification-delivery-failed) event.`,
    renderedAt: now,
    message: buildDeliveryProblemMessage({
      channel: 'payments-alerts',
      error: 'Slack answered 404 channel_not_found',
      status: 404,
      undelivered,
      now,
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

export function slackDocSections(): SlackDocSection[] {
  const config = docsConfig();
  const perType = DETAIL_TYPES.map((type) =>
    routed(config, type, catalogueEvent(type), `${catalogue[type].emittedWhen} `),
  );
  const escalatedExpiring = routed(
    config,
    'Certificate Expiring, escalated',
    catalogueEvent('Certificate Expiring', {
      dedupeKey: catalogue['Certificate Expiring'].example.dedupeKey.replace(/:14d$/, ':3d'),
      severity: 'critical',
      daysLeft: 2,
      threshold: 3,
      summary: 'api.example.com expires in 2 days (also in staging)',
    }),
    'The same certificate two days before expiry: it crossed the 3-day threshold, so the owner group is mentioned and the message is sent at once, digest or not. ',
  );
  const [first, ...rest] = perType;
  return [
    {
      title: 'One message per detail type',
      intro:
        "Each example is the event catalogue's example detail (the one in [docs/events.md](events.md)), routed with the configuration above and rendered at the moment its days left are true.",
      examples: [...(first ? [first, escalatedExpiring] : []), ...rest],
    },
    {
      title: 'Digests',
      intro: `With ${code('notifications.digest.enabled')}, routine alerts (Certificate Expiring, Renewal Due, Upstream Rotation Announced, Upstream Rotation Deadline Approaching) more than ${config.notifications.escalation.mentionAtDays} days away are held and sent as one message per channel on the digest schedule. Escalations never wait for the digest.`,
      examples: [dailyDigest(config)],
    },
    {
      title: 'Longest realistic lists',
      intro: `Messages stay within Slack's limits whatever the input: at most ${SLACK_LIMITS.blocks} blocks, ${SLACK_LIMITS.sectionText.toLocaleString('en-US')} characters per section text, ${SLACK_LIMITS.fields} fields per section, ${SLACK_LIMITS.headerText} characters per header. Long lists show their first entries and end with "…and N more".`,
      examples: [
        routed(
          config,
          'Rotation Failed on 40 hosts',
          rotationFailedAtScale(),
          'A fleet rotation owned by the payments team failed verification on 40 of 120 hosts and was not rolled back. ',
        ),
        longestDigest(config),
      ],
    },
    {
      title: 'Problems with notifications themselves',
      intro: 'certrotor tells an operator when it cannot tell anyone else.',
      examples: [deliveryProblem(config)],
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Plain-text rendering: roughly what Slack shows
// ---------------------------------------------------------------------------------------------

const EMOJI: Readonly<Record<string, string>> = {
  ':information_source:': 'ℹ️',
  ':warning:': '⚠️',
  ':x:': '❌',
  ':rotating_light:': '🚨',
  ':white_check_mark:': '✅',
  ':grey_question:': '❔',
};

function unescape(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Slack mrkdwn to the text a reader sees: links as `label (url)`, mentions as `@…`, no markup. */
export function mrkdwnToPlain(text: string): string {
  return text
    .split(/(`[^`\n]*`)/)
    .map((part, i) => {
      if (i % 2 === 1) return unescape(part.slice(1, -1));
      return unescape(
        part
          .replace(/<!subteam\^[^|>]+\|([^>]+)>/g, '$1')
          .replace(/<!subteam\^([^|>]+)>/g, '@subteam^$1')
          .replace(/<!(here|channel|everyone)>/g, '@$1')
          .replace(/<@([A-Z0-9]+)>/g, '@$1')
          .replace(/<(https?:[^|>]+)\|([^>]+)>/g, (_, url: string, label: string) =>
            url.startsWith(label.replace(/…$/, '')) ? label : `${label} (${url})`,
          )
          .replace(/<(https?:[^>]+)>/g, '$1')
          .replace(/(^|[\s(])\*([^*\n]+)\*/g, '$1$2')
          .replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,;:])/g, '$1$2')
          .replace(/:[a-z_]+:/g, (name) => EMOJI[name] ?? name)
          .replace(/^>/gm, '│ '),
      );
    })
    .join('');
}

interface TextObject {
  readonly text: string;
}

function indentContinuation(text: string, width: number): string {
  return text.replace(/\n/g, `\n${' '.repeat(width)}`);
}

/** Header, sections, fields (`Label: value`), buttons and context, one block after another. */
export function renderPlainText(message: ChatMessage): string {
  const out: string[] = [];
  for (const raw of message.blocks) {
    const block = raw as {
      type: string;
      text?: TextObject;
      fields?: TextObject[];
      elements?: { type: string; text?: TextObject | string; url?: string }[];
    };
    switch (block.type) {
      case 'header': {
        const text = block.text?.text ?? '';
        out.push(`${text}\n${'='.repeat([...text].length)}`);
        break;
      }
      case 'section': {
        const parts: string[] = [];
        if (block.text) parts.push(mrkdwnToPlain(block.text.text));
        if (block.fields) {
          const fields = block.fields.map((f) => {
            const [label = '', ...value] = f.text.split('\n');
            return [mrkdwnToPlain(label), mrkdwnToPlain(value.join('\n'))] as const;
          });
          const width = Math.max(...fields.map(([label]) => label.length)) + 2;
          parts.push(
            fields
              .map(([label, value]) => `${`${label}:`.padEnd(width)}${indentContinuation(value, width)}`)
              .join('\n'),
          );
        }
        out.push(parts.join('\n'));
        break;
      }
      case 'actions':
        out.push(
          (block.elements ?? [])
            .map((e) => {
              const label = typeof e.text === 'string' ? e.text : (e.text?.text ?? '');
              return `[ ${label} ]${e.url ? ` → ${e.url}` : ''}`;
            })
            .join('  '),
        );
        break;
      case 'context':
        out.push(
          (block.elements ?? [])
            .map((e) => mrkdwnToPlain(typeof e.text === 'string' ? e.text : (e.text?.text ?? '')))
            .join(' · '),
        );
        break;
      case 'divider':
        out.push('―'.repeat(40));
        break;
      default:
        out.push(`(${block.type} block)`);
    }
  }
  return out.join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

function formatMoment(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function renderExample(example: SlackDocExample, level: string): string[] {
  return [
    `${level} ${example.title}`,
    '',
    example.about,
    '',
    `Rendered at ${formatMoment(example.renderedAt)}. Notification text (what a phone or an old client shows): ${code(example.message.text)}`,
    '',
    '```text',
    renderPlainText(example.message),
    '```',
    '',
    '<details><summary>Block Kit JSON (paste into the Block Kit Builder)</summary>',
    '',
    '```json',
    JSON.stringify({ blocks: example.message.blocks }, null, 2),
    '```',
    '',
    '</details>',
    '',
  ];
}

export function renderSlackMessagesMarkdown(): string {
  const sections = slackDocSections();
  const parts: string[] = [
    '# certrotor Slack messages',
    '',
    '<!-- Generated from lambda/domain/notifications/ and the event catalogue by scripts/slack-docs.ts.',
    `     Do not edit by hand; regenerate with: ${SLACK_DOCS_HINT} -->`,
    '',
    'Every message below is built by the same code certrotor runs, from the example events of the [event reference](events.md), so this page shows exactly what a channel receives. Each message says what happened, which certificate (name, subject, fingerprint prefix), where (every environment and place), how long is left, who owns it (mentioned once it escalates), what to do next, and links the runbook for that finding.',
    '',
    'For each message: a plain-text rendering close to what Slack shows, and the Block Kit JSON, ready to paste into [Slack\'s Block Kit Builder](https://app.slack.com/block-kit-builder). certrotor posts `{ "text": …, "blocks": … }` to the channel\'s incoming webhook; `text` is the notification text shown above each rendering.',
    '',
    '## Routing used for these examples',
    '',
    `The ${code('notifications')} section of the configuration (see [configuration](configuration.md#notifications)). Events owned by ${code('payments')} go to their own channel with their own mention; everything else goes to the default channel. From ${DOCS_NOTIFICATIONS.escalation.mentionAtDays} days left (and for anything expired, failed without rollback, or critical) the owner group is mentioned.`,
    '',
    '```yaml',
    stringify({ notifications: DOCS_NOTIFICATIONS }).trimEnd(),
    '```',
    '',
    '## Contents',
    '',
  ];
  for (const section of sections) {
    parts.push(`- [${section.title}](#${anchorOf(section.title)})`);
    for (const example of section.examples) parts.push(`  - [${example.title}](#${anchorOf(example.title)})`);
  }
  parts.push('');
  for (const section of sections) {
    parts.push(`## ${section.title}`, '', section.intro, '');
    for (const example of section.examples) parts.push(...renderExample(example, '###'));
  }
  return `${parts.join('\n').trimEnd()}\n`;
}

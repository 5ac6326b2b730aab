/**
 * Notifications (channels, routes, escalation, digest, delivery) and silences.
 */
import * as z from 'zod';
import { DETAIL_TYPES, type DetailTypeName } from '../../domain/events';
import { parseSilenceScope } from '../../domain/silences';
import { DEFAULT_THRESHOLDS } from '../../domain/thresholds';
import {
  duration,
  environmentRef,
  httpUrl,
  name,
  ref,
  scheduleExpression,
  text,
  thresholds,
  timeZone,
} from './fields';

export const channelSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      name: name('Channel name.'),
      kind: z.literal('slack'),
      webhook: z
        .strictObject({
          env: z
            .string()
            .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name such as SLACK_WEBHOOK_URL')
            .optional()
            .meta({ description: 'Environment variable holding the webhook URL (CLI, local mode).' }),
          parameter: z
            .string()
            .regex(
              /^(arn:[\w-]+:ssm:[\w-]*:\d{12}:parameter)?\/?[A-Za-z0-9_./-]{1,1011}$/,
              'must be an SSM parameter name such as /certrotor/slack/platform, or its ARN',
            )
            .optional()
            .meta({
              description:
                'SSM Parameter Store SecureString parameter (name or ARN) holding the webhook URL (deployed service); you create it with `aws ssm put-parameter --type SecureString`. Standard parameters cost nothing.',
            }),
          secretId: text(
            'Secrets Manager secret (name or ARN) holding the webhook URL (deployed service). A name (not an ARN) makes the stack create the secret, empty, for $0.40 a month; prefer `parameter`.',
            2048,
          ).optional(),
        })
        .refine((w) => w.parameter === undefined || w.secretId === undefined, {
          message: 'parameter and secretId are two places for the same webhook URL: give one',
        })
        .meta({ description: 'Where the webhook URL is kept; never the URL itself.' }),
      mention: text('Who to mention on escalation, e.g. `<!subteam^S0123>`.', 200).optional(),
    }),
  ])
  .meta({ description: 'A notification channel.' });

export const routeSchema = z
  .strictObject({
    owner: text('Matches the owner of the certificate, endpoint or upstream.', 200).optional(),
    environments: z
      .array(environmentRef)
      .min(1)
      .optional()
      .meta({ description: 'Matches any affected environment.' }),
    detailTypes: z
      .array(z.enum(DETAIL_TYPES as [DetailTypeName, ...DetailTypeName[]]))
      .min(1)
      .optional()
      .meta({ description: 'Matches these event detail types.' }),
    channel: ref('Channel name from `notifications.channels`.'),
    mention: text('Overrides the channel mention for this route.', 200).optional(),
  })
  .meta({ description: 'Sends matching events to a channel; the first matching route wins.' });

export const notificationsSchema = z
  .strictObject({
    thresholds: thresholds
      .default([...DEFAULT_THRESHOLDS])
      .meta({ description: 'Alert thresholds before expiry. @default [30, 14, 7, 3, 1, expired]' }),
    thresholdScaling: z.enum(['lifetime', 'absolute']).default('lifetime').meta({
      description:
        'lifetime: day thresholds scale with each certificate’s lifetime (× lifetime / 180 days, at most 1; CA certificates as written), so a 30-day certificate does not alert right after each renewal; absolute: days as written. @default lifetime',
    }),
    identity: z.enum(['name', 'subject-and-names', 'fingerprint']).default('name').meta({
      description:
        'What counts as the same certificate across environments, endpoints, sources and hosts (one finding names every place): name = the configured certificate name where declared, else the same subject and names; subject-and-names; fingerprint = the very same certificate only. @default name',
    }),
    channels: z.array(channelSchema).default([]),
    defaultChannel: ref(
      'Channel for events no route matches. Required with more than one channel.',
    ).optional(),
    operatorChannel: ref('Where undeliverable-notification problems go. @default defaultChannel').optional(),
    routes: z.array(routeSchema).default([]),
    runbookBaseUrl: httpUrl
      .optional()
      .meta({ description: 'Runbooks per finding live under this URL (`<base>/<detail-type-slug>`).' }),
    escalation: z
      .strictObject({
        mentionAtDays: z.number().positive().default(3).meta({ description: '@default 3' }),
        mention: text('@default `<!here>`', 200).default('<!here>'),
      })
      .prefault({})
      .meta({ description: 'From this many days left, messages mention the owner group.' }),
    digest: z
      .strictObject({
        enabled: z.boolean().default(false).meta({ description: '@default false' }),
        schedule: scheduleExpression
          .default('cron(0 8 ? * MON-FRI *)')
          .meta({ description: '@default weekdays 08:00' }),
        timeZone: timeZone.optional(),
        horizon: duration('Everything expiring within this is listed. @default 30d').prefault('30d'),
        channels: z
          .array(ref('Channel name.'))
          .min(1)
          .optional()
          .meta({ description: '@default every channel' }),
      })
      .prefault({})
      .meta({ description: 'One daily digest per channel instead of one message per certificate.' }),
    delivery: z
      .strictObject({
        messagesPerSecond: z.number().positive().max(10).default(1).meta({ description: '@default 1' }),
        maxAttempts: z.number().int().min(1).max(20).default(5).meta({
          description:
            'Deprecated, accepted and ignored: the outbox retries every message until it is delivered (retryDelay, maxRetryDelay, giveUpAfter). @default 5',
        }),
        timeout: duration('Per request. @default 10s').prefault('10s'),
        commandWait: duration(
          'How long a CLI command waits for delivery after printing its results; what is left stays in the outbox for the next command. @default 5s',
        ).prefault('5s'),
        retryDelay: duration(
          'First delay before a failed message is tried again (doubles per attempt, kept across runs). @default 2s',
        ).prefault('2s'),
        maxRetryDelay: duration('Longest delay between two attempts at one message. @default 15m').prefault(
          '15m',
        ),
        giveUpAfter: duration(
          'A message still failing (5xx, timeouts) after this long is dead-lettered and the operator told; it is still retried. @default 24h',
        ).prefault('24h'),
      })
      .prefault({})
      .meta({ description: 'Webhook pacing and retries.' }),
    inhibition: z
      .strictObject({
        enabled: z.boolean().default(true).meta({ description: '@default true' }),
        window: duration(
          'During an incident, what expires within this is still sent on its own. @default 3d',
        ).prefault('3d'),
      })
      .prefault({})
      .meta({
        description:
          'While critical alerts cover most of an environment (an incident), lower alerts about it are summarised in one message (CLI and deployed service).',
      }),
  })
  .meta({ description: 'Who is told what, where.' });

export const silenceSchema = z
  .strictObject({
    scope: z
      .union([z.string(), z.array(z.string()).min(1)])
      .superRefine((value, ctx) => {
        try {
          parseSilenceScope(value);
        } catch (error) {
          ctx.addIssue({
            code: 'custom',
            message: (error as Error).message.replace(/^silence scope:?\s*/, ''),
            input: value,
          });
        }
      })
      .meta({
        description:
          '`kind=pattern` matchers, ANDed: certificate, environment, owner, upstream (globs allowed).',
      }),
    from: z.iso
      .datetime({ offset: true })
      .optional()
      .meta({ description: 'Start, ISO 8601. @default always' }),
    until: z.iso.datetime({ offset: true }).meta({ description: 'End, ISO 8601.' }),
    reason: text('Why (an incident id, a ticket).'),
    createdBy: text('Who.', 200).optional(),
  })
  .meta({
    description: 'Quiets repeated alerts for a scope; anything expiring inside the window still alerts.',
  });

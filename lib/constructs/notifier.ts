/**
 * From the bus to Slack: the webhook secrets the configuration names (the stack creates them empty;
 * their values are set after deploying), a rule sending every catalogue event to the notifier with
 * retries, a schedule sending what the notification outbox holds every 5 minutes, an
 * asynchronous-invocation policy, and a dead-letter queue for what cannot be delivered.
 *
 * Created directly in the CertRotor's scope so the logical ids of a deployed stack do not change.
 */
import {
  Duration,
  type RemovalPolicy,
  Stack,
  TimeZone,
  aws_events as events,
  aws_events_targets as eventTargets,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_lambda_destinations as lambdaDestinations,
  aws_scheduler as scheduler,
  aws_scheduler_targets as schedulerTargets,
  aws_secretsmanager as secretsmanager,
  aws_sqs as sqs,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { CertrotorConfig } from '../../lambda/config/configuration';
import { DETAIL_TYPES, EVENT_SOURCE } from '../../lambda/domain/events';
import { deadLetterQueue } from './scheduled-jobs';

export interface WebhookSecretsProps {
  readonly config: CertrotorConfig;
  readonly key: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * `Webhook<n>` in `scope`: one secret per webhook the configuration names (by name, not ARN), under a
 * name CloudFormation generates so that two CertRotors in one account never collide. The functions
 * find each by its configured name in `CERTROTOR_WEBHOOK_SECRETS` (see `webhookSecretEnvironment`).
 */
export function createWebhookSecrets(scope: Construct, props: WebhookSecretsProps): WebhookSecret[] {
  return webhookSecretNames(props.config).map((configuredName, index) => ({
    configuredName,
    secret: new secretsmanager.Secret(scope, `Webhook${index}`, {
      description: `Slack incoming webhook URL for the certrotor channel secret "${configuredName}" (set the value after deploying)`,
      encryptionKey: props.key,
      removalPolicy: props.removalPolicy,
    }),
  }));
}

/** A webhook secret the stack created, and the name the configuration knows it by. */
export interface WebhookSecret {
  readonly configuredName: string;
  readonly secret: secretsmanager.Secret;
}

/** Environment variable mapping each configured webhook secret name to the created secret's ARN. */
export const WEBHOOK_SECRETS_VARIABLE = 'CERTROTOR_WEBHOOK_SECRETS';

/** `CERTROTOR_WEBHOOK_SECRETS` for the Slack posters: `{ "<configured name>": "<secret ARN>" }`. */
export function webhookSecretEnvironment(
  scope: Construct,
  secrets: readonly WebhookSecret[],
): Record<string, string> {
  if (secrets.length === 0) return {};
  return {
    [WEBHOOK_SECRETS_VARIABLE]: Stack.of(scope).toJsonString(
      Object.fromEntries(secrets.map((s) => [s.configuredName, s.secret.secretArn])),
    ),
  };
}

/** Webhook secrets named in the configuration (by name, not ARN) that the stack creates. */
export function webhookSecretNames(config: CertrotorConfig): string[] {
  const names = config.notifications.channels.flatMap((c) =>
    c.webhook.secretId !== undefined ? [c.webhook.secretId] : [],
  );
  return [...new Set(names)].filter((n) => !n.startsWith('arn:'));
}

/**
 * A reserved concurrency for each Slack poster (1: each webhook is paced by one process);
 * `undefined` leaves them unreserved.
 */
export function reserveSlackConcurrency(
  posters: readonly (lambda.Function | undefined)[],
  concurrency: number | undefined,
): void {
  if (concurrency === undefined) return;
  for (const poster of posters) {
    if (poster) (poster.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = concurrency;
  }
}

export interface NotifierRoutingProps {
  readonly notifier: lambda.IFunction;
  readonly bus: events.IEventBus;
  readonly key: kms.IKey;
}

/** How often the notifier sends what earlier invocations left in the outbox (`NotifierOutboxSchedule`). */
export const OUTBOX_SWEEP_RATE = Duration.minutes(5);

/**
 * `NotifierDeadLetters`, `NotifierAsync`, `NotifyRule` and `NotifierOutboxSchedule` in `scope`;
 * returns the dead-letter queue.
 */
export function routeToNotifier(scope: Construct, props: NotifierRoutingProps): sqs.Queue {
  const deadLetters = deadLetterQueue(scope, 'NotifierDeadLetters', props.key);
  new lambda.EventInvokeConfig(scope, 'NotifierAsync', {
    function: props.notifier,
    retryAttempts: 2,
    maxEventAge: Duration.hours(6),
    onFailure: new lambdaDestinations.SqsDestination(deadLetters),
  });
  new events.Rule(scope, 'NotifyRule', {
    description: 'certrotor events to the Slack notifier',
    eventBus: props.bus,
    eventPattern: { source: [EVENT_SOURCE], detailType: [...DETAIL_TYPES] },
    targets: [
      new eventTargets.LambdaFunction(props.notifier, {
        deadLetterQueue: deadLetters,
        retryAttempts: 8,
        maxEventAge: Duration.hours(6),
      }),
    ],
  });
  // The outbox sweep: messages still pending after Lambda's retries (Slack down for a while) and
  // "resolved" messages the scan jobs recorded go out within minutes, not at the next event. A sweep
  // fails only when the function does; its failures land in the notifier's dead-letter queue.
  new scheduler.Schedule(scope, 'NotifierOutboxSchedule', {
    description: 'certrotor outbox',
    schedule: scheduler.ScheduleExpression.expression(
      `rate(${OUTBOX_SWEEP_RATE.toMinutes()} minutes)`,
      TimeZone.of('UTC'),
    ),
    target: new schedulerTargets.LambdaInvoke(props.notifier, {
      input: scheduler.ScheduleTargetInput.fromObject({
        job: 'outbox',
        scheduledAt: '<aws.scheduler.scheduled-time>',
      }),
      deadLetterQueue: deadLetters,
      // The default retry policy of the other schedules (`schedules.retry`); a late sweep is harmless.
      retryAttempts: 3,
      maxEventAge: Duration.hours(1),
    }),
  });
  return deadLetters;
}

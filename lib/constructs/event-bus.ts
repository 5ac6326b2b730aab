/**
 * The certrotor event bus, and the rules that bring AWS's own signals in: ACM's expiry events to the
 * evaluation (with ACM's expiry window when the construct manages it), ACM's issued and renewed
 * certificates to the planner (acm issuers) and AWS Health scheduled changes to the upstream watcher.
 *
 * Created directly in the CertRotor's scope so the logical ids of a deployed stack do not change.
 */
import {
  aws_certificatemanager as acm,
  aws_events as events,
  aws_events_targets as eventTargets,
  aws_lambda as lambda,
  aws_lambda_destinations as lambdaDestinations,
  aws_sqs as sqs,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** The event AWS sends before an ACM certificate expires. */
export const ACM_EXPIRY_DETAIL_TYPE = 'ACM Certificate Approaching Expiration';
/** The event AWS sends when ACM issued or renewed a certificate. */
export const ACM_AVAILABLE_DETAIL_TYPE = 'ACM Certificate Available';

export interface EventBusProps {
  /** A fixed bus name. @default a name CloudFormation generates */
  readonly eventBusName?: string;
}

/** `Bus` in `scope`. */
export function createEventBus(scope: Construct, props: EventBusProps): events.EventBus {
  return new events.EventBus(
    scope,
    'Bus',
    props.eventBusName !== undefined ? { eventBusName: props.eventBusName } : {},
  );
}

export interface AwsSignalsProps {
  /** Receives ACM's expiry events. */
  readonly acmExpiry: lambda.IFunction;
  /** Receives AWS Health events. */
  readonly upstreamWatch: lambda.IFunction;
  /** Where events that cannot be delivered go. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Days before expiry ACM emits its events, when this construct manages the account setting. */
  readonly acmDaysBeforeExpiry?: number;
  /**
   * Receives ACM's Certificate Available events (the planner), when an `acm` issuer is configured: ACM
   * renewed an exportable certificate, which certrotor redistributes. Its asynchronous failures go where
   * the planner's schedule sends them.
   */
  readonly acmRenewals?: lambda.IFunction;
}

/**
 * `AcmExpiryRule`, `AcmRenewalRule` (only with `acmRenewals`), `AcmAccount` (only with
 * `acmDaysBeforeExpiry`) and `HealthRule` in `scope`.
 */
export function routeAwsSignals(scope: Construct, props: AwsSignalsProps): void {
  new events.Rule(scope, 'AcmExpiryRule', {
    description: 'ACM expiry events into the certrotor evaluation',
    eventPattern: { source: ['aws.acm'], detailType: [ACM_EXPIRY_DETAIL_TYPE] },
    targets: [
      new eventTargets.LambdaFunction(props.acmExpiry, {
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 8,
      }),
    ],
  });
  // Lambda's retries of an ACM event that keeps failing end in the dead-letter queue, not nowhere. (The
  // upstream watcher's async failures are configured with its schedule: one configuration per function.)
  new lambda.EventInvokeConfig(scope, 'AcmExpiryAsync', {
    function: props.acmExpiry,
    retryAttempts: 2,
    onFailure: new lambdaDestinations.SqsDestination(props.deadLetterQueue),
  });
  if (props.acmRenewals) {
    new events.Rule(scope, 'AcmRenewalRule', {
      description: "ACM's issued and renewed certificates to the planner (acm issuers: redistribution)",
      eventPattern: { source: ['aws.acm'], detailType: [ACM_AVAILABLE_DETAIL_TYPE] },
      targets: [
        new eventTargets.LambdaFunction(props.acmRenewals, {
          deadLetterQueue: props.deadLetterQueue,
          retryAttempts: 8,
        }),
      ],
    });
  }
  if (props.acmDaysBeforeExpiry !== undefined) {
    new acm.CfnAccount(scope, 'AcmAccount', {
      expiryEventsConfiguration: { daysBeforeExpiry: props.acmDaysBeforeExpiry },
    });
  }
  new events.Rule(scope, 'HealthRule', {
    description: 'AWS Health scheduled changes (e.g. database CA rotations) to the upstream watcher',
    eventPattern: { source: ['aws.health'], detailType: ['AWS Health Event'] },
    targets: [
      new eventTargets.LambdaFunction(props.upstreamWatch, {
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 8,
      }),
    ],
  });
}

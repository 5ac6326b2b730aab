/**
 * What runs when: one EventBridge Scheduler schedule per scheduled job (inventory, probe, upstream
 * watch, planner, digest), in the job's time zone, with the configuration's retry policy and a shared
 * dead-letter queue. The schedules come from the same answer the heartbeat alarms and the jobs' own
 * Scan Missed check use (`watchedJobSchedules`).
 *
 * Created directly in the CertRotor's scope so the logical ids of a deployed stack do not change.
 */
import {
  Duration,
  TimeZone,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_lambda_destinations as lambdaDestinations,
  aws_scheduler as scheduler,
  aws_scheduler_targets as schedulerTargets,
  aws_sqs as sqs,
  aws_stepfunctions as sfn,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { CertrotorConfig } from '../../lambda/config/configuration';
import type { JobSchedule, WatchedJob } from '../../lambda/domain/job-heartbeat';
import { watchedJobSchedules } from '../../lambda/config/views/schedules';

export interface ScheduleOverrides {
  /** @default the configuration's `schedules.inventory` (rate(1 day)) */
  readonly inventory?: string;
  /** @default the configuration's `schedules.probe` (rate(1 hour)) */
  readonly probe?: string;
  /** @default the configuration's `schedules.upstream` (rate(6 hours)) */
  readonly upstream?: string;
  /** When the planner looks for certificates due for renewal. @default rate(1 hour) */
  readonly planner?: string;
  /** When each channel's digest goes out. @default the configuration's `notifications.digest.schedule` */
  readonly digest?: string;
  /** IANA time zone for cron expressions. @default the configuration's `schedules.timeZone` (UTC) */
  readonly timeZone?: string;
}

/** @internal The schedules' shared settings, as the schedules and the heartbeat alarms both need them. */
export interface ScheduleSettings {
  readonly timeZone: TimeZone;
  readonly retryAttempts: number;
  /** How long the scheduler keeps retrying a run. */
  readonly maxEventAge: Duration;
  /** The watched job's schedule, or undefined when it does not run. */
  readonly jobSchedule: (job: WatchedJob) => JobSchedule | undefined;
}

/** @internal */
export function scheduleSettings(
  config: CertrotorConfig,
  overrides: ScheduleOverrides = {},
): ScheduleSettings {
  // One answer for what runs when, shared with the heartbeat alarms and with the jobs' own Scan
  // Missed check (the overrides reach them in CERTROTOR_SCHEDULES).
  const watched = new Map(watchedJobSchedules(config, overrides).map((j) => [j.job, j]));
  return {
    timeZone: TimeZone.of(overrides.timeZone ?? config.schedules.timeZone),
    retryAttempts: config.schedules.retry.maximumAttempts,
    maxEventAge: Duration.seconds(
      Math.min(86_400, Math.max(60, Math.round(config.schedules.retry.maximumEventAge / 1000))),
    ),
    jobSchedule: (job) => watched.get(job),
  };
}

/** @internal */
export interface ScheduledJobsProps {
  readonly config: CertrotorConfig;
  readonly overrides?: ScheduleOverrides;
  readonly key: kms.IKey;
  readonly inventory: lambda.IFunction;
  readonly probe: lambda.IFunction;
  /** The probe's sharded sweep: scheduled instead of the probe function when given. */
  readonly probeWorkflow?: sfn.IStateMachine;
  readonly upstreamWatch: lambda.IFunction;
  readonly planner: lambda.IFunction;
  readonly digest?: lambda.IFunction;
  /** Probe functions of the network placements, each on the probe's schedule as `<id>Schedule`. */
  readonly additionalProbes?: readonly {
    readonly id: string;
    readonly function: lambda.IFunction;
    /** The placement probe's sharded sweep, scheduled instead of the function when given. */
    readonly workflow?: sfn.IStateMachine;
  }[];
}

/** A KMS-encrypted dead-letter queue keeping messages 14 days. */
export function deadLetterQueue(scope: Construct, id: string, key: kms.IKey): sqs.Queue {
  return new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
}

/** @internal The schedules (`<Job>Schedule`) and their dead-letter queue (`ScheduleDeadLetters`) in `scope`. */
export function createScheduledJobs(scope: Construct, props: ScheduledJobsProps): sqs.Queue {
  const { config } = props;
  const overrides = props.overrides ?? {};
  const deadLetters = deadLetterQueue(scope, 'ScheduleDeadLetters', props.key);
  const { timeZone, retryAttempts, maxEventAge, jobSchedule } = scheduleSettings(config, overrides);
  const schedule = (
    id: string,
    expression: string,
    target: lambda.IFunction | sfn.IStateMachine,
    job: string,
    zone: TimeZone = timeZone,
    enabled = true,
  ) => {
    const targetProps = {
      input: scheduler.ScheduleTargetInput.fromObject({
        job,
        scheduledAt: '<aws.scheduler.scheduled-time>',
      }),
      deadLetterQueue: deadLetters,
      retryAttempts,
      maxEventAge,
    };
    return new scheduler.Schedule(scope, id, {
      description: `certrotor ${job}`,
      enabled,
      schedule: scheduler.ScheduleExpression.expression(expression, zone),
      // A fleet past one probe invocation is swept by its sharded workflow (ProbeShards).
      target:
        'stateMachineArn' in target
          ? new schedulerTargets.StepFunctionsStartExecution(target, targetProps)
          : new schedulerTargets.LambdaInvoke(target, targetProps),
    });
  };
  schedule(
    'InventorySchedule',
    overrides.inventory ?? config.schedules.inventory.expression,
    props.inventory,
    'inventory',
    TimeZone.of(jobSchedule('inventory')?.timeZone ?? timeZone.timezoneName),
    config.schedules.inventory.enabled,
  );
  schedule(
    'ProbeSchedule',
    overrides.probe ?? config.schedules.probe.expression,
    props.probeWorkflow ?? props.probe,
    'probe',
    TimeZone.of(jobSchedule('probe')?.timeZone ?? timeZone.timezoneName),
    config.schedules.probe.enabled,
  );
  schedule(
    'UpstreamSchedule',
    overrides.upstream ?? config.schedules.upstream.expression,
    props.upstreamWatch,
    'upstream',
    TimeZone.of(jobSchedule('upstream')?.timeZone ?? timeZone.timezoneName),
    config.schedules.upstream.enabled,
  );
  for (const probe of props.additionalProbes ?? []) {
    schedule(
      `${probe.id}Schedule`,
      overrides.probe ?? config.schedules.probe.expression,
      probe.workflow ?? probe.function,
      'probe',
      TimeZone.of(jobSchedule('probe')?.timeZone ?? timeZone.timezoneName),
      config.schedules.probe.enabled,
    );
  }
  schedule('PlannerSchedule', overrides.planner ?? 'rate(1 hour)', props.planner, 'planner');
  if (props.digest) {
    const digestExpression = overrides.digest ?? config.notifications.digest.schedule;
    const digestTimeZone =
      config.notifications.digest.timeZone ?? overrides.timeZone ?? config.schedules.timeZone;
    schedule('DigestSchedule', digestExpression, props.digest, 'digest', TimeZone.of(digestTimeZone));
  }
  // The scheduler invokes asynchronously: a run that still fails after Lambda's own retries lands in
  // the same dead-letter queue (and its alarm) instead of being dropped.
  const asyncFailures = (id: string, fn: lambda.IFunction) =>
    new lambda.EventInvokeConfig(scope, id, {
      function: fn,
      retryAttempts: 2,
      onFailure: new lambdaDestinations.SqsDestination(deadLetters),
    });
  asyncFailures('InventoryAsync', props.inventory);
  asyncFailures('ProbeAsync', props.probe);
  asyncFailures('UpstreamWatchAsync', props.upstreamWatch);
  asyncFailures('PlannerAsync', props.planner);
  if (props.digest) asyncFailures('DigestAsync', props.digest);
  for (const probe of props.additionalProbes ?? []) asyncFailures(`${probe.id}Async`, probe.function);
  return deadLetters;
}

/**
 * What tells someone to look: alarms on the soonest-expiring certificate, on each scheduled job's
 * missing heartbeat (dead man's switch), on an upstream rotation nearing its deadline, on scans that
 * completed with problems, on failed rotations, on function errors and on both dead-letter queues —
 * every alarm to one SNS action — and a dashboard of the same metrics.
 *
 * Created directly in the CertRotor's scope so the logical ids of a deployed stack do not change.
 */
import {
  Duration,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cloudwatchActions,
  aws_lambda as lambda,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_stepfunctions as sfn,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { SCAN_PROBLEMS_METRIC } from '../../lambda/domain/health-metrics';
import { type WatchedJob, heartbeatMetricName } from '../../lambda/domain/job-heartbeat';
import { longestGap } from '../../lambda/domain/schedule-expression';
import {
  DAYS_TO_DEADLINE_METRIC,
  MINIMUM_DAYS_TO_DEADLINE_METRIC,
} from '../../lambda/use-cases/deadline-metrics';
import { FUNCTIONS, type HandlerName, METRIC_NAMESPACE, SERVICE_NAME, pascal } from './job-functions';
import type { ScheduleSettings } from './scheduled-jobs';

/** The job behind each scheduled function: its heartbeat metric is `<Job>Heartbeat`. */
const SCHEDULED_JOBS: Record<WatchedJob, HandlerName> = {
  inventory: 'inventory',
  probe: 'probe',
  upstream: 'upstream-watch',
  digest: 'digest',
};

/** @internal The construct's own wiring; only heartbeatWindowFor and alarmShape are public. */
export interface AlarmsDashboardProps {
  readonly alarmTopic: sns.ITopic;
  readonly schedules: ScheduleSettings;
  readonly stateMachine: sfn.StateMachine;
  /** Every job function, by job name: each gets an errors alarm. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly notifierDeadLetterQueue: sqs.IQueue;
  readonly scheduleDeadLetterQueue: sqs.IQueue;
  /** Alarm when the soonest-expiring certificate has fewer days left than this. */
  readonly minimumDaysLeftAlarm?: number;
  /** The probe's dead man's switch window. */
  readonly heartbeatWindow?: Duration;
  /**
   * Network placements with a probe of their own: each probe's heartbeat carries its placement
   * (dimension `placement`) and has its own dead man's switch (`ProbeHeartbeat<Placement>Alarm`).
   * @default none: one probe, one heartbeat alarm
   */
  readonly probePlacements?: readonly string[];
  /** Alarm when an incomplete upstream rotation has fewer days than this until its deadline. */
  readonly upstreamDeadlineAlarmDays?: number;
  /** One errors alarm per function ($0.10 each). */
  readonly functionErrorAlarms?: boolean;
  /** Also create the dashboard ($3 a month). */
  readonly dashboard?: boolean;
}

/** @internal The alarms (`<Name>Alarm`) and the dashboard (`Dashboard`) in `scope`. */
export function createAlarmsAndDashboard(
  scope: Construct,
  props: AlarmsDashboardProps,
): cloudwatch.Dashboard | undefined {
  const alarmAction = new cloudwatchActions.SnsAction(props.alarmTopic);
  const { jobSchedule, maxEventAge } = props.schedules;
  const metric = (metricName: string, statistic: string, period = Duration.hours(1)) =>
    new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { service: SERVICE_NAME },
      statistic,
      period,
    });
  const alarms: cloudwatch.Alarm[] = [];
  const alarm = (id: string, alarmProps: cloudwatch.AlarmProps) => {
    const created = new cloudwatch.Alarm(scope, id, alarmProps);
    created.addAlarmAction(alarmAction);
    alarms.push(created);
    return created;
  };
  const minimumDaysLeft = metric('MinimumDaysLeft', 'Minimum');
  alarm('MinimumDaysLeftAlarm', {
    // MinimumDaysLeft is on the thresholds' scale (scaled by lifetime like every alert).
    alarmDescription: `A certificate certrotor sees has crossed its ${props.minimumDaysLeftAlarm ?? 14}-day threshold (days left scaled by lifetime like every alert; missing data means the inventory stopped reporting)`,
    metric: minimumDaysLeft.with({ period: Duration.days(1) }),
    threshold: props.minimumDaysLeftAlarm ?? 14,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });
  // Dead man's switch: every scheduled job reports `<Job>Heartbeat` when it completes; no heartbeat
  // for longer than its longest interval plus retries and run time is an alarm (missing data breaches).
  const jobExpressions = Object.fromEntries(
    (['inventory', 'probe', 'upstream', 'digest'] as const).map((job) => {
      const j = jobSchedule(job);
      return [job, { expression: j?.expression ?? '', zone: j?.timeZone ?? 'UTC', enabled: j !== undefined }];
    }),
  ) as Record<WatchedJob, { expression: string; zone: string; enabled: boolean }>;
  const heartbeats: cloudwatch.Metric[] = [];
  for (const [job, { expression, zone, enabled }] of Object.entries(jobExpressions) as [
    WatchedJob,
    (typeof jobExpressions)[WatchedJob],
  ][]) {
    if (!enabled) continue;
    const name = heartbeatMetricName(job);
    const window =
      job === 'probe' && props.heartbeatWindow
        ? props.heartbeatWindow
        : heartbeatWindowFor(expression, zone, maxEventAge.plus(FUNCTIONS[SCHEDULED_JOBS[job]].timeout));
    const shape = alarmShape(window);
    // The probe of each network placement reports its own heartbeat (dimension `placement`): one
    // placement's probe stopping is not hidden by the others running.
    const placed = job === 'probe' ? (props.probePlacements ?? []) : [];
    for (const placement of [undefined, ...placed]) {
      const beat =
        placement === undefined
          ? metric(name, 'Sum', shape.period)
          : new cloudwatch.Metric({
              namespace: METRIC_NAMESPACE,
              metricName: name,
              dimensionsMap: { service: SERVICE_NAME, placement },
              statistic: 'Sum',
              period: shape.period,
            });
      const what = placement === undefined ? job : `${job} in network placement ${placement}`;
      heartbeats.push(beat.with({ label: placement === undefined ? job : `${job} ${placement}` }));
      alarm(`${name}${placement ?? ''}Alarm`, {
        alarmDescription: `Dead man's switch: certrotor ${what} has not completed on schedule (${expression}) for ${window.toHumanString()}; a Scan Missed event names the miss`,
        metric: beat,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: shape.evaluationPeriods,
        datapointsToAlarm: shape.evaluationPeriods,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }
  }
  const minimumDaysToDeadline = metric(MINIMUM_DAYS_TO_DEADLINE_METRIC, 'Minimum', Duration.hours(6));
  const deadlineDays = props.upstreamDeadlineAlarmDays ?? 7;
  alarm('UpstreamDeadlineAlarm', {
    alarmDescription: `An upstream certificate rotation that is not complete has fewer than ${deadlineDays} days until its deadline (see ${DAYS_TO_DEADLINE_METRIC} per announcement and the Consumers Not Ready events)`,
    metric: minimumDaysToDeadline.with({ period: Duration.days(1) }),
    threshold: deadlineDays,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 1,
    // No open announcement means no data: nothing to worry about.
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  // A scan that ran but could not read a source, probe an endpoint or watch an upstream, and a planner
  // run that could not start a rotation, complete (the rest of the run is not lost) and count it in one
  // metric (ScanProblems, lambda/domain/health-metrics.ts): one alarm metric, not one per job.
  alarm('ScanProblemsAlarm', {
    alarmDescription:
      'A scheduled scan could not read a source, probe an endpoint or watch an upstream, or the planner could not start a rotation (the logs name each "scan problem", "upstream watch problem" and failed "rotation plan")',
    metric: metric(SCAN_PROBLEMS_METRIC, 'Sum', Duration.hours(1)),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  // Failed and timed-out executions; not aborted ones: certrotor never stops an execution, so an abort
  // is an operator's own StopExecution (and each metric in an alarm costs $0.10 a month). FILL: an
  // execution metric has no datapoint in a period without such executions, and a sum with a missing
  // term has no value, so a failure alone must not be lost for want of a time-out.
  alarm('RotationFailedAlarm', {
    alarmDescription:
      'A rotation workflow failed or timed out (check the execution and its Rotation Failed event)',
    metric: new cloudwatch.MathExpression({
      expression: 'FILL(failed, 0) + FILL(timedOut, 0)',
      usingMetrics: {
        failed: props.stateMachine.metricFailed({ period: Duration.minutes(5) }),
        timedOut: props.stateMachine.metricTimedOut({ period: Duration.minutes(5) }),
      },
      period: Duration.minutes(5),
    }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  for (const [name, f] of props.functionErrorAlarms ? Object.entries(props.functions) : []) {
    alarm(`${pascal(name)}ErrorsAlarm`, {
      alarmDescription: `certrotor ${name} function errors`,
      metric: f.metricErrors({ period: Duration.minutes(15), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
  const dlqAlarm = (id: string, queue: sqs.IQueue, what: string) =>
    alarm(id, {
      alarmDescription: `${what} landed in the dead-letter queue`,
      metric: queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  dlqAlarm('NotifierDeadLettersAlarm', props.notifierDeadLetterQueue, 'Undeliverable notifications');
  dlqAlarm(
    'ScheduleDeadLettersAlarm',
    props.scheduleDeadLetterQueue,
    'Scheduled jobs or AWS events that could not be delivered',
  );

  if (!props.dashboard) return undefined;
  return new cloudwatch.Dashboard(scope, 'Dashboard', {
    widgets: [
      [
        new cloudwatch.GraphWidget({
          title: 'Minimum days left (any certificate)',
          left: [minimumDaysLeft],
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Scheduled job heartbeats',
          left: heartbeats.map((h) => h.with({ period: Duration.hours(1) })),
          width: 12,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Minimum days to an upstream rotation deadline',
          left: [minimumDaysToDeadline],
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Notifications and digests',
          left: [
            metric('NotificationsSent', 'Sum'),
            metric('DigestsSent', 'Sum'),
            metric('ScansMissed', 'Sum'),
          ],
          right: [metric('NotificationProblems', 'Sum')],
          width: 12,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Rotations',
          left: [
            props.stateMachine.metricStarted(),
            props.stateMachine.metricSucceeded(),
            props.stateMachine.metricFailed(),
          ],
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Function errors',
          left: Object.values(props.functions).map((f) => f.metricErrors()),
          width: 12,
        }),
      ],
      [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 })],
    ],
  });
}

/**
 * How long without a heartbeat means a job stopped: its longest interval between two runs (a weekday
 * cron's weekend) plus `grace`, in whole minutes.
 */
export function heartbeatWindowFor(expression: string, timeZone: string, grace: Duration): Duration {
  const gap = longestGap(expression, timeZone) ?? 7 * 86_400_000;
  return Duration.minutes(Math.ceil((gap + grace.toMilliseconds()) / 60_000));
}

/**
 * An alarm period and count covering `window`: one period up to a day, else whole days. CloudWatch
 * evaluates at most 7 days, so longer windows are cut to 7 days.
 */
export function alarmShape(window: Duration): { period: Duration; evaluationPeriods: number } {
  const minutes = window.toMinutes({ integral: false });
  if (minutes <= 24 * 60) return { period: Duration.minutes(Math.ceil(minutes)), evaluationPeriods: 1 };
  return { period: Duration.days(1), evaluationPeriods: Math.min(7, Math.ceil(minutes / (24 * 60))) };
}

/**
 * CertRotor: the deployed certrotor service as one L3 construct. Drop it into any CDK app with a
 * certrotor configuration document (the same file the CLI reads); everything else has a default.
 *
 * What it creates: a custom event bus; EventBridge Scheduler schedules (inventory, probe, upstream
 * watch, planner) with a retry policy and a dead-letter queue; one Lambda per job; the state table
 * (DynamoDB, KMS); the rotation state machine; the Slack notifier; ACM and AWS Health rules; alarms,
 * a dead man's switch and a dashboard. Roles are scoped per function (see `grant*` below).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  ArnFormat,
  Duration,
  RemovalPolicy,
  Stack,
  Stage,
  TimeZone,
  Validations,
  aws_certificatemanager as acm,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cloudwatchActions,
  aws_dynamodb as dynamodb,
  aws_events as events,
  aws_events_targets as eventTargets,
  aws_iam as iam,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_lambda_destinations as lambdaDestinations,
  aws_lambda_nodejs as nodejs,
  aws_logs as logs,
  aws_scheduler as scheduler,
  aws_scheduler_targets as schedulerTargets,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_stepfunctions as sfn,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { type CertrotorConfig, validateConfig } from '../lambda/config/configuration';
import { DETAIL_TYPES, EVENT_SOURCE } from '../lambda/domain/events';
import { type WatchedJob, heartbeatMetricName } from '../lambda/domain/job-heartbeat';
import { watchedJobSchedules } from '../lambda/use-cases/job-heartbeats';
import { longestGap } from '../lambda/domain/schedule-expression';
import {
  DAYS_TO_DEADLINE_METRIC,
  MINIMUM_DAYS_TO_DEADLINE_METRIC,
} from '../lambda/use-cases/deadline-metrics';
import { createRotationWorkflow } from './constructs/rotation-workflow';
import { PARTITION_KEY_NAME, SORT_KEY_NAME, TTL_ATTRIBUTE_NAME } from './table-schema';

/** Metric namespace of every certrotor metric (EMF from the handlers). */
export const METRIC_NAMESPACE = 'certrotor';
/** Powertools service name: the `service` dimension of every metric. */
export const SERVICE_NAME = 'certrotor';
/** File name of the configuration document inside each function bundle. */
export const BUNDLED_CONFIG_FILE = 'certrotor-config.json';
/** The event AWS sends before an ACM certificate expires. */
export const ACM_EXPIRY_DETAIL_TYPE = 'ACM Certificate Approaching Expiration';

export type HandlerName =
  | 'inventory'
  | 'probe'
  | 'planner'
  | 'rotation-step'
  | 'notifier'
  | 'acm-expiry-event'
  | 'upstream-watch'
  | 'digest';

export interface CertRotorSchedules {
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

export interface CertRotorProps {
  /**
   * The certrotor configuration document as parsed from YAML/JSON, before validation (the CLI's
   * `--config` file). Validated here at synth time and again by each function at cold start.
   */
  readonly configuration: unknown;
  /** Names the configuration in validation errors. @default 'configuration' */
  readonly configurationName?: string;
  /** Schedule overrides. @default the configuration's `schedules` section */
  readonly schedules?: CertRotorSchedules;
  /** Targets rolled out at once after the canary (Map MaxConcurrency). @default 5 */
  readonly rolloutConcurrency?: number;
  /**
   * Reserved concurrency of the notifier and the digest sender. At 1, one process paces each webhook
   * (at most `notifications.delivery.messagesPerSecond`); EventBridge and the scheduler queue and retry
   * the rest. `undefined` leaves them unreserved (for accounts whose concurrency limit allows no
   * reservation), at the cost of pacing only per concurrent invocation. @default 1
   */
  readonly slackConcurrency?: number | null;
  /** Longest a rotation may run before Step Functions stops it. @default 2 hours */
  readonly rotationTimeout?: Duration;
  /** Alarm when the soonest-expiring certificate has fewer days left than this. @default 14 */
  readonly minimumDaysLeftAlarm?: number;
  /**
   * Alarm when the probe has not reported a heartbeat for this long (dead man's switch). The other
   * scheduled jobs (inventory, upstream watch, digest) alarm after their longest interval between two
   * runs plus the scheduler's retry window and their own timeout.
   * @default the same for the probe: its interval plus retries and run time (2h05m for rate(1 hour))
   */
  readonly heartbeatWindow?: Duration;
  /**
   * Alarm when an upstream rotation that is not complete has fewer days than this until its deadline
   * (cutover minus the safety margin). @default 7
   */
  readonly upstreamDeadlineAlarmDays?: number;
  /** Where alarms go. @default a new SNS topic (subscribe to it) */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Manage the account-wide ACM setting that decides how early ACM emits its expiry events
   * (`AWS::CertificateManager::Account`, one per account and region).
   * @default true
   */
  readonly manageAcmAccountSettings?: boolean;
  /** What happens to the table, key and secrets when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** CloudWatch Logs retention for functions and the state machine. @default one month */
  readonly logRetention?: logs.RetentionDays;
}

interface FunctionSpec {
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
}

/** Sized per job: probing and inventory fan out on the network; the rest are short. */
const FUNCTIONS: Record<HandlerName, FunctionSpec> = {
  inventory: {
    description: 'Inventory of every certificate source',
    timeout: Duration.minutes(10),
    memorySize: 1024,
  },
  probe: {
    description: 'Fresh TLS handshakes to every endpoint',
    timeout: Duration.minutes(5),
    memorySize: 512,
  },
  planner: {
    description: 'Starts a rotation for each certificate due',
    timeout: Duration.minutes(2),
    memorySize: 256,
  },
  'rotation-step': {
    description: 'One step of the rotation workflow',
    timeout: Duration.minutes(5),
    memorySize: 512,
  },
  notifier: { description: 'certrotor events to Slack', timeout: Duration.minutes(2), memorySize: 256 },
  'acm-expiry-event': {
    description: 'ACM expiry events into the evaluation',
    timeout: Duration.minutes(1),
    memorySize: 256,
  },
  'upstream-watch': {
    description: 'Upstream rotation announcements and readiness',
    timeout: Duration.minutes(5),
    memorySize: 512,
  },
  digest: {
    description: 'Daily digest of held alerts per channel',
    timeout: Duration.minutes(2),
    memorySize: 256,
  },
};

/** The job behind each scheduled function: its heartbeat metric is `<Job>Heartbeat`. */
const SCHEDULED_JOBS: Record<WatchedJob, HandlerName> = {
  inventory: 'inventory',
  probe: 'probe',
  upstream: 'upstream-watch',
  digest: 'digest',
};

const ROOT = join(__dirname, '..');

export class CertRotor extends Construct {
  readonly config: CertrotorConfig;
  readonly key: kms.Key;
  readonly table: dynamodb.Table;
  readonly bus: events.EventBus;
  /** One function per job; `digest` only when the configuration enables the digest. */
  readonly functions: Record<Exclude<HandlerName, 'digest'>, nodejs.NodejsFunction> & {
    readonly digest?: nodejs.NodejsFunction;
  };
  readonly stateMachine: sfn.StateMachine;
  readonly scheduleDeadLetterQueue: sqs.Queue;
  readonly notifierDeadLetterQueue: sqs.Queue;
  readonly alarmTopic: sns.ITopic;
  readonly webhookSecrets: secretsmanager.Secret[];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: CertRotorProps) {
    super(scope, id);
    this.config = validateConfig(props.configuration, props.configurationName ?? 'configuration');
    const config = this.config;
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const secretPrefix = config.aws.secretPrefix;

    this.key = new kms.Key(this, 'Key', {
      description: 'certrotor: state table, certificate and webhook secrets, queues, logs',
      enableKeyRotation: true,
      removalPolicy,
    });
    // CloudWatch Logs encrypts the function and workflow log groups with the same key.
    this.key.grantEncryptDecrypt(new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`));

    this.table = new dynamodb.Table(this, 'State', {
      partitionKey: { name: PARTITION_KEY_NAME, type: dynamodb.AttributeType.STRING },
      sortKey: { name: SORT_KEY_NAME, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE_NAME,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      removalPolicy,
    });

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: config.aws.eventBusName });

    this.alarmTopic =
      props.alarmTopic ?? new sns.Topic(this, 'Alarms', { masterKey: this.key, enforceSSL: true });
    this.key.grantEncryptDecrypt(new iam.ServicePrincipal('cloudwatch.amazonaws.com'));
    const alarmAction = new cloudwatchActions.SnsAction(this.alarmTopic);

    this.webhookSecrets = webhookSecretNames(config).map(
      (name, index) =>
        new secretsmanager.Secret(this, `Webhook${index}`, {
          secretName: name,
          description: 'Slack incoming webhook URL for certrotor (set the value after deploying)',
          encryptionKey: this.key,
          removalPolicy,
        }),
    );

    // --- functions --------------------------------------------------------------------------------
    const configFile = writeBundledConfig(this, props.configuration);
    const stateMachineArnHolder: { arn?: string } = {};
    const fn = (name: HandlerName, environment: Record<string, string> = {}) => {
      const spec = FUNCTIONS[name];
      const logGroup = new logs.LogGroup(this, `${pascal(name)}Logs`, {
        retention: logRetention,
        encryptionKey: this.key,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      return new nodejs.NodejsFunction(this, pascal(name), {
        entry: join(ROOT, 'lambda', 'handlers', `${name}.ts`),
        handler: 'handler',
        description: `certrotor: ${spec.description}`,
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        timeout: spec.timeout,
        memorySize: spec.memorySize,
        tracing: lambda.Tracing.ACTIVE,
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
        systemLogLevelV2: lambda.SystemLogLevel.WARN,
        logGroup,
        projectRoot: ROOT,
        depsLockFilePath: join(ROOT, 'package-lock.json'),
        environment: {
          POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
          POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
          POWERTOOLS_LOG_LEVEL: 'INFO',
          POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
          POWERTOOLS_TRACER_CAPTURE_ERROR: 'true',
          NODE_OPTIONS: '--enable-source-maps',
          CERTROTOR_HANDLER: name,
          CERTROTOR_TABLE_NAME: this.table.tableName,
          CERTROTOR_EVENT_BUS_NAME: this.bus.eventBusName,
          CERTROTOR_KMS_KEY_ID: this.key.keyArn,
          ...(props.schedules ? { CERTROTOR_SCHEDULES: JSON.stringify(props.schedules) } : {}),
          ...environment,
        },
        bundling: {
          minify: true,
          sourceMap: true,
          sourcesContent: false,
          target: 'node22',
          format: nodejs.OutputFormat.CJS,
          // The runtime's AWS SDK v3 is used (keeps each bundle under 1 MB); ESM entry points let esbuild tree-shake.
          externalModules: ['@aws-sdk/*'],
          mainFields: ['module', 'main'],
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (_input, output) => [`cp "${configFile}" "${output}/${BUNDLED_CONFIG_FILE}"`],
          },
        },
      });
    };
    void stateMachineArnHolder;

    const functions = {
      inventory: fn('inventory'),
      probe: fn('probe'),
      'rotation-step': fn('rotation-step'),
      notifier: fn('notifier'),
      'acm-expiry-event': fn('acm-expiry-event'),
      'upstream-watch': fn('upstream-watch'),
      ...(config.notifications.digest.enabled ? { digest: fn('digest') } : {}),
    } as Omit<CertRotor['functions'], 'planner'>;
    const slackConcurrency = props.slackConcurrency === undefined ? 1 : props.slackConcurrency;
    if (slackConcurrency !== null) {
      for (const poster of [functions.notifier, functions.digest]) {
        if (poster)
          (poster.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = slackConcurrency;
      }
    }

    // --- rotation state machine ---------------------------------------------------------------------
    this.stateMachine = createRotationWorkflow(this, {
      step: functions['rotation-step'],
      rolloutConcurrency: props.rolloutConcurrency ?? 5,
      timeout: props.rotationTimeout ?? Duration.hours(2),
      logRetention,
      key: this.key,
    });

    const planner = fn('planner', { CERTROTOR_STATE_MACHINE_ARN: this.stateMachine.stateMachineArn });
    this.functions = { ...functions, planner };
    this.stateMachine.grantStartExecution(planner);

    // --- permissions --------------------------------------------------------------------------------
    for (const name of [
      'inventory',
      'probe',
      'planner',
      'rotation-step',
      'notifier',
      'acm-expiry-event',
      'upstream-watch',
    ] as const) {
      this.table.grantReadWriteData(this.functions[name]);
    }
    for (const name of [
      'inventory',
      'probe',
      'rotation-step',
      'notifier',
      'acm-expiry-event',
      'upstream-watch',
    ] as const) {
      this.bus.grantPutEventsTo(this.functions[name]);
    }
    grantRotation(this, this.functions['rotation-step'], secretPrefix);
    // The upstream watcher delivers vendor material (client certificates, trust bundles) to consumers.
    grantRotation(this, this.functions['upstream-watch'], secretPrefix, { issue: false });
    grantInventory(this, this.functions.inventory);
    grantInventory(this, this.functions['acm-expiry-event']);
    for (const secret of this.webhookSecrets) secret.grantRead(this.functions.notifier);
    const digestFunction = this.functions.digest;
    if (digestFunction) {
      // Reads held items and claims each occurrence (table), reports missed jobs (bus), posts (webhooks).
      this.table.grantReadWriteData(digestFunction);
      this.bus.grantPutEventsTo(digestFunction);
      for (const secret of this.webhookSecrets) secret.grantRead(digestFunction);
    }

    // --- schedules -----------------------------------------------------------------------------------
    this.scheduleDeadLetterQueue = deadLetterQueue(this, 'ScheduleDeadLetters', this.key);
    const timeZone = TimeZone.of(props.schedules?.timeZone ?? config.schedules.timeZone);
    const retryAttempts = config.schedules.retry.maximumAttempts;
    const maxEventAge = Duration.seconds(
      Math.min(86_400, Math.max(60, Math.round(config.schedules.retry.maximumEventAge / 1000))),
    );
    // One answer for what runs when, shared with the heartbeat alarms below and with the jobs' own
    // Scan Missed check (the overrides reach them in CERTROTOR_SCHEDULES).
    const watched = new Map(watchedJobSchedules(config, props.schedules ?? {}).map((j) => [j.job, j]));
    const jobSchedule = (job: WatchedJob) => watched.get(job);
    const schedule = (
      id: string,
      expression: string,
      target: lambda.IFunction,
      job: string,
      zone: TimeZone = timeZone,
      enabled = true,
    ) =>
      new scheduler.Schedule(this, id, {
        description: `certrotor ${job}`,
        enabled,
        schedule: scheduler.ScheduleExpression.expression(expression, zone),
        target: new schedulerTargets.LambdaInvoke(target, {
          input: scheduler.ScheduleTargetInput.fromObject({
            job,
            scheduledAt: '<aws.scheduler.scheduled-time>',
          }),
          deadLetterQueue: this.scheduleDeadLetterQueue,
          retryAttempts,
          maxEventAge,
        }),
      });
    schedule(
      'InventorySchedule',
      props.schedules?.inventory ?? config.schedules.inventory.expression,
      this.functions.inventory,
      'inventory',
      TimeZone.of(jobSchedule('inventory')?.timeZone ?? timeZone.timezoneName),
      config.schedules.inventory.enabled,
    );
    schedule(
      'ProbeSchedule',
      props.schedules?.probe ?? config.schedules.probe.expression,
      this.functions.probe,
      'probe',
      TimeZone.of(jobSchedule('probe')?.timeZone ?? timeZone.timezoneName),
      config.schedules.probe.enabled,
    );
    schedule(
      'UpstreamSchedule',
      props.schedules?.upstream ?? config.schedules.upstream.expression,
      this.functions['upstream-watch'],
      'upstream',
      TimeZone.of(jobSchedule('upstream')?.timeZone ?? timeZone.timezoneName),
      config.schedules.upstream.enabled,
    );
    schedule(
      'PlannerSchedule',
      props.schedules?.planner ?? 'rate(1 hour)',
      this.functions.planner,
      'planner',
    );
    const digestExpression = props.schedules?.digest ?? config.notifications.digest.schedule;
    const digestTimeZone =
      config.notifications.digest.timeZone ?? props.schedules?.timeZone ?? config.schedules.timeZone;
    if (digestFunction) {
      schedule('DigestSchedule', digestExpression, digestFunction, 'digest', TimeZone.of(digestTimeZone));
    }

    // --- notifier -------------------------------------------------------------------------------------
    this.notifierDeadLetterQueue = deadLetterQueue(this, 'NotifierDeadLetters', this.key);
    new lambda.EventInvokeConfig(this, 'NotifierAsync', {
      function: this.functions.notifier,
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new lambdaDestinations.SqsDestination(this.notifierDeadLetterQueue),
    });
    new events.Rule(this, 'NotifyRule', {
      description: 'certrotor events to the Slack notifier',
      eventBus: this.bus,
      eventPattern: { source: [EVENT_SOURCE], detailType: [...DETAIL_TYPES] },
      targets: [
        new eventTargets.LambdaFunction(this.functions.notifier, {
          deadLetterQueue: this.notifierDeadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
        }),
      ],
    });

    // --- AWS's own signals ----------------------------------------------------------------------------
    new events.Rule(this, 'AcmExpiryRule', {
      description: 'ACM expiry events into the certrotor evaluation',
      eventPattern: { source: ['aws.acm'], detailType: [ACM_EXPIRY_DETAIL_TYPE] },
      targets: [
        new eventTargets.LambdaFunction(this.functions['acm-expiry-event'], {
          deadLetterQueue: this.scheduleDeadLetterQueue,
          retryAttempts: 8,
        }),
      ],
    });
    if (props.manageAcmAccountSettings ?? true) {
      new acm.CfnAccount(this, 'AcmAccount', {
        expiryEventsConfiguration: { daysBeforeExpiry: config.aws.acmDaysBeforeExpiry },
      });
    }
    new events.Rule(this, 'HealthRule', {
      description: 'AWS Health scheduled changes (e.g. database CA rotations) to the upstream watcher',
      eventPattern: { source: ['aws.health'], detailType: ['AWS Health Event'] },
      targets: [
        new eventTargets.LambdaFunction(this.functions['upstream-watch'], {
          deadLetterQueue: this.scheduleDeadLetterQueue,
          retryAttempts: 8,
        }),
      ],
    });

    // --- alarms and dashboard -----------------------------------------------------------------------------
    const metric = (metricName: string, statistic: string, period = Duration.hours(1)) =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName,
        dimensionsMap: { service: SERVICE_NAME },
        statistic,
        period,
      });
    const alarms: cloudwatch.Alarm[] = [];
    const alarm = (id: string, props: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, id, props);
      created.addAlarmAction(alarmAction);
      alarms.push(created);
      return created;
    };
    const minimumDaysLeft = metric('MinimumDaysLeft', 'Minimum');
    alarm('MinimumDaysLeftAlarm', {
      alarmDescription: `A certificate certrotor sees has fewer than ${props.minimumDaysLeftAlarm ?? 14} days left (missing data means the inventory stopped reporting)`,
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
        return [
          job,
          { expression: j?.expression ?? '', zone: j?.timeZone ?? 'UTC', enabled: j !== undefined },
        ];
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
      heartbeats.push(metric(name, 'Sum', shape.period).with({ label: job }));
      alarm(`${name}Alarm`, {
        alarmDescription: `Dead man's switch: certrotor ${job} has not completed on schedule (${expression}) for ${window.toHumanString()}; a Scan Missed event names the miss`,
        metric: metric(name, 'Sum', shape.period),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: shape.evaluationPeriods,
        datapointsToAlarm: shape.evaluationPeriods,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
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
    // A scan that ran but could not read a source, probe an endpoint or watch an upstream completes
    // (the rest of the run is not lost) and says so in these metrics; someone must look.
    alarm('ScanProblemsAlarm', {
      alarmDescription:
        'A scheduled scan could not read a source, probe an endpoint or watch an upstream (the logs name each "scan problem" and "upstream watch problem")',
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(scan, 0) + FILL(upstream, 0) + FILL(starts, 0)',
        usingMetrics: {
          scan: metric('ScanFailures', 'Sum', Duration.hours(1)),
          upstream: metric('UpstreamWatchFailures', 'Sum', Duration.hours(1)),
          starts: metric('RotationStartFailures', 'Sum', Duration.hours(1)),
        },
        period: Duration.hours(1),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('RotationFailedAlarm', {
      alarmDescription:
        'A rotation workflow failed, timed out or was aborted (check the execution and its Rotation Failed event)',
      metric: new cloudwatch.MathExpression({
        expression: 'failed + timedOut + aborted',
        usingMetrics: {
          failed: this.stateMachine.metricFailed({ period: Duration.minutes(5) }),
          timedOut: this.stateMachine.metricTimedOut({ period: Duration.minutes(5) }),
          aborted: this.stateMachine.metricAborted({ period: Duration.minutes(5) }),
        },
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const [name, f] of Object.entries(this.functions)) {
      alarm(`${pascal(name)}ErrorsAlarm`, {
        alarmDescription: `certrotor ${name} function errors`,
        metric: f.metricErrors({ period: Duration.minutes(15), statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    const dlqAlarm = (id: string, queue: sqs.Queue, what: string) =>
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
    dlqAlarm('NotifierDeadLettersAlarm', this.notifierDeadLetterQueue, 'Undeliverable notifications');
    dlqAlarm(
      'ScheduleDeadLettersAlarm',
      this.scheduleDeadLetterQueue,
      'Scheduled jobs or AWS events that could not be delivered',
    );

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
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
              this.stateMachine.metricStarted(),
              this.stateMachine.metricSucceeded(),
              this.stateMachine.metricFailed(),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Function errors',
            left: Object.values(this.functions).map((f) => f.metricErrors()),
            width: 12,
          }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 })],
      ],
    });

    acknowledgeNagFindings(this);
  }
}

/**
 * cdk-nag AwsSolutions findings that are intended, each with its reason. Scoped as narrowly as the
 * finding allows (granular IAM5 ids name the exact action or resource).
 */
function acknowledgeNagFindings(rotor: CertRotor): void {
  const ack = (scope: Construct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });
  for (const f of Object.values(rotor.functions)) {
    ack(
      f,
      'AwsSolutions-L1',
      'Pinned to nodejs22.x on purpose: the runtime the code is tested on; upgrades are deliberate',
    );
    ack(
      f,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "AWSLambdaBasicExecutionRole only allows writing the function's own CloudWatch logs",
    );
    ack(
      f,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'CDK key grant: data keys of the certrotor key only (resource is that key)',
    );
    ack(
      f,
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      'CDK key grant: re-encryption with the certrotor key only (resource is that key)',
    );
    ack(
      f,
      'AwsSolutions-IAM5[Resource::*]',
      'Actions without resource-level permissions: X-Ray PutTraceSegments/PutTelemetryRecords, acm:ListCertificates, secretsmanager:ListSecrets, ssm:GetCommandInvocation; tagged-secret reads are conditioned on the certrotor:certificate tag',
    );
  }
  for (const name of ['inventory', 'acm-expiry-event'] as const) {
    ack(
      rotor.functions[name],
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:acm:<AWS::Region>:<AWS::AccountId>:certificate/*]',
      'The inventory reads every ACM certificate of the account and region: discovering them is its job',
    );
  }
  // The rotation steps and the upstream watcher (which delivers vendor material) share the delivery grants.
  for (const rotation of [rotor.functions['rotation-step'], rotor.functions['upstream-watch']]) {
    ack(
      rotation,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:' +
        rotor.config.aws.secretPrefix +
        '*]',
      'Bundle and issuance secrets are created per certificate and version under the certrotor prefix; nothing outside it',
    );
    ack(
      rotation,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:document/certrotor-*]',
      'Only certrotor install documents',
    );
    ack(
      rotation,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
      'Instances are selected by tag at run time (SSM destination); SendCommand is limited to certrotor documents',
    );
  }
  ack(
    rotor.stateMachine,
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray tracing and CloudWatch Logs delivery have no resource-level permissions',
  );
  const stack = Stack.of(rotor);
  for (const f of [rotor.stateMachine.node.tryFindChild('Role'), ...Object.values(rotor.functions)]) {
    if (!f || !(f instanceof lambda.Function)) continue;
    ack(
      stack,
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(f.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      'Invoking any version or alias of the certrotor function (the scheduler and Step Functions targets)',
    );
  }
  ack(
    rotor.scheduleDeadLetterQueue,
    'AwsSolutions-SQS3',
    'This queue is the dead-letter queue of the schedules and AWS event rules',
  );
  ack(
    rotor.notifierDeadLetterQueue,
    'AwsSolutions-SQS3',
    'This queue is the dead-letter queue of the notifier',
  );
  for (const secret of rotor.webhookSecrets) {
    ack(
      secret,
      'AwsSolutions-SMG4',
      'A Slack webhook URL cannot be rotated by Secrets Manager: it is replaced in Slack, then put here',
    );
  }
}

function grantRotation(
  scope: Construct,
  fn: lambda.IFunction,
  secretPrefix: string,
  options: { issue?: boolean } = {},
): void {
  const stack = Stack.of(scope);
  const config = (scope as CertRotor).config;
  const secretArn = (name: string) =>
    name.startsWith('arn:')
      ? name
      : stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${name}-??????`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
  const destinationSecrets = config.destinations.flatMap((d) =>
    d.kind === 'secrets-manager' ? [secretArn(d.secretId)] : [],
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'CertificateSecrets',
      actions: [
        'secretsmanager:CreateSecret',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:TagResource',
      ],
      resources: [
        stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${secretPrefix}*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
        ...destinationSecrets,
      ],
    }),
  );
  (scope as CertRotor).key.grantEncryptDecrypt(fn);
  const cas =
    options.issue === false
      ? []
      : config.issuers.flatMap((i) => (i.kind === 'acm-pca' ? [i.certificateAuthorityArn] : []));
  if (cas.length > 0) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PrivateCa',
        actions: [
          'acm-pca:IssueCertificate',
          'acm-pca:GetCertificate',
          'acm-pca:DescribeCertificateAuthority',
        ],
        resources: cas,
      }),
    );
  }
  const acmArns = config.destinations.flatMap((d) => (d.kind === 'acm' ? [d.certificateArn] : []));
  if (acmArns.length > 0) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AcmReimport',
        actions: [
          'acm:ImportCertificate',
          'acm:DescribeCertificate',
          'acm:GetCertificate',
          'acm:ListTagsForCertificate',
          'acm:AddTagsToCertificate',
        ],
        resources: acmArns,
      }),
    );
  }
  if (config.destinations.some((d) => d.kind === 'ssm')) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SsmInstall',
        actions: ['ssm:SendCommand'],
        resources: [
          stack.formatArn({ service: 'ssm', resource: 'document', resourceName: 'certrotor-*' }),
          stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' }),
        ],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SsmResults',
        actions: ['ssm:GetCommandInvocation', 'ssm:ListCommandInvocations', 'ec2:DescribeInstances'],
        resources: ['*'],
      }),
    );
  }
}

function grantInventory(scope: Construct, fn: lambda.IFunction): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ListCertificates',
      actions: ['acm:ListCertificates', 'secretsmanager:ListSecrets'],
      resources: ['*'],
    }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ReadAcmCertificates',
      actions: ['acm:DescribeCertificate', 'acm:GetCertificate'],
      resources: [Stack.of(scope).formatArn({ service: 'acm', resource: 'certificate', resourceName: '*' })],
    }),
  );
  // Only secrets tagged as certificates; the inventory never reads webhook or other secrets.
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ReadTaggedCertificateSecrets',
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resources: ['*'],
      conditions: { Null: { 'aws:ResourceTag/certrotor:certificate': 'false' } },
    }),
  );
  // The private CAs' own certificates are inventory too (no AWS event warns of a CA's expiry).
  const cas = (scope as CertRotor).config.issuers.flatMap((i) =>
    i.kind === 'acm-pca' ? [i.certificateAuthorityArn] : [],
  );
  if (cas.length > 0) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadPrivateCaCertificates',
        actions: ['acm-pca:DescribeCertificateAuthority', 'acm-pca:GetCertificateAuthorityCertificate'],
        resources: cas,
      }),
    );
  }
  (scope as CertRotor).key.grantDecrypt(fn);
}

function deadLetterQueue(scope: Construct, id: string, key: kms.IKey): sqs.Queue {
  return new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
}

/** Webhook secrets named in the configuration (by name, not ARN) that the stack creates. */
function webhookSecretNames(config: CertrotorConfig): string[] {
  const names = config.notifications.channels.flatMap((c) =>
    c.webhook.secretId !== undefined ? [c.webhook.secretId] : [],
  );
  return [...new Set(names)].filter((n) => !n.startsWith('arn:'));
}

/**
 * Writes the configuration document into the assembly directory so each bundle can carry it: the
 * functions read it at cold start (too large for environment variables, and versioned with the code).
 */
function writeBundledConfig(scope: Construct, document: unknown): string {
  const text = `${JSON.stringify(document, null, 1)}\n`;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const directory = join(Stage.of(scope)?.outdir ?? join(ROOT, 'cdk.out'), '.certrotor');
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `config-${hash}.json`);
  writeFileSync(file, text);
  return file;
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

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
}

/**
 * Opt-in: the fleet report (the page `certrotor report` writes) rebuilt on a schedule by a Lambda
 * function from the CertRotor's state table and put into a private, versioned, KMS-encrypted S3
 * bucket. Nothing is public: read it with `aws s3 cp s3://<bucket>/certrotor-report.html .` or a
 * presigned URL. The page is self-contained (no network when viewed).
 *
 *   const rotor = new CertRotor(stack, 'CertRotor', { configuration });
 *   new ScheduledReport(stack, 'FleetReport', { rotor, configuration });
 */
import {
  Duration,
  RemovalPolicy,
  TimeZone,
  aws_dynamodb as dynamodb,
  aws_events as events,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_s3 as s3,
  aws_scheduler as scheduler,
  aws_scheduler_targets as schedulerTargets,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE, SERVICE_NAME, handlerFunction, writeBundledConfig } from './job-functions';

/** What the report needs of the CertRotor it shows. */
export interface ReportedRotor {
  readonly key: kms.IKey;
  readonly table: dynamodb.ITable;
  readonly bus: events.IEventBus;
}

export interface ScheduledReportProps {
  /** The CertRotor whose state the report shows. */
  readonly rotor: ReportedRotor;
  /** The configuration document given to the CertRotor (as parsed, before validation). */
  readonly configuration: unknown;
  /** When to rebuild the report (EventBridge Scheduler expression). @default rate(1 day) */
  readonly schedule?: string;
  /** IANA time zone of a cron schedule. @default UTC */
  readonly timeZone?: string;
  /** Object key of the page. @default certrotor-report.html */
  readonly objectKey?: string;
  /** Earlier versions of the page are kept this long. @default 30 days */
  readonly keepVersionsFor?: Duration;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
}

export const REPORT_HANDLER = 'report';

export class ScheduledReport extends Construct {
  readonly bucket: s3.Bucket;
  readonly function: lambda.Function;
  readonly schedule: scheduler.Schedule;
  readonly objectKey: string;

  constructor(scope: Construct, id: string, props: ScheduledReportProps) {
    super(scope, id);
    const { rotor } = props;
    this.objectKey = props.objectKey ?? 'certrotor-report.html';
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: rotor.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      versioned: true,
      lifecycleRules: [{ noncurrentVersionExpiration: props.keepVersionsFor ?? Duration.days(30) }],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    const configFile = writeBundledConfig(this, props.configuration);
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: rotor.key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const common = {
      description: 'certrotor: the fleet report, rebuilt from the state into the report bucket',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.minutes(2),
      memorySize: 512,
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
        NODE_OPTIONS: '--enable-source-maps',
        CERTROTOR_HANDLER: REPORT_HANDLER,
        CERTROTOR_TABLE_NAME: rotor.table.tableName,
        CERTROTOR_EVENT_BUS_NAME: rotor.bus.eventBusName,
        CERTROTOR_KMS_KEY_ID: rotor.key.keyArn,
        CERTROTOR_REPORT_BUCKET: this.bucket.bucketName,
        CERTROTOR_REPORT_KEY: this.objectKey,
      },
    };
    this.function = handlerFunction(this, 'Function', REPORT_HANDLER, common, configFile);

    // Reads state, writes one object; nothing else.
    rotor.table.grantReadData(this.function);
    rotor.key.grantDecrypt(this.function);
    this.bucket.grantPut(this.function, this.objectKey);

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'certrotor: rebuild the fleet report',
      schedule: scheduler.ScheduleExpression.expression(
        props.schedule ?? 'rate(1 day)',
        props.timeZone ? TimeZone.of(props.timeZone) : undefined,
      ),
      target: new schedulerTargets.LambdaInvoke(this.function, {
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      }),
    });
  }
}

/**
 * Opt-in: the fleet report (the page `certrotor report` writes) rebuilt on a schedule by a Lambda
 * function from the CertRotor's state table and put into a private, versioned, KMS-encrypted S3
 * bucket. Nothing is public: read it with `aws s3 cp s3://<bucket>/certrotor-report.html .` or a
 * presigned URL. The page is self-contained (no network when viewed).
 *
 *   const rotor = new CertRotor(stack, 'CertRotor', { configuration });
 *   new ScheduledReport(stack, 'FleetReport', { rotor, configuration });
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Duration,
  RemovalPolicy,
  Stage,
  TimeZone,
  aws_dynamodb as dynamodb,
  aws_events as events,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_lambda_nodejs as nodejs,
  aws_logs as logs,
  aws_s3 as s3,
  aws_scheduler as scheduler,
  aws_scheduler_targets as schedulerTargets,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import {
  BUNDLED_CONFIG_FILE,
  HANDLER_BUNDLES_DIRECTORY,
  HANDLER_BUNDLING,
  METRIC_NAMESPACE,
  SERVICE_NAME,
  packageRoot,
} from './job-functions';

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

    const root = packageRoot();
    const configFile = writeConfigDocument(this, props.configuration, root);
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
    const fromSources =
      existsSync(join(root, 'package-lock.json')) && existsSync(join(root, 'lambda', 'handlers'));
    this.function = fromSources
      ? new nodejs.NodejsFunction(this, 'Function', {
          ...common,
          entry: join(root, 'lambda', 'handlers', `${REPORT_HANDLER}.ts`),
          handler: 'handler',
          projectRoot: root,
          depsLockFilePath: join(root, 'package-lock.json'),
          bundling: {
            ...HANDLER_BUNDLING,
            externalModules: [...HANDLER_BUNDLING.externalModules],
            mainFields: [...HANDLER_BUNDLING.mainFields],
            format: nodejs.OutputFormat.CJS,
            commandHooks: {
              beforeBundling: () => [],
              beforeInstall: () => [],
              afterBundling: (_input, output) => [`cp "${configFile}" "${output}/${BUNDLED_CONFIG_FILE}"`],
            },
          },
        })
      : new lambda.Function(this, 'Function', {
          ...common,
          handler: 'index.handler',
          code: lambda.Code.fromAsset(stagePrebuilt(this, root, configFile)),
        });

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

/** The configuration document in the assembly directory, copied next to the handler. */
function writeConfigDocument(scope: Construct, document: unknown, root: string): string {
  const text = `${JSON.stringify(document, null, 1)}\n`;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const directory = join(Stage.of(scope)?.outdir ?? join(root, 'cdk.out'), '.certrotor');
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `report-config-${hash}.json`);
  writeFileSync(file, text);
  return file;
}

/** An installed package: the pre-built handler bundle and the configuration, staged for an asset. */
function stagePrebuilt(scope: Construct, root: string, configFile: string): string {
  const bundle = join(root, HANDLER_BUNDLES_DIRECTORY, REPORT_HANDLER);
  if (!existsSync(join(bundle, 'index.js')))
    throw new Error(
      `certrotor: ${join(bundle, 'index.js')} is missing: this package was packed without its handler bundles`,
    );
  const directory = join(
    Stage.of(scope)?.outdir ?? join(root, 'cdk.out'),
    '.certrotor',
    `${REPORT_HANDLER}-${createHash('sha256').update(configFile).digest('hex').slice(0, 12)}`,
  );
  mkdirSync(directory, { recursive: true });
  for (const file of readdirSync(bundle)) copyFileSync(join(bundle, file), join(directory, file));
  copyFileSync(configFile, join(directory, BUNDLED_CONFIG_FILE));
  return directory;
}

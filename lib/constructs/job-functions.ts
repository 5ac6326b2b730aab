/**
 * One Lambda function per certrotor job, all alike: Node.js 22 on arm64, JSON logs into an encrypted
 * log group with a retention, active tracing, Powertools settings, and the configuration document
 * bundled next to the handler (the functions read it at cold start).
 *
 * Functions are created directly in the CertRotor's scope so the logical ids of a deployed stack do
 * not change.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  Duration,
  RemovalPolicy,
  Stage,
  aws_dynamodb as dynamodb,
  aws_events as events,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_lambda_nodejs as nodejs,
  aws_logs as logs,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { PlacementFunctionOptions } from './network-placement';

/** Metric namespace of every certrotor metric (EMF from the handlers). */
export const METRIC_NAMESPACE = 'certrotor';
/** Powertools service name: the `service` dimension of every metric. */
export const SERVICE_NAME = 'certrotor';
/** File name of the configuration document inside each function bundle. */
export const BUNDLED_CONFIG_FILE = 'certrotor-config.json';

export type HandlerName =
  | 'inventory'
  | 'probe'
  | 'planner'
  | 'rotation-step'
  | 'notifier'
  | 'acm-expiry-event'
  | 'upstream-watch'
  | 'digest';

export interface FunctionSpec {
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
}

/** Sized per job: probing and inventory fan out on the network; the rest are short. */
export const FUNCTIONS: Record<HandlerName, FunctionSpec> = {
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

/**
 * The certrotor package's root directory (holds lambda/ and package.json), wherever this code runs
 * from: the TypeScript sources, the CDK app bundle in dist/, or an installed package.
 */
export function packageRoot(): string {
  let directory = __dirname;
  for (;;) {
    const manifest = join(directory, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'certrotor'
    )
      return directory;
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`certrotor: no certrotor package.json above ${__dirname}`);
    directory = parent;
  }
}

export interface JobFunctionsProps {
  readonly key: kms.IKey;
  readonly table: dynamodb.ITable;
  readonly bus: events.IEventBus;
  readonly logRetention: logs.RetentionDays;
  /** The configuration document the functions carry. */
  readonly configuration: unknown;
  /** Schedule overrides the jobs' Scan Missed check must know (CERTROTOR_SCHEDULES). */
  readonly schedules?: object;
}

export interface JobFunctionOptions {
  /** Construct id of the function (its log group is `<id>Logs`). @default the handler name in PascalCase */
  readonly id?: string;
  /** Runs the function inside a VPC. @default outside any VPC */
  readonly network?: PlacementFunctionOptions;
}

export type JobFunctionFactory = (
  name: HandlerName,
  environment?: Record<string, string>,
  options?: JobFunctionOptions,
) => nodejs.NodejsFunction;

/** A factory of job functions (`<Name>` and `<Name>Logs` in `scope`) sharing key, table, bus and configuration. */
export function jobFunctionFactory(scope: Construct, props: JobFunctionsProps): JobFunctionFactory {
  const root = packageRoot();
  const configFile = writeBundledConfig(scope, props.configuration, root);
  return (name, environment = {}, options = {}) => {
    const spec = FUNCTIONS[name];
    const id = options.id ?? pascal(name);
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return new nodejs.NodejsFunction(scope, id, {
      ...options.network,
      entry: join(root, 'lambda', 'handlers', `${name}.ts`),
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
      projectRoot: root,
      depsLockFilePath: join(root, 'package-lock.json'),
      environment: {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
        POWERTOOLS_TRACER_CAPTURE_ERROR: 'true',
        NODE_OPTIONS: '--enable-source-maps',
        CERTROTOR_HANDLER: name,
        CERTROTOR_TABLE_NAME: props.table.tableName,
        CERTROTOR_EVENT_BUS_NAME: props.bus.eventBusName,
        CERTROTOR_KMS_KEY_ID: props.key.keyArn,
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
}

/**
 * Writes the configuration document into the assembly directory so each bundle can carry it: the
 * functions read it at cold start (too large for environment variables, and versioned with the code).
 */
function writeBundledConfig(scope: Construct, document: unknown, root: string): string {
  const text = `${JSON.stringify(document, null, 1)}\n`;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const directory = join(Stage.of(scope)?.outdir ?? join(root, 'cdk.out'), '.certrotor');
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `config-${hash}.json`);
  writeFileSync(file, text);
  return file;
}

/** `rotation-step` → `RotationStep`: construct ids of a job's resources. */
export function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
}

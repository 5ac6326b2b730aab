/**
 * One Lambda function per certrotor job, all alike: Node.js 22 on arm64, JSON logs into an encrypted
 * log group with a retention, active tracing, Powertools settings, and the configuration document
 * bundled next to the handler (the functions read it at cold start).
 *
 * Functions are created directly in the CertRotor's scope so the logical ids of a deployed stack do
 * not change.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
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
  /** Variables every function gets (e.g. the placement probes the Scan Missed check watches). */
  readonly environment?: Readonly<Record<string, string>>;
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
) => lambda.Function;

/** esbuild settings of every handler bundle (NodejsFunction in a checkout, scripts/build-package.mjs at pack time). */
export const HANDLER_BUNDLING = {
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  target: 'node22',
  // The runtime's AWS SDK v3 is used (keeps each bundle under 1 MB); ESM entry points let esbuild tree-shake.
  externalModules: ['@aws-sdk/*'],
  mainFields: ['module', 'main'],
} as const;

/** Where `npm pack` leaves the pre-built handler bundles (`<dir>/<handler>/index.js`). */
export const HANDLER_BUNDLES_DIRECTORY = 'dist-handlers';

/**
 * A factory of job functions (`<Name>` and `<Name>Logs` in `scope`) sharing key, table, bus and
 * configuration. In a checkout (handler sources and the lock file present) each handler is bundled
 * by NodejsFunction; in an installed package, from the bundles built at pack time, so a consumer
 * needs neither esbuild, nor Docker, nor this project's lock file.
 */
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
    const common = {
      ...options.network,
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
        ...props.environment,
        ...environment,
      },
    };
    return handlerFunction(scope, id, name, common, configFile);
  };
}

/**
 * One certrotor handler as a Lambda function, carrying the configuration file: bundled from the
 * sources in this repository, or, in an installed package, from its pre-built bundle (no esbuild,
 * Docker or lock file needed). Every certrotor function, job or opt-in, is built here.
 */
export function handlerFunction(
  scope: Construct,
  id: string,
  name: string,
  common: lambda.FunctionOptions & { readonly runtime: lambda.Runtime },
  configFile: string,
): lambda.Function {
  const root = packageRoot();
  const fromSources =
    existsSync(join(root, 'package-lock.json')) && existsSync(join(root, 'lambda', 'handlers'));
  if (!fromSources) {
    return new lambda.Function(scope, id, {
      ...common,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(stagePrebuiltBundle(scope, root, name, configFile)),
    });
  }
  return new nodejs.NodejsFunction(scope, id, {
    ...common,
    entry: join(root, 'lambda', 'handlers', `${name}.ts`),
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
  });
}

/** A directory holding the pre-built bundle of `name` and the configuration file, for Code.fromAsset. */
function stagePrebuiltBundle(scope: Construct, root: string, name: string, configFile: string): string {
  const bundle = join(root, HANDLER_BUNDLES_DIRECTORY, name);
  if (!existsSync(join(bundle, 'index.js')))
    throw new Error(
      `certrotor: ${join(bundle, 'index.js')} is missing: this package was packed without its handler bundles (npm run build:lib)`,
    );
  const directory = join(
    Stage.of(scope)?.outdir ?? join(root, 'cdk.out'),
    '.certrotor',
    `${name}-${basename(configFile, '.json')}`,
  );
  mkdirSync(directory, { recursive: true });
  for (const file of readdirSync(bundle)) copyFileSync(join(bundle, file), join(directory, file));
  copyFileSync(configFile, join(directory, BUNDLED_CONFIG_FILE));
  return directory;
}

/**
 * Writes the configuration document into the assembly directory so each bundle can carry it: the
 * functions read it at cold start (too large for environment variables, and versioned with the code).
 */
export function writeBundledConfig(scope: Construct, document: unknown, root = packageRoot()): string {
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

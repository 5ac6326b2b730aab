/**
 * CertRotor: the deployed certrotor service as one L3 construct. Drop it into any CDK app with a
 * certrotor configuration document (the same file the CLI reads); everything else has a default.
 *
 * What it creates, one small construct module each (lib/constructs/): the state table and its key
 * (state-table), the event bus and AWS's own signals (event-bus), one Lambda per job (job-functions),
 * EventBridge Scheduler schedules with retries and a dead-letter queue (scheduled-jobs), the rotation
 * state machine (rotation-workflow), the Slack notifier (notifier), roles scoped per function
 * (permissions), alarms, a dead man's switch and an opt-in dashboard (alarms-dashboard).
 */
import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  aws_cloudwatch as cloudwatch,
  aws_dynamodb as dynamodb,
  aws_events as events,
  aws_iam as iam,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_stepfunctions as sfn,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { type CertrotorConfig, validateConfig } from '../lambda/config/configuration';
import { ConfigurationError } from '../lambda/domain/errors';
import {
  PROBE_ENVIRONMENTS_VARIABLE,
  PROBE_PLACEMENTS_VARIABLE,
  PROBE_PLACEMENT_VARIABLE,
  PROBE_READS_INVENTORY_VARIABLE,
} from '../lambda/handlers/support/probe-environments';
import { VERIFIERS_VARIABLE } from '../lambda/domain/rotation/placements';
import { DEFAULT_PROBE_SHARD_SIZE } from '../lambda/use-cases/probe-shards';
import { readConfigurationFile } from './configuration-file';
import type { CertRotorConfiguration } from './configuration-type';
import { createAlarmsAndDashboard } from './constructs/alarms-dashboard';
import { createEventBus, routeAwsSignals } from './constructs/event-bus';
import { registerEventSchemas } from './constructs/event-schemas';
import { type HandlerName, jobFunctionFactory, pascal } from './constructs/job-functions';
import {
  type NetworkPlacement,
  placementOptions,
  placementProblems,
  warnAboutUnreachableEndpoints,
} from './constructs/network-placement';
import { acknowledgeNagFindings } from './constructs/nag-acknowledgements';
import {
  createWebhookSecrets,
  reserveSlackConcurrency,
  routeToNotifier,
  webhookSecretEnvironment,
} from './constructs/notifier';
import { withTrustFileContents } from './constructs/bundled-trust';
import { grantJobPermissions } from './constructs/permissions';
import { ProbeShards } from './constructs/probe-shards';
import { createRotationWorkflow } from './constructs/rotation-workflow';
import { ScheduledReport, type ScheduledReportProps } from './constructs/scheduled-report';
import { type ScheduleOverrides, createScheduledJobs, scheduleSettings } from './constructs/scheduled-jobs';
import { createStateTable } from './constructs/state-table';

export { ACM_EXPIRY_DETAIL_TYPE } from './constructs/event-bus';
export {
  BUNDLED_CONFIG_FILE,
  type HandlerName,
  METRIC_NAMESPACE,
  SERVICE_NAME,
} from './constructs/job-functions';
export { alarmShape, heartbeatWindowFor } from './constructs/alarms-dashboard';
export type { NetworkPlacement } from './constructs/network-placement';

export type CertRotorSchedules = ScheduleOverrides;

export interface CertRotorProps {
  /**
   * The certrotor configuration, typed: the compiler checks its keys, nesting, kinds and literal
   * values. Give this or `configuration`. Validated here at synth time (formats, references between
   * sections) and again by each function at cold start.
   */
  readonly config?: CertRotorConfiguration;
  /**
   * The certrotor configuration document as parsed from YAML/JSON, before validation (the CLI's
   * `--config` file; see `readConfigurationFile` and `CertRotor.fromFile`). Give this or `config`.
   * Validated here at synth time and again by each function at cold start.
   */
  readonly configuration?: unknown;
  /** Names the configuration in validation errors. @default 'configuration' */
  readonly configurationName?: string;
  /** Schedule overrides. @default the configuration's `schedules` section */
  readonly schedules?: CertRotorSchedules;
  /**
   * Upper bound on the targets of one batch delivered at once by the workflow (Map MaxConcurrency).
   * The batches themselves come from each certificate's `rollout` (canary, batchSize). @default 5
   */
  readonly rolloutConcurrency?: number;
  /**
   * Reserved concurrency of the notifier and the digest sender. At 1, one process paces each webhook
   * (at most `notifications.delivery.messagesPerSecond`); EventBridge and the scheduler queue and retry
   * the rest. Opt-in: a reservation can fail a first deploy in a new account whose concurrency limit
   * leaves nothing to reserve. @default undefined — unreserved, so pacing holds per concurrent
   * invocation only
   */
  readonly slackConcurrency?: number;
  /**
   * Rebuild the fleet report (the page `certrotor report` writes) into a private, versioned,
   * KMS-encrypted S3 bucket on a schedule. Opt-in. @default no report bucket
   */
  readonly report?: Omit<ScheduledReportProps, 'rotor' | 'configuration'>;
  /** Longest a rotation may run before Step Functions stops it. @default 2 hours */
  readonly rotationTimeout?: Duration;
  /**
   * Alarm when a certificate has fewer days left than this, on the thresholds' scale (scaled by
   * lifetime like every alert, `notifications.thresholdScaling`). @default 14
   */
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
   * (`AWS::CertificateManager::Account`, `aws.acmDaysBeforeExpiry`). There is one per account and
   * region, so only one stack may own it: opt-in. @default false — ACM's own setting (45 days unless
   * someone changed it)
   */
  readonly manageAcmAccountSettings?: boolean;
  /**
   * A fixed name for the event bus, for CLIs (`--backend aws`) that name it in `aws.eventBusName`.
   * Two CertRotors in one account and region need different names. @default a name CloudFormation
   * generates (see the `EventBusName` output)
   */
  readonly eventBusName?: string;
  /**
   * VPCs the functions that open connections run in, each reaching the endpoints of some
   * environments. One probe function per placement probes those environments' endpoints; the default
   * probe (outside any VPC) probes the others. @default none: every function runs outside any VPC and
   * reaches only public endpoints (synth warns about private ones)
   */
  readonly networkPlacements?: readonly NetworkPlacement[];
  /**
   * The placement (by name) the rotation steps run in, so verification reaches that placement's
   * environments. @default the only placement when exactly one is given, else outside any VPC
   */
  readonly rotationPlacement?: string;
  /** The placement (by name) the upstream watch runs in. @default as `rotationPlacement` */
  readonly upstreamWatchPlacement?: string;
  /**
   * Endpoints one probe invocation takes. A probe function (the default one, or a placement's) with
   * more endpoints than this probes them as a sharded sweep: its schedule starts a Step Functions
   * workflow (`ProbeShards`, `ProbeShards<Placement>`) that probes each shard of this many endpoints
   * in its own invocation, then emits the sweep's one heartbeat. @default 1000
   */
  readonly probeShardSize?: number;
  /** Shards of one sharded sweep probed at once (Map MaxConcurrency). @default 10 */
  readonly probeShardConcurrency?: number;
  /**
   * One errors alarm per function. Every failure already raises another alarm: a scheduled job that
   * fails misses its heartbeat, a failed rotation raises the workflow alarm, a failed start the scan
   * problems alarm, an event the notifier or the ACM handler cannot process lands in a dead-letter
   * queue after its retries. These alarms only say it sooner, at $0.10 each. @default false
   */
  readonly functionErrorAlarms?: boolean;
  /**
   * Register the event catalogue in an EventBridge Schema Registry of this stack (one JSON Schema
   * draft-04 document per detail type, envelope included), for code bindings and discovery. @default false
   */
  readonly registerEventSchemas?: boolean;
  /**
   * A CloudWatch dashboard of the alarms' metrics ($3 a month: most of the bill of a small fleet; the
   * alarms do not need it). @default false
   */
  readonly dashboard?: boolean;
  /** What happens to the table, key and secrets when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** CloudWatch Logs retention for functions and the state machine. @default one month */
  readonly logRetention?: logs.RetentionDays;
}

/** The one configuration the props give (`config` or `configuration`). */
function configurationDocument(props: CertRotorProps): unknown {
  const given = [props.config, props.configuration].filter((c) => c !== undefined);
  if (given.length !== 1)
    throw new ConfigurationError('CertRotor props', [
      `give config (typed) or configuration (a parsed document)${given.length > 1 ? ', not both' : ''}`,
    ]);
  // The functions carry an ACME issuer's trustFile contents: its path exists only here.
  return withTrustFileContents(given[0]);
}

export class CertRotor extends Construct {
  /** @internal The validated configuration (its type lives with the handlers, not in the published API). */
  readonly config: CertrotorConfig;
  readonly key: kms.Key;
  readonly table: dynamodb.Table;
  readonly bus: events.EventBus;
  /** One function per job; `digest` only when the configuration enables the digest. */
  readonly functions: Record<Exclude<HandlerName, 'digest'>, lambda.Function> & {
    readonly digest?: lambda.Function;
  };
  readonly stateMachine: sfn.StateMachine;
  readonly scheduleDeadLetterQueue: sqs.Queue;
  readonly notifierDeadLetterQueue: sqs.Queue;
  readonly alarmTopic: sns.ITopic;
  readonly webhookSecrets: secretsmanager.Secret[];
  /** Only with the `dashboard` prop. */
  readonly dashboard?: cloudwatch.Dashboard;
  /** One probe function per network placement, by placement name. */
  readonly placementProbes: Readonly<Record<string, lambda.Function>>;
  /**
   * The rotation-step function of each placement the rotation steps do not run in, by placement name:
   * the workflow's Verify task routes each target whose environment that placement reaches to it.
   */
  readonly placementVerifiers: Readonly<Record<string, lambda.Function>>;
  /**
   * The sharded sweep of each probe function with more endpoints than `probeShardSize`, scheduled in
   * place of the function: `default` for the probe outside any VPC, else the placement's name.
   */
  readonly probeSweeps: Readonly<Record<string, sfn.StateMachine>>;
  /** Only with the `report` prop. */
  readonly report?: ScheduledReport;

  /**
   * A CertRotor for the configuration file at `path` (YAML or JSON, the CLI's `--config` file); its
   * problems are reported with the file's name.
   */
  static fromFile(
    scope: Construct,
    id: string,
    path: string,
    props: Omit<CertRotorProps, 'config' | 'configuration'> = {},
  ): CertRotor {
    return new CertRotor(scope, id, {
      configurationName: path,
      ...props,
      configuration: readConfigurationFile(path),
    });
  }

  constructor(scope: Construct, id: string, props: CertRotorProps) {
    super(scope, id);
    const document = configurationDocument(props);
    this.config = validateConfig(document, props.configurationName ?? 'configuration', {
      backend: 'aws',
    });
    const config = this.config;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    const placements = props.networkPlacements ?? [];
    const problems = placementProblems(config, placements, {
      rotationPlacement: props.rotationPlacement,
      upstreamWatchPlacement: props.upstreamWatchPlacement,
    });
    if (problems.length > 0) throw new ConfigurationError('CertRotor props', problems);
    const placementNamed = (name: string | undefined) =>
      name !== undefined
        ? placements.find((p) => p.name === name)
        : placements.length === 1
          ? placements[0]
          : undefined;
    const rotationPlacement = placementNamed(props.rotationPlacement);
    const upstreamWatchPlacement = placementNamed(props.upstreamWatchPlacement ?? props.rotationPlacement);
    warnAboutUnreachableEndpoints(this, {
      config,
      placements,
      ...(rotationPlacement ? { rotation: rotationPlacement } : {}),
      ...(upstreamWatchPlacement ? { upstreamWatch: upstreamWatchPlacement } : {}),
    });
    const inPlacement = (placement: NetworkPlacement | undefined) =>
      placement ? { network: placementOptions(placement) } : {};

    const { key, table } = createStateTable(this, { removalPolicy });
    this.key = key;
    this.table = table;
    this.bus = createEventBus(this, {
      ...(props.eventBusName !== undefined ? { eventBusName: props.eventBusName } : {}),
    });

    this.alarmTopic =
      props.alarmTopic ?? new sns.Topic(this, 'Alarms', { masterKey: this.key, enforceSSL: true });
    this.key.grantEncryptDecrypt(new iam.ServicePrincipal('cloudwatch.amazonaws.com'));

    const webhooks = createWebhookSecrets(this, { config, key: this.key, removalPolicy });
    this.webhookSecrets = webhooks.map((w) => w.secret);
    const webhookEnvironment = webhookSecretEnvironment(this, webhooks);

    const fn = jobFunctionFactory(this, {
      key: this.key,
      table: this.table,
      bus: this.bus,
      logRetention,
      configuration: document,
      ...(props.schedules ? { schedules: props.schedules } : {}),
      // Every scheduled job's Scan Missed check watches each placement's probe on its own.
      ...(placements.length > 0
        ? {
            environment: {
              [PROBE_PLACEMENTS_VARIABLE]: JSON.stringify(
                placements.map((p) => ({ name: p.name, environments: p.environments })),
              ),
            },
          }
        : {}),
    });
    const functions = {
      inventory: fn('inventory'),
      probe: fn('probe', probeEnvironments(config, placements)),
      'rotation-step': fn('rotation-step', {}, inPlacement(rotationPlacement)),
      notifier: fn('notifier', webhookEnvironment),
      'acm-expiry-event': fn('acm-expiry-event'),
      'upstream-watch': fn('upstream-watch', {}, inPlacement(upstreamWatchPlacement)),
      ...(config.notifications.digest.enabled ? { digest: fn('digest', webhookEnvironment) } : {}),
    } as Omit<CertRotor['functions'], 'planner'>;
    reserveSlackConcurrency([functions.notifier, functions.digest], props.slackConcurrency);
    this.placementProbes = Object.fromEntries(
      placements.map((p) => [
        p.name,
        fn(
          'probe',
          {
            [PROBE_ENVIRONMENTS_VARIABLE]: JSON.stringify(p.environments),
            [PROBE_PLACEMENT_VARIABLE]: p.name,
            [PROBE_READS_INVENTORY_VARIABLE]: String(p.readsInventory ?? false),
          },
          { id: pascal(`probe-${p.name}`), network: placementOptions(p) },
        ),
      ]),
    );
    // Verification is a fresh handshake from where the target is reachable: every placement but the
    // rotation's own gets a rotation-step function of its own, for the Verify task of its targets.
    const verifierPlacements = placements.filter((p) => p !== rotationPlacement);
    this.placementVerifiers = Object.fromEntries(
      verifierPlacements.map((p) => [
        p.name,
        fn('rotation-step', {}, { id: pascal(`rotation-step-${p.name}`), network: placementOptions(p) }),
      ]),
    );
    // A rollback restores and re-checks every touched target in one step: the rotation's function
    // probes the other placements' targets through their functions (a `probe` step).
    if (verifierPlacements.length > 0) {
      functions['rotation-step'].addEnvironment(
        VERIFIERS_VARIABLE,
        Stack.of(this).toJsonString(
          verifierPlacements.map((p) => ({
            name: p.name,
            environments: p.environments,
            functionName: this.placementVerifiers[p.name]!.functionName,
          })),
        ),
      );
      for (const verifier of Object.values(this.placementVerifiers))
        verifier.grantInvoke(functions['rotation-step']);
    }
    const probeSweeps = createProbeSweeps(this, {
      config,
      placements,
      probes: { default: functions.probe, ...this.placementProbes },
      shardSize: props.probeShardSize ?? DEFAULT_PROBE_SHARD_SIZE,
      ...(props.probeShardConcurrency !== undefined ? { maxConcurrency: props.probeShardConcurrency } : {}),
      key: this.key,
      logRetention,
    });
    this.probeSweeps = probeSweeps;
    const additionalProbes = Object.entries(this.placementProbes).map(([name, f]) => ({
      id: pascal(`probe-${name}`),
      function: f,
      ...(probeSweeps[name] ? { workflow: probeSweeps[name] } : {}),
    }));

    this.stateMachine = createRotationWorkflow(this, {
      step: functions['rotation-step'],
      verifiers: verifierPlacements.map((p) => ({
        placement: p.name,
        environments: p.environments,
        step: this.placementVerifiers[p.name]!,
      })),
      rolloutConcurrency: props.rolloutConcurrency ?? 5,
      timeout: props.rotationTimeout ?? Duration.hours(2),
      logRetention,
      key: this.key,
    });
    const planner = fn('planner', { CERTROTOR_STATE_MACHINE_ARN: this.stateMachine.stateMachineArn });
    this.functions = { ...functions, planner };

    const readers = placements.filter((p) => p.readsInventory).map((p) => this.placementProbes[p.name]!);
    grantJobPermissions(this, {
      config,
      key: this.key,
      table: this.table,
      bus: this.bus,
      stateMachine: this.stateMachine,
      webhookSecrets: this.webhookSecrets,
      functions: this.functions,
      additionalProbes: additionalProbes.map((p) => p.function),
      inventoryProbes: readers,
      additionalVerifiers: Object.values(this.placementVerifiers),
    });

    this.scheduleDeadLetterQueue = createScheduledJobs(this, {
      config,
      ...(props.schedules ? { overrides: props.schedules } : {}),
      key: this.key,
      inventory: this.functions.inventory,
      probe: this.functions.probe,
      ...(probeSweeps.default ? { probeWorkflow: probeSweeps.default } : {}),
      upstreamWatch: this.functions['upstream-watch'],
      planner: this.functions.planner,
      ...(this.functions.digest ? { digest: this.functions.digest } : {}),
      additionalProbes,
    });
    this.notifierDeadLetterQueue = routeToNotifier(this, {
      notifier: this.functions.notifier,
      bus: this.bus,
      key: this.key,
    });
    routeAwsSignals(this, {
      acmExpiry: this.functions['acm-expiry-event'],
      upstreamWatch: this.functions['upstream-watch'],
      deadLetterQueue: this.scheduleDeadLetterQueue,
      ...(props.manageAcmAccountSettings ? { acmDaysBeforeExpiry: config.aws.acmDaysBeforeExpiry } : {}),
      ...(config.issuers.some((i) => i.kind === 'acm') ? { acmRenewals: this.functions.planner } : {}),
    });

    const dashboard = createAlarmsAndDashboard(this, {
      ...(props.dashboard ? { dashboard: true } : {}),
      ...(props.functionErrorAlarms ? { functionErrorAlarms: true } : {}),
      alarmTopic: this.alarmTopic,
      schedules: scheduleSettings(config, props.schedules),
      stateMachine: this.stateMachine,
      functions: {
        ...this.functions,
        ...Object.fromEntries(Object.entries(this.placementProbes).map(([n, f]) => [`probe-${n}`, f])),
        ...Object.fromEntries(
          Object.entries(this.placementVerifiers).map(([n, f]) => [`rotation-step-${n}`, f]),
        ),
      },
      probePlacements: placements.map((p) => p.name),
      notifierDeadLetterQueue: this.notifierDeadLetterQueue,
      scheduleDeadLetterQueue: this.scheduleDeadLetterQueue,
      ...(props.minimumDaysLeftAlarm !== undefined
        ? { minimumDaysLeftAlarm: props.minimumDaysLeftAlarm }
        : {}),
      ...(props.heartbeatWindow ? { heartbeatWindow: props.heartbeatWindow } : {}),
      ...(props.upstreamDeadlineAlarmDays !== undefined
        ? { upstreamDeadlineAlarmDays: props.upstreamDeadlineAlarmDays }
        : {}),
    });
    if (dashboard) this.dashboard = dashboard;
    if (props.registerEventSchemas) registerEventSchemas(this);

    new CfnOutput(this, 'EventBusName', {
      description: 'The certrotor event bus (aws.eventBusName for the CLI with --backend aws)',
      value: this.bus.eventBusName,
    });
    new CfnOutput(this, 'StateTableName', {
      description: 'The certrotor state table (aws.tableName for the CLI with --backend aws)',
      value: this.table.tableName,
    });
    webhooks.forEach((w, index) => {
      new CfnOutput(this, `Webhook${index}SecretName`, {
        description: `Put the Slack webhook URL of channel secret "${w.configuredName}" here`,
        value: w.secret.secretName,
      });
    });

    if (props.report)
      this.report = new ScheduledReport(this, 'Report', {
        ...props.report,
        rotor: this,
        configuration: document,
      });

    acknowledgeNagFindings(this, { inventoryProbes: readers });
  }
}

/**
 * A sharded sweep (ProbeShards) for each probe function with more endpoints than one shard: `default`
 * for the probe outside any VPC (the environments no placement reaches), else the placement's name.
 */
function createProbeSweeps(
  scope: Construct,
  props: {
    readonly config: CertrotorConfig;
    readonly placements: readonly NetworkPlacement[];
    readonly probes: Readonly<Record<string, lambda.IFunction>>;
    readonly shardSize: number;
    readonly maxConcurrency?: number;
    readonly key: kms.IKey;
    readonly logRetention: logs.RetentionDays;
  },
): Record<string, sfn.StateMachine> {
  if (!Number.isInteger(props.shardSize) || props.shardSize < 1)
    throw new ConfigurationError('CertRotor props', [
      `probeShardSize: ${props.shardSize} must be a whole number of at least 1`,
    ]);
  const placed = new Set(props.placements.flatMap((p) => p.environments));
  const environmentsOf = (name: string) =>
    name === 'default'
      ? new Set(props.config.environments.map((e) => e.name).filter((e) => !placed.has(e)))
      : new Set(props.placements.find((p) => p.name === name)?.environments ?? []);
  const sweeps: Record<string, sfn.StateMachine> = {};
  for (const [name, probe] of Object.entries(props.probes)) {
    const served = environmentsOf(name);
    const endpoints = props.config.endpoints.filter((e) => served.has(e.environment)).length;
    if (endpoints <= props.shardSize) continue;
    const id = name === 'default' ? 'ProbeShards' : pascal(`probe-shards-${name}`);
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    sweeps[name] = new ProbeShards(scope, id, {
      probe,
      shardSize: props.shardSize,
      ...(props.maxConcurrency !== undefined ? { maxConcurrency: props.maxConcurrency } : {}),
      logGroup,
    }).stateMachine;
  }
  return sweeps;
}

/** The default probe probes the environments no placement reaches (all of them without placements). */
function probeEnvironments(
  config: CertrotorConfig,
  placements: readonly NetworkPlacement[],
): Record<string, string> {
  if (placements.length === 0) return {};
  const placed = new Set(placements.flatMap((p) => p.environments));
  return {
    [PROBE_ENVIRONMENTS_VARIABLE]: JSON.stringify(
      config.environments.map((e) => e.name).filter((name) => !placed.has(name)),
    ),
  };
}

/**
 * The sharded probe: a Step Functions workflow that plans shards of the configured endpoints (the
 * probe function answers `{ job: 'probe-plan' }` with shard references) and probes them in a Map,
 * each shard one invocation of the probe function (`{ job: 'probe-shard', shard }`) within its
 * memory and 15 minutes. The state holds only shard references and per-shard counts, never endpoint
 * lists, so it stays far under Step Functions' 256 KB payload limit at any fleet size the shard
 * count allows (lambda/use-cases/probe-shards.ts). Once every shard succeeded, one last invocation
 * (`{ job: 'probe-complete', shards }`) emits the sweep's heartbeat: once per sweep, never per shard,
 * so a sweep that lost a shard misses its heartbeat and the dead man's switch alarms.
 */
import {
  Duration,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_stepfunctions as sfn,
  aws_stepfunctions_tasks as tasks,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';

const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

export interface ProbeShardsProps {
  /** The probe function: answers `probe-plan` and `probe-shard` jobs. */
  readonly probe: lambda.IFunction;
  /** Endpoints per shard. @default 1000 */
  readonly shardSize?: number;
  /** Shards probed at once. @default 10 */
  readonly maxConcurrency?: number;
  /** Longest a whole sharded sweep may run. @default 2 hours */
  readonly timeout?: Duration;
  /** Where the workflow logs its executions (level ALL, without execution data). @default no logging */
  readonly logGroup?: logs.ILogGroup;
}

export class ProbeShards extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: ProbeShardsProps) {
    super(scope, id);
    const plan = new tasks.LambdaInvoke(this, 'PlanShards', {
      lambdaFunction: props.probe,
      payload: sfn.TaskInput.fromObject({ job: 'probe-plan', shardSize: props.shardSize ?? 1000 }),
      payloadResponseOnly: true,
      resultSelector: { 'shards.$': '$.shards', 'endpoints.$': '$.endpoints' },
      resultPath: '$.plan',
      comment: 'Shard references for the configured endpoints (indices, never endpoint lists)',
    });
    plan.addRetry({
      errors: LAMBDA_SERVICE_ERRORS,
      interval: Duration.seconds(2),
      maxAttempts: 3,
      backoffRate: 2,
    });
    const shard = new tasks.LambdaInvoke(this, 'ProbeShard', {
      lambdaFunction: props.probe,
      payload: sfn.TaskInput.fromObject({ job: 'probe-shard', 'shard.$': '$' }),
      payloadResponseOnly: true,
      resultSelector: { 'index.$': '$.index', 'probed.$': '$.probed', 'failed.$': '$.failed' },
      comment: 'Probes one shard of the endpoints: one invocation, within its memory and time',
    });
    shard.addRetry({
      errors: LAMBDA_SERVICE_ERRORS,
      interval: Duration.seconds(2),
      maxAttempts: 3,
      backoffRate: 2,
    });
    const shards = new sfn.Map(this, 'ProbeEachShard', {
      itemsPath: '$.plan.shards',
      maxConcurrency: props.maxConcurrency ?? 10,
      resultPath: '$.shards',
      comment: 'Each shard once; a failed shard fails the sweep (its heartbeat is missed and alarms)',
    });
    shards.itemProcessor(shard);
    const complete = new tasks.LambdaInvoke(this, 'CompleteSweep', {
      lambdaFunction: props.probe,
      payload: sfn.TaskInput.fromObject({ job: 'probe-complete', 'shards.$': '$.shards' }),
      payloadResponseOnly: true,
      resultPath: sfn.JsonPath.DISCARD,
      comment: "Every shard probed: the sweep's one heartbeat (the dead man's switch) and its job run",
    });
    complete.addRetry({
      errors: LAMBDA_SERVICE_ERRORS,
      interval: Duration.seconds(2),
      maxAttempts: 3,
      backoffRate: 2,
    });
    this.stateMachine = new sfn.StateMachine(this, 'Workflow', {
      comment: 'certrotor sharded probe: plan shards, probe each in its own invocation, then one heartbeat',
      definitionBody: sfn.DefinitionBody.fromChainable(
        plan.next(shards).next(complete).next(new sfn.Succeed(this, 'Done')),
      ),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: props.timeout ?? Duration.hours(2),
      tracingEnabled: true,
      ...(props.logGroup
        ? { logs: { destination: props.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false } }
        : {}),
    });
  }
}

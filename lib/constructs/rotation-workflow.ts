/**
 * The rotation workflow: lock, issue and stage, canary, rollout with verification, promote or roll
 * back, record the outcome. Every task invokes the rotation-step function and carries only
 * references (names, version ids, ARNs, fingerprints), never key material.
 *
 * Its states are created directly in the CertRotor's scope (not under a child construct) so the
 * logical ids of a deployed stack do not change.
 */
import {
  Duration,
  RemovalPolicy,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_stepfunctions as sfn,
  aws_stepfunctions_tasks as tasks,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';

const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'States.Timeout',
];

export interface RotationWorkflowProps {
  /** The rotation-step function every task invokes. */
  readonly step: lambda.IFunction;
  /** Targets rolled out at once after the canary (Map MaxConcurrency). */
  readonly rolloutConcurrency: number;
  /** Longest a rotation may run before Step Functions stops it. */
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  /** Encrypts the workflow's log group. */
  readonly key: kms.IKey;
}

/** The rotation state machine with its log group (`RotationLogs`, `Rotation` in `scope`). */
export function createRotationWorkflow(scope: Construct, props: RotationWorkflowProps): sfn.StateMachine {
  const workflowLogs = new logs.LogGroup(scope, 'RotationLogs', {
    retention: props.logRetention,
    encryptionKey: props.key,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return new sfn.StateMachine(scope, 'Rotation', {
    comment:
      'certrotor rotation: lock, issue and stage, canary, rollout with verification, promote or roll back, notify',
    definitionBody: sfn.DefinitionBody.fromChainable(
      rotationDefinition(scope, props.step, props.rolloutConcurrency),
    ),
    stateMachineType: sfn.StateMachineType.STANDARD,
    timeout: props.timeout,
    tracingEnabled: true,
    logs: { destination: workflowLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
  });
}

/** The rotation workflow. Every task carries only references: names, version ids, ARNs, fingerprints. */
export function rotationDefinition(
  scope: Construct,
  step: lambda.IFunction,
  rolloutConcurrency: number,
): sfn.IChainable {
  const task = (
    id: string,
    payload: Record<string, unknown>,
    resultPath: string | undefined,
    comment: string,
  ) => {
    const invoke = new tasks.LambdaInvoke(scope, id, {
      lambdaFunction: step,
      payloadResponseOnly: true,
      // Retries are configured below (with jitter) instead of the construct's default.
      retryOnServiceExceptions: false,
      payload: sfn.TaskInput.fromObject(payload),
      resultPath: resultPath ?? sfn.JsonPath.DISCARD,
      comment,
    });
    invoke.addRetry({
      errors: LAMBDA_SERVICE_ERRORS,
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 4,
      maxDelay: Duration.seconds(30),
      jitterStrategy: sfn.JitterType.FULL,
    });
    return invoke;
  };
  const ref = {
    'name.$': '$.name',
    'version.$': '$.version',
    'execution.$': '$$.Execution.Name',
  };

  const finish = (id: string, outcome: 'succeeded' | 'rolled-back' | 'failed', end: sfn.IChainable) => {
    const t = task(
      id,
      {
        action: 'finish',
        outcome,
        ...ref,
        'trigger.$': '$.trigger',
        'issued.$': '$.issued',
        'targets.$': '$.targets',
        'error.$': '$.error',
        'rollback.$': '$.rollback',
      },
      undefined,
      `Records the ${outcome} outcome, releases the lock and publishes the event`,
    );
    t.addCatch(
      new sfn.Fail(scope, `${id}Failed`, { error: 'FinishFailed', cause: 'could not record the outcome' }),
      {
        resultPath: '$.error',
      },
    );
    return t.next(end);
  };

  // Pass states give every optional field a value, so the finish steps can always reference them.
  const defaults = new sfn.Pass(scope, 'Defaults', {
    comment: 'Fills optional fields so later steps can reference them',
    parameters: {
      ...ref,
      'trigger.$': '$.trigger',
      issued: {},
      targets: { canary: [], rest: [] },
      error: {},
      rollback: {},
    },
  });
  const failedFinish = finish(
    'FinishFailed',
    'failed',
    new sfn.Fail(scope, 'RotationFailed', {
      error: 'RotationFailed',
      cause: 'the rotation failed before anything changed',
    }),
  );
  const rolledBackFinish = finish(
    'FinishRolledBack',
    'rolled-back',
    new sfn.Fail(scope, 'RotationRolledBack', {
      error: 'RotationRolledBack',
      cause: 'a target failed; every target was rolled back',
    }),
  );
  const succeededFinish = finish('FinishSucceeded', 'succeeded', new sfn.Succeed(scope, 'Rotated'));

  const start = task(
    'Start',
    { action: 'start', ...ref, 'trigger.$': '$.trigger' },
    '$.start',
    'Takes the per-certificate lock and marks the version pending; a stale or duplicate start is skipped',
  );
  start.addCatch(failedFinish, { resultPath: '$.error' });

  const issue = task(
    'Issue',
    { action: 'issue', ...ref },
    '$.issued',
    'Issues the new version and stages it (AWSPENDING in the key store)',
  );
  issue.addCatch(failedFinish, { resultPath: '$.error' });
  const listTargets = task(
    'ListTargets',
    { action: 'list-targets', ...ref },
    '$.targets',
    'Lists every destination target: the canary first, then the rest',
  );
  listTargets.addCatch(failedFinish, { resultPath: '$.error' });

  const rollback = task(
    'Rollback',
    { action: 'rollback', ...ref, 'issued.$': '$.issued', 'targets.$': '$.targets', 'error.$': '$.error' },
    '$.rollback',
    'Restores every target to the previous version and verifies it',
  );
  rollback.addCatch(failedFinish, { resultPath: '$.error' });
  rollback.next(rolledBackFinish);

  const distribute = (prefix: string, itemsPath: string, maxConcurrency: number) => {
    const map = new sfn.Map(scope, prefix, {
      comment: `Delivers to and verifies each ${prefix === 'Canary' ? 'canary target' : 'remaining target'}`,
      itemsPath,
      maxConcurrency,
      itemSelector: {
        'name.$': '$.name',
        'version.$': '$.version',
        'execution.$': '$$.Execution.Name',
        'bundle.$': '$.issued.bundle',
        'fingerprint.$': '$.issued.fingerprint',
        'intervalSeconds.$': '$.targets.verifyIntervalSeconds',
        'target.$': '$$.Map.Item.Value',
      },
      resultPath: sfn.JsonPath.DISCARD,
    });
    const targetFailed = new sfn.Fail(scope, `${prefix}TargetFailed`, {
      error: 'TargetNotVerified',
      causePath: '$.verification.error',
    });
    const deliveryFailed = new sfn.Fail(scope, `${prefix}DeliveryFailed`, { error: 'TargetDeliveryFailed' });
    const deliver = task(
      `${prefix}Deliver`,
      {
        action: 'deliver',
        'name.$': '$.name',
        'version.$': '$.version',
        'execution.$': '$.execution',
        'bundle.$': '$.bundle',
        'target.$': '$.target',
      },
      '$.delivery',
      'Delivers the staged version to one target; the previous version stays for rollback',
    );
    deliver.addCatch(deliveryFailed, { resultPath: '$.error' });
    const verify = task(
      `${prefix}Verify`,
      {
        action: 'verify',
        'name.$': '$.name',
        'version.$': '$.version',
        'execution.$': '$.execution',
        'fingerprint.$': '$.fingerprint',
        'target.$': '$.target',
        'deadline.$': '$.delivery.deadline',
      },
      '$.verification',
      'One round of fresh handshakes (or a read of what the target holds)',
    );
    verify.addCatch(new sfn.Fail(scope, `${prefix}VerifyError`, { error: 'TargetVerificationError' }), {
      resultPath: '$.error',
    });
    const wait = new sfn.Wait(scope, `${prefix}WaitBeforeReprobe`, {
      time: sfn.WaitTime.secondsPath('$.intervalSeconds'),
    });
    wait.next(verify);
    const verified = new sfn.Choice(scope, `${prefix}Verified?`)
      .when(
        sfn.Condition.stringEquals('$.verification.state', 'verified'),
        new sfn.Succeed(scope, `${prefix}TargetVerified`),
      )
      .when(sfn.Condition.stringEquals('$.verification.state', 'retry'), wait)
      .otherwise(targetFailed);
    map.itemProcessor(deliver.next(verify).next(verified));
    map.addCatch(rollback, { resultPath: '$.error' });
    return map;
  };

  const canary = distribute('Canary', '$.targets.canary', 1);
  const rollout = distribute('Rollout', '$.targets.rest', rolloutConcurrency);
  const promote = task(
    'Promote',
    { action: 'promote', ...ref, 'issued.$': '$.issued', 'targets.$': '$.targets' },
    undefined,
    'Every target verified: the new version becomes current, the old one the rollback target',
  );
  promote.addCatch(rollback, { resultPath: '$.error' });

  const started = new sfn.Choice(scope, 'Started?')
    .when(
      sfn.Condition.booleanEquals('$.start.started', true),
      issue.next(listTargets).next(canary).next(rollout).next(promote).next(succeededFinish),
    )
    .otherwise(
      new sfn.Succeed(scope, 'Skipped', {
        comment: 'Already rotated, in progress, or superseded: nothing to do',
      }),
    );

  return defaults.next(start).next(started);
}

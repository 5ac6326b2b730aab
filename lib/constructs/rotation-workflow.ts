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

/** A rotation-step function in another network placement, verifying the targets it reaches. */
export interface PlacementVerifier {
  /** The placement's name: its Verify task is `Verify<Placement>`. */
  readonly placement: string;
  /** Targets of these environments are verified by `step`. */
  readonly environments: readonly string[];
  readonly step: lambda.IFunction;
}

export interface RotationWorkflowProps {
  /** The rotation-step function every task invokes. */
  readonly step: lambda.IFunction;
  /**
   * Rotation-step functions of the other network placements: the Verify task of a target whose
   * environment one of them reaches invokes that function instead (fresh handshakes from where the
   * target is reachable). @default none: every target is verified by `step`
   */
  readonly verifiers?: readonly PlacementVerifier[];
  /**
   * Upper bound on targets of one batch delivered at once (Map MaxConcurrency); each certificate's
   * `rollout.batchSize` decides the batches.
   */
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
      rotationDefinition(scope, props.step, props.rolloutConcurrency, props.verifiers ?? []),
    ),
    stateMachineType: sfn.StateMachineType.STANDARD,
    timeout: props.timeout,
    tracingEnabled: true,
    logs: { destination: workflowLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
  });
}

/**
 * The rotation workflow: the same steps, in the same order and with the same error paths, as the CLI's
 * in-process driver (lambda/use-cases/rotation/in-process-driver.ts). Every task carries only
 * references: names, version ids, ARNs, fingerprints. After each batch the `Next` step decides (from
 * the target records, with the configuration's rollout rules) whether to deliver the next batch,
 * promote, hold or roll back, so `rollout.canary`, `batchSize` and `failureTolerance` apply here too.
 */
export function rotationDefinition(
  scope: Construct,
  step: lambda.IFunction,
  rolloutConcurrency: number,
  verifiers: readonly PlacementVerifier[] = [],
): sfn.IChainable {
  const task = (
    id: string,
    payload: Record<string, unknown>,
    resultPath: string | undefined,
    comment: string,
    fn: lambda.IFunction = step,
  ) => {
    const invoke = new tasks.LambdaInvoke(scope, id, {
      lambdaFunction: fn,
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
    'trigger.$': '$.trigger',
  };

  const finish = (
    id: string,
    outcome: 'succeeded' | 'rolled-back' | 'failed' | 'held',
    end: sfn.IChainable,
  ) => {
    const t = task(
      id,
      {
        action: 'finish',
        outcome,
        ...ref,
        'error.$': '$.error',
        'decision.$': '$.next',
        'promotion.$': '$.promotion',
      },
      undefined,
      `Records the ${outcome} outcome, releases the lock and publishes the event`,
    );
    t.addCatch(
      new sfn.Fail(scope, `${id}Failed`, { error: 'FinishFailed', cause: 'could not record the outcome' }),
      { resultPath: '$.error' },
    );
    return t.next(end);
  };

  // Pass states give every optional field a value, so the finish steps can always reference them.
  const defaults = new sfn.Pass(scope, 'Defaults', {
    comment: 'Fills optional fields so later steps can reference them',
    parameters: {
      'name.$': '$.name',
      'version.$': '$.version',
      'trigger.$': '$.trigger',
      error: {},
      next: {},
      promotion: {},
    },
  });
  const failedFinish = finish(
    'FinishFailed',
    'failed',
    new sfn.Fail(scope, 'RotationFailed', {
      error: 'RotationFailed',
      cause: 'the rotation failed before anything changed, or its rollback failed',
    }),
  );
  const heldFinish = finish(
    'FinishHeld',
    'held',
    new sfn.Fail(scope, 'RotationHeld', {
      error: 'RotationHeld',
      cause: 'some targets failed within the failure tolerance: nothing was promoted',
    }),
  );
  const rolledBackFinish = finish(
    'FinishRolledBack',
    'rolled-back',
    new sfn.Fail(scope, 'RotationRolledBack', {
      error: 'RotationRolledBack',
      cause: 'a target failed; every touched target was rolled back',
    }),
  );
  const succeededFinish = finish('FinishSucceeded', 'succeeded', new sfn.Succeed(scope, 'Rotated'));

  const start = task(
    'Start',
    { action: 'start', ...ref },
    '$.start',
    'Takes the per-certificate lock and marks the version pending; a stale or duplicate start is skipped',
  );
  start.addCatch(failedFinish, { resultPath: '$.error' });
  const plan = task(
    'Plan',
    { action: 'plan', ...ref },
    '$.plan',
    'Lists every destination target and splits them into batches, the canary first',
  );
  plan.addCatch(failedFinish, { resultPath: '$.error' });
  const issue = task(
    'Issue',
    { action: 'issue', ...ref },
    '$.issued',
    'Issues the new version (or finds it already issued) and checks it offline',
  );
  issue.addCatch(failedFinish, { resultPath: '$.error' });

  const rollback = task(
    'Rollback',
    { action: 'rollback', ...ref },
    '$.rollback',
    'Restores every touched target to the previous version and verifies it',
  );
  rollback.addCatch(failedFinish, { resultPath: '$.error' });
  rollback.next(rolledBackFinish);

  const next = task(
    'NextBatch',
    { action: 'next', ...ref },
    '$.next',
    'Decides from the target records: deliver the next batch, promote, hold or roll back',
  );
  next.addCatch(rollback, { resultPath: '$.error' });

  const batch = new sfn.Map(scope, 'Batch', {
    comment: 'Delivers to and verifies each target of one batch; a failed target is recorded, not thrown',
    itemsPath: '$.next.targets',
    maxConcurrency: rolloutConcurrency,
    itemSelector: {
      'name.$': '$.name',
      'version.$': '$.version',
      'trigger.$': '$.trigger',
      'bundle.$': '$.issued.bundle',
      'fingerprint.$': '$.issued.fingerprint',
      'intervalSeconds.$': '$.plan.verifyIntervalSeconds',
      'target.$': '$$.Map.Item.Value',
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  const item = {
    'name.$': '$.name',
    'version.$': '$.version',
    'execution.$': '$$.Execution.Name',
    'trigger.$': '$.trigger',
    'target.$': '$.target',
  };
  const deliver = task(
    'Deliver',
    { action: 'deliver', ...item, 'bundle.$': '$.bundle' },
    '$.delivery',
    'Delivers the version to one target; the previous version stays for rollback',
  );
  const verifyPayload = {
    action: 'verify',
    ...item,
    'fingerprint.$': '$.fingerprint',
    'deadline.$': '$.delivery.deadline',
  };
  const verify = task(
    'Verify',
    verifyPayload,
    '$.verification',
    'One round of fresh handshakes (or a read of what the target holds)',
  );
  const targetDone = new sfn.Succeed(scope, 'TargetSettled', {
    comment: 'Verified or failed: the outcome is in the target record',
  });
  const wait = new sfn.Wait(scope, 'WaitBeforeReprobe', {
    time: sfn.WaitTime.secondsPath('$.intervalSeconds'),
  });
  const verified = new sfn.Choice(scope, 'Verified?')
    .when(sfn.Condition.stringEquals('$.verification.state', 'retry'), wait)
    .otherwise(targetDone);
  verify.next(verified);
  // With other placements, each round is routed by the target's environment (the `next` step names
  // it) to the function placed where that target is reachable; the others to the rotation's own.
  let verifyRound: sfn.IChainable = verify;
  if (verifiers.length > 0) {
    const route = new sfn.Choice(scope, 'VerifyWhere?', {
      comment: "Verifies from the network placement that reaches the target's environment",
    });
    for (const v of verifiers) {
      const placed = task(
        `Verify${v.placement}`,
        verifyPayload,
        '$.verification',
        `One round of fresh handshakes from network placement ${v.placement}`,
        v.step,
      );
      placed.next(verified);
      const conditions = v.environments.map((e) => sfn.Condition.stringEquals('$.target.environment', e));
      // The `next` step gives every target an `environment` ('' when none), so the path exists.
      route.when(conditions.length === 1 ? conditions[0]! : sfn.Condition.or(...conditions), placed);
    }
    route.otherwise(verify);
    verifyRound = route;
  }
  wait.next(verifyRound);
  const delivered = new sfn.Choice(scope, 'Delivered?')
    .when(sfn.Condition.stringEquals('$.delivery.state', 'delivered'), verifyRound)
    .otherwise(targetDone);
  batch.itemProcessor(deliver.next(delivered));
  batch.addCatch(rollback, { resultPath: '$.error' });
  batch.next(next);

  const promote = task(
    'Promote',
    { action: 'promote', ...ref },
    '$.promotion',
    'Every target verified: the new version becomes current, the old one the rollback target',
  );
  promote.addCatch(rollback, { resultPath: '$.error' });
  promote.next(
    new sfn.Choice(scope, 'Promoted?')
      .when(sfn.Condition.booleanEquals('$.promotion.promoted', true), succeededFinish)
      .otherwise(rollback),
  );

  const decide = new sfn.Choice(scope, 'WhatNext?')
    .when(sfn.Condition.stringEquals('$.next.action', 'deliver'), batch)
    .when(sfn.Condition.stringEquals('$.next.action', 'promote'), promote)
    .when(sfn.Condition.stringEquals('$.next.action', 'hold'), heldFinish)
    .otherwise(rollback);

  const started = new sfn.Choice(scope, 'Started?')
    .when(sfn.Condition.booleanEquals('$.start.started', true), plan.next(issue).next(next).next(decide))
    .otherwise(
      new sfn.Succeed(scope, 'Skipped', {
        comment: 'Already rotated, in progress, or superseded: nothing to do',
      }),
    );

  return defaults.next(start).next(started);
}

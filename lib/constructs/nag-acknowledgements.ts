/**
 * cdk-nag findings on the construct's own resources that are intended, each with its reason. Every
 * acknowledgement is attached to one of this CertRotor's resources, never to the stack or the app.
 */
import {
  Stack,
  Validations,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_secretsmanager as secretsmanager,
  aws_sqs as sqs,
  aws_stepfunctions as sfn,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { CertrotorConfig } from '../../lambda/config/configuration';
import type { JobFunctions } from './permissions';

/** The resources the acknowledgements attach to. */
export interface NagSubject {
  readonly config: CertrotorConfig;
  readonly functions: JobFunctions;
  readonly stateMachine: sfn.StateMachine;
  readonly scheduleDeadLetterQueue: sqs.Queue;
  readonly notifierDeadLetterQueue: sqs.Queue;
  readonly webhookSecrets: readonly secretsmanager.Secret[];
  /** Probe functions of the network placements. */
  readonly placementProbes: Readonly<Record<string, lambda.IFunction>>;
  /** Rotation-step functions (Verify) of the other network placements. */
  readonly placementVerifiers?: Readonly<Record<string, lambda.IFunction>>;
  /** Sharded probe sweeps. */
  readonly probeSweeps?: Readonly<Record<string, sfn.StateMachine>>;
}

/**
 * cdk-nag AwsSolutions findings that are intended, each with its reason. Scoped as narrowly as the
 * finding allows (granular IAM5 ids name the exact action or resource).
 */
export function acknowledgeNagFindings(
  rotor: NagSubject & Construct,
  /** Placement probes with the inventory's read grants (`readsInventory`). */
  options: { readonly inventoryProbes?: readonly lambda.IFunction[] } = {},
): void {
  const ack = (scope: Construct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });
  const verifiers = Object.values(rotor.placementVerifiers ?? {});
  const sweeps = Object.values(rotor.probeSweeps ?? {});
  for (const f of [
    ...Object.values(rotor.functions),
    ...Object.values(rotor.placementProbes),
    ...verifiers,
  ]) {
    ack(
      f,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      "AWSLambdaVPCAccessExecutionRole only manages the function's own network interfaces in its VPC (functions in a network placement)",
    );
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
  for (const probe of [rotor.functions.probe, ...(options.inventoryProbes ?? [])]) {
    ack(
      probe,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:acm:<AWS::Region>:<AWS::AccountId>:certificate/*]',
      "The probe's sibling sweep reads the inventory's ACM certificates again (read-only) when one holds a certificate with a finding",
    );
  }
  // The rotation steps and the upstream watcher (which delivers vendor material) share the delivery grants.
  for (const rotation of [
    rotor.functions['rotation-step'],
    rotor.functions['upstream-watch'],
    ...verifiers,
  ]) {
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
  // ACME DNS-01: a Route 53 change id exists only once the TXT record is written (GetChange until INSYNC).
  ack(
    rotor.functions['rotation-step'],
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::change/*]',
    'GetChange reads the status of a DNS-01 record change, whose id is known only at run time; it changes nothing',
  );
  // ACM exportable certificates (acm issuers): an ARN exists only once requested.
  if (rotor.config.issuers.some((i) => i.kind === 'acm')) {
    for (const f of [rotor.functions['rotation-step'], rotor.functions.planner])
      ack(
        f,
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:acm:<AWS::Region>:<AWS::AccountId>:certificate/*]',
        "An acm issuer's certificates get their ARN when requested; describing and exporting them is conditioned on the issuer's certrotor:issuer tag",
      );
  }
  for (const machine of [rotor.stateMachine, ...sweeps])
    ack(
      machine,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray tracing and CloudWatch Logs delivery have no resource-level permissions',
    );
  // The roles that invoke the functions: the workflow's, and the scheduler's target roles (CDK
  // creates those once per stack, outside this construct; the acknowledgement stays on them alone).
  const stack = Stack.of(rotor);
  const invokers: Construct[] = [
    rotor.stateMachine.role,
    ...sweeps.map((m) => m.role),
    ...stack.node.children.filter(
      (c) => c instanceof iam.Role && c.node.id.startsWith('SchedulerRoleForTarget'),
    ),
  ];
  for (const f of [
    ...Object.values(rotor.functions),
    ...Object.values(rotor.placementProbes),
    ...verifiers,
  ]) {
    if (!(f instanceof lambda.Function)) continue;
    for (const invoker of invokers)
      ack(
        invoker,
        `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(f.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
        'Invoking any version or alias of the certrotor function (the scheduler and Step Functions targets)',
      );
  }
  // The rotation's function probes other placements' targets through their rotation-step functions.
  for (const verifier of verifiers) {
    if (!(verifier instanceof lambda.Function)) continue;
    ack(
      rotor.functions['rotation-step'],
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(verifier.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      'Invoking any version or alias of the certrotor rotation-step function of another network placement (probes from there)',
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
  acknowledgeServerlessFindings(rotor, ack);
}

/** Why each function needs no dead-letter queue of its own (DeadLetterConfig). */
const ASYNC_FAILURES =
  'Failed asynchronous invocations go to the alarmed schedule dead-letter queue through an on-failure destination (EventInvokeConfig), which also keeps the request context a DeadLetterConfig would drop';
const NO_DLQ_REASONS: Record<string, string> = {
  inventory: ASYNC_FAILURES,
  probe: ASYNC_FAILURES,
  'upstream-watch': ASYNC_FAILURES,
  digest: ASYNC_FAILURES,
  planner: ASYNC_FAILURES,
  'acm-expiry-event': ASYNC_FAILURES,
  'rotation-step':
    'Invoked synchronously by Step Functions only: the workflow retries and catches every failure',
  notifier:
    'Failed asynchronous invocations go to the notifier dead-letter queue through its on-failure destination (NotifierAsync)',
};

/** cdk-nag ServerlessChecks findings that are intended, each with its reason. */
function acknowledgeServerlessFindings(
  rotor: NagSubject,
  ack: (scope: Construct, id: string, reason: string) => void,
): void {
  const named = Object.entries(rotor.functions) as [string, lambda.IFunction][];
  for (const [, probe] of Object.entries(rotor.placementProbes)) named.push(['probe', probe]);
  for (const verifier of Object.values(rotor.placementVerifiers ?? {}))
    named.push(['rotation-step', verifier]);
  for (const [name, f] of named) {
    ack(
      f,
      'Serverless-LambdaLatestVersion',
      'Pinned to nodejs22.x on purpose: the runtime the code is tested on; upgrades are deliberate',
    );
    ack(f, 'Serverless-LambdaDLQ', NO_DLQ_REASONS[name] ?? NO_DLQ_REASONS.probe!);
  }
  for (const queue of [rotor.scheduleDeadLetterQueue, rotor.notifierDeadLetterQueue])
    ack(
      queue,
      'Serverless-SQSRedrivePolicy',
      'A dead-letter queue itself: nothing consumes it but an operator',
    );
}

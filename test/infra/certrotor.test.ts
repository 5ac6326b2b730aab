/**
 * The synthesized stack, behaviour by behaviour; cdk-nag AwsSolutions; cfn-lint; one snapshot with
 * asset hashes normalised.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TTL_ATTRIBUTE } from '../../lambda/adapters/aws/dynamodb-state-store';
import { DETAIL_TYPES } from '../../lambda/domain/events';
import { ACM_EXPIRY_DETAIL_TYPE } from '../../lib/certrotor';
import { CertRotorStack } from '../../lib/certrotor-stack';
import { TTL_ATTRIBUTE_NAME } from '../../lib/table-schema';
import type { RawConfig } from '../builders/config';
import { exampleConfiguration, resourcesOf, synthesizeExample } from './support/stack';

const { stack, template } = synthesizeExample();
const json = template.toJSON() as {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};

function logicalIdOf(path: string, type?: string): string {
  const found = Object.entries(json.Resources).find(
    ([id, r]) =>
      id.startsWith(path) &&
      (type === undefined || r.Type === type) &&
      /^[0-9A-F]{8}$/.test(id.slice(path.length)),
  );
  if (!found) throw new Error(`no resource starting with ${path}`);
  return found[0];
}

function policyStatementsOf(
  rolePrefix: string,
): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  const roleId = logicalIdOf(rolePrefix);
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: never[] }).Statement);
}

describe('the certrotor stack', () => {
  it('pins every function to nodejs22.x on arm64 with JSON logs, active tracing and Powertools settings', () => {
    const functions = Object.values(resourcesOf(template, 'AWS::Lambda::Function'));
    expect(functions).toHaveLength(8);
    for (const f of functions) {
      expect(f.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        LoggingConfig: expect.objectContaining({ LogFormat: 'JSON' }),
        TracingConfig: { Mode: 'Active' },
        Environment: {
          Variables: expect.objectContaining({
            POWERTOOLS_SERVICE_NAME: 'certrotor',
            POWERTOOLS_METRICS_NAMESPACE: 'certrotor',
            POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
          }),
        },
      });
    }
  });

  it('keeps state in an on-demand table with point-in-time recovery, the TTL the adapter writes and a rotating customer key', () => {
    expect(TTL_ATTRIBUTE_NAME).toBe(TTL_ATTRIBUTE);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('runs inventory daily, the probe hourly and the upstream watch every 6 hours, in the configured time zone, with retries and a dead-letter queue', () => {
    const schedules = Object.values(resourcesOf(template, 'AWS::Scheduler::Schedule')).map(
      (s) => s.Properties,
    );
    const expressions = schedules.map((s) => s.ScheduleExpression);
    expect(expressions).toEqual(expect.arrayContaining(['rate(1 day)', 'rate(1 hour)', 'rate(6 hours)']));
    for (const s of schedules) {
      expect(s).toMatchObject({
        ScheduleExpressionTimezone:
          s.ScheduleExpression === 'cron(0 8 ? * MON-FRI *)' ? 'Europe/Paris' : 'UTC',
        Target: {
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: expect.anything() },
        },
      });
    }
  });

  it('routes every catalogue detail type on the certrotor bus to the notifier, with retries and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.anyValue(),
      EventPattern: { source: ['certrotor'], 'detail-type': [...DETAIL_TYPES] },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalIdOf('CertRotorNotifier'), 'Arn'] },
          DeadLetterConfig: Match.anyValue(),
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 8 }),
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it("routes ACM's expiry events to the evaluation and AWS Health to the upstream watcher, leaving ACM's account-wide setting alone", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.acm'], 'detail-type': [ACM_EXPIRY_DETAIL_TYPE] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalIdOf('CertRotorAcmExpiryEvent'), 'Arn'] } })],
    });
    template.resourceCountIs('AWS::CertificateManager::Account', 0);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.health'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalIdOf('CertRotorUpstreamWatch'), 'Arn'] } })],
    });
  });

  it('lets the notifier read only the webhook parameters, never secrets', () => {
    const statements = policyStatementsOf('CertRotorNotifierServiceRole');
    expect(statements.filter((s) => JSON.stringify(s.Action).includes('secretsmanager:'))).toEqual([]);
    const parameterStatements = statements.filter((s) => JSON.stringify(s.Action).includes('ssm:'));
    expect(parameterStatements).toHaveLength(1);
    expect(parameterStatements[0]!.Action).toBe('ssm:GetParameter');
    const resources = JSON.stringify(parameterStatements[0]!.Resource);
    expect(resources).not.toContain('*');
    expect(resources).toContain(':parameter/certrotor/slack/platform');
  });

  it('lets the rotation read and write only secrets under the certrotor prefix or named as destinations', () => {
    const statements = policyStatementsOf('CertRotorRotationStepServiceRole').filter((s) =>
      JSON.stringify(s.Action).includes('secretsmanager:'),
    );
    expect(statements).toHaveLength(1);
    expect(JSON.stringify(statements[0]!.Resource)).toContain('secret:certrotor/*');
    expect(JSON.stringify(statements[0]!.Resource)).not.toMatch(/"\*"/);
  });

  it('reads only secrets tagged as certificates for the inventory', () => {
    const reads = policyStatementsOf('CertRotorInventoryServiceRole').filter((s) =>
      JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'),
    );
    expect(reads).toEqual([
      expect.objectContaining({ Condition: { Null: { 'aws:ResourceTag/certrotor:certificate': 'false' } } }),
    ]);
  });

  it("lets the inventory read the configured private CAs' own certificates, and only those", () => {
    const reads = policyStatementsOf('CertRotorInventoryServiceRole').filter((s) =>
      JSON.stringify(s.Action).includes('acm-pca:'),
    );
    expect(reads).toEqual([
      expect.objectContaining({
        Action: ['acm-pca:DescribeCertificateAuthority', 'acm-pca:GetCertificateAuthorityCertificate'],
        Resource:
          'arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/0a1b2c3d-1111-2222-3333-444455556666',
      }),
    ]);
  });

  it('logs the rotation workflow without execution data and traces it', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: { IncludeExecutionData: false, Level: 'ALL', Destinations: Match.anyValue() },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('retries every workflow task with backoff and full jitter and catches its failures', () => {
    const definition = stateMachineDefinition();
    const tasks = allStates(definition).filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBeGreaterThanOrEqual(10);
    for (const [name, state] of tasks) {
      expect({ name, retry: state.Retry?.[0] }).toMatchObject({
        name,
        retry: { BackoffRate: 2, JitterStrategy: 'FULL', MaxAttempts: 4 },
      });
      // Inside a batch a failed target is recorded by its step; an error escaping a step fails the
      // batch, whose catch rolls back. Every other task catches its own failures.
      const inBatch = name === 'Deliver' || name === 'Verify';
      expect({ name, catches: state.Catch?.length ?? 0 }).toEqual({ name, catches: inBatch ? 0 : 1 });
    }
    const maps = allStates(definition).filter(([, s]) => s.Type === 'Map');
    expect(maps.map(([name, s]) => [name, s.MaxConcurrency, s.Catch?.length])).toEqual([['Batch', 5, 1]]);
  });

  it('alarms on the minimum days left and on a missing probe heartbeat, treating missing data as breaching', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MinimumDaysLeft',
      Namespace: 'certrotor',
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ProbeHeartbeat',
      TreatMissingData: 'breaching',
    });
  });

  it('reserves no concurrency by default, so a first deploy never fails on an account without spare concurrency', () => {
    for (const f of Object.values(resourcesOf(template, 'AWS::Lambda::Function')))
      expect(f.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('alarms when a scheduled scan completes with problems (a source, an endpoint, an upstream, a rotation start), on one metric', () => {
    const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');
    const problems = Object.entries(alarms).find(([id]) => id.startsWith('CertRotorScanProblemsAlarm'))?.[1];
    // One metric every job that completes with problems emits (lambda/domain/health-metrics.ts): an
    // hour with one problem anywhere sums to 1; an hour without data is no problem.
    expect(problems?.Properties).toMatchObject({
      Namespace: 'certrotor',
      MetricName: 'ScanProblems',
      Dimensions: [{ Name: 'service', Value: 'certrotor' }],
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(problems?.Properties.Metrics).toBeUndefined();
  });

  it("sends the digest on its own schedule and time zone, with the schedules' retries and dead-letter queue", () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 8 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      Target: {
        Arn: { 'Fn::GetAtt': [logicalIdOf('CertRotorDigest', 'AWS::Lambda::Function'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 3 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalIdOf('CertRotorScheduleDeadLetters'), 'Arn'] } },
      },
    });
  });

  it('lets the digest read only the webhook parameters, the state table and put events on the bus', () => {
    const statements = policyStatementsOf('CertRotorDigestServiceRole');
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'events:PutEvents']));
    expect(actions.filter((a) => /^(acm|acm-pca|secretsmanager|states|s3):/.test(a))).toEqual([]);
    expect(actions.filter((a) => a.startsWith('ssm:'))).toEqual(['ssm:GetParameter']);
    for (const s of statements.filter((s) => JSON.stringify(s.Action).includes('ssm:'))) {
      expect(JSON.stringify(s.Resource)).not.toContain('*');
      expect(JSON.stringify(s.Resource)).toContain(':parameter/certrotor/slack/');
    }
  });

  it("has a dead man's switch per scheduled job: a missing heartbeat for longer than the job's longest interval plus grace alarms", () => {
    const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const heartbeats = Object.fromEntries(
      alarms
        .filter((a) => String(a.MetricName).endsWith('Heartbeat'))
        .map((a) => [a.MetricName, [a.Period, a.EvaluationPeriods, a.DatapointsToAlarm, a.TreatMissingData]]),
    );
    expect(heartbeats).toEqual({
      // rate(1 day) + 1h retries + 10 min timeout
      InventoryHeartbeat: [86_400, 2, 2, 'breaching'],
      // rate(1 hour) + 1h + 5 min
      ProbeHeartbeat: [7_500, 1, 1, 'breaching'],
      // rate(6 hours) + 1h + 5 min
      UpstreamHeartbeat: [25_500, 1, 1, 'breaching'],
      // weekdays at 08:00: a 3-day weekend + 1h + 2 min
      DigestHeartbeat: [86_400, 4, 4, 'breaching'],
    });
  });

  it('alarms when an upstream rotation that is not complete is within 7 days of its deadline', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MinimumDaysToUpstreamDeadline',
      Statistic: 'Minimum',
      Threshold: 7,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms on workflow failures and on both dead-letter queues, with no per-function errors alarms or dashboard unless asked', () => {
    const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    expect(alarms.filter((a) => a.MetricName === 'Errors')).toHaveLength(0);
    expect(alarms.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible')).toHaveLength(2);
    expect(JSON.stringify(alarms)).toContain('ExecutionsFailed');
    // A failure alone raises it: each term is filled, so a period without a time-out still sums.
    const workflow = alarms.filter((a) => JSON.stringify(a.Metrics ?? []).includes('ExecutionsFailed'));
    expect(workflow).toHaveLength(1);
    expect(JSON.stringify(workflow[0]!.Metrics)).toContain(
      '"Expression":"FILL(failed, 0) + FILL(timedOut, 0)"',
    );
    for (const a of alarms) expect(a.AlarmActions).toHaveLength(1);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });

  it('has no unacknowledged cdk-nag AwsSolutions findings, and every acknowledgement has a reason', () => {
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    const unacknowledged = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`,
    );
    expect(unacknowledged).toEqual([]);
    const acknowledgements = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledgements)
      expect({ id, reasonLength: reason.length > 20 }).toEqual({ id, reasonLength: true });
  });

  it("attaches every acknowledgement to one of the construct's resources (or the scheduler's target roles), never to the stack or the app", () => {
    const holders = stack.node
      .findAll()
      .filter((c) => c.node.metadata.some((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .map((c) => c.node.path);
    expect(holders.length).toBeGreaterThan(0);
    for (const path of holders) expect(path).toMatch(/^CertRotor\/(CertRotor\/|SchedulerRoleForTarget)/);
  });

  it('passes cfn-lint', () => {
    const cfnLint = join(__dirname, '..', '..', '.venv', 'bin', 'cfn-lint');
    expect({ cfnLintInstalled: existsSync(cfnLint) }).toEqual({ cfnLintInstalled: true });
    const directory = mkdtempSync(join(tmpdir(), 'certrotor-cfn-lint-'));
    const file = join(directory, 'template.json');
    writeFileSync(file, JSON.stringify(json));
    // W3005 (a DependsOn also implied by a GetAtt) is how CDK orders a function after its role's
    // policy; it is harmless and not ours to change.
    const result = spawnSync(cfnLint, ['--format', 'parseable', '--ignore-checks', 'W3005', '--', file], {
      encoding: 'utf8',
    });
    expect({ status: result.status, findings: `${result.stdout}${result.stderr}`.trim() }).toEqual({
      status: 0,
      findings: '',
    });
  });

  it('matches the snapshot (asset hashes normalised, the workflow definition left to its own tests)', () => {
    const withoutDefinition = JSON.parse(JSON.stringify(json)) as typeof json;
    for (const resource of Object.values(withoutDefinition.Resources))
      if (resource.Type === 'AWS::StepFunctions::StateMachine')
        resource.Properties.DefinitionString = '[see rotation-workflow and state-machine tests]';
    const normalised = JSON.parse(
      JSON.stringify(withoutDefinition)
        .replace(/[0-9a-f]{64}(\.zip|\.json)?/g, '[ASSET HASH]$1')
        .replace(/config-[0-9a-f]{16}\.json/g, 'config-[HASH].json'),
    );
    expect(normalised).toMatchSnapshot();
  });
});

interface AslState {
  Type: string;
  Retry?: { BackoffRate?: number; JitterStrategy?: string; MaxAttempts?: number }[];
  Catch?: unknown[];
  MaxConcurrency?: number;
  ItemProcessor?: { States: Record<string, AslState> };
}

function stateMachineDefinition(): { States: Record<string, AslState> } {
  const machine = Object.values(resourcesOf(template, 'AWS::StepFunctions::StateMachine'))[0]!;
  const parts = (machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })[
    'Fn::Join'
  ][1].map((p) => (typeof p === 'string' ? p : '"arn:placeholder"'));
  return JSON.parse(parts.join('').replace(/""arn:placeholder""/g, '"arn:placeholder"')) as {
    States: Record<string, AslState>;
  };
}

function allStates(definition: { States: Record<string, AslState> }): [string, AslState][] {
  return Object.entries(definition.States).flatMap(([name, state]) => [
    [name, state] as [string, AslState],
    ...(state.ItemProcessor ? allStates(state.ItemProcessor) : []),
  ]);
}

describe('the certrotor stack with schedule settings', () => {
  function synthesize(edit: (config: RawConfig) => void, schedules?: Record<string, string>) {
    const configuration = exampleConfiguration() as RawConfig;
    edit(configuration);
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new CertRotorStack(app, 'Scheduled', {
      configuration,
      ...(schedules ? { schedules } : {}),
    });
    return Template.fromStack(stack);
  }

  it("keeps a disabled job's schedule disabled, drops its heartbeat alarm, and runs the others in their own time zone", () => {
    const template = synthesize((c) => {
      c.schedules.upstream = { expression: 'rate(6 hours)', enabled: false };
      c.schedules.inventory = { expression: 'cron(0 6 * * ? *)', timeZone: 'Europe/Berlin' };
    });

    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Description: 'certrotor upstream',
      State: 'DISABLED',
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Description: 'certrotor inventory',
      ScheduleExpression: 'cron(0 6 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
    });
    const alarms = JSON.stringify(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).not.toContain('UpstreamHeartbeat');
    expect(alarms).toContain('InventoryHeartbeat');
  });

  it('passes schedule overrides to the functions, so their Scan Missed check sees what really runs', () => {
    const template = synthesize(() => undefined, { probe: 'rate(30 minutes)', timeZone: 'Europe/Paris' });

    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CERTROTOR_SCHEDULES: JSON.stringify({ probe: 'rate(30 minutes)', timeZone: 'Europe/Paris' }),
        }),
      },
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Description: 'certrotor probe',
      ScheduleExpression: 'rate(30 minutes)',
    });
  });
});

import { App, Stack, aws_dynamodb as dynamodb, aws_events as events, aws_kms as kms } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CertRotorStack } from '../../lib/certrotor-stack';
import { ScheduledReport } from '../../lib/constructs/scheduled-report';
import { exampleConfiguration } from './support/stack';
import { buildConfig } from '../builders/config';

function synth(props: Partial<ConstructorParameters<typeof ScheduledReport>[2]> = {}): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Report', { env: { account: '123456789012', region: 'eu-west-1' } });
  const rotor = {
    key: new kms.Key(stack, 'Key'),
    table: new dynamodb.Table(stack, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    }),
    bus: new events.EventBus(stack, 'Bus'),
  };
  new ScheduledReport(stack, 'FleetReport', { rotor, configuration: buildConfig(), ...props });
  return Template.fromStack(stack);
}

describe('the scheduled fleet report (opt-in)', () => {
  it('keeps the page in a private, versioned, KMS-encrypted bucket that refuses plain HTTP', () => {
    const template = synth();

    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) }),
        ],
      },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } })],
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });

  it('runs the report handler daily on Node.js 22 with the table, bucket and key it needs', () => {
    const template = synth();

    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({
          CERTROTOR_HANDLER: 'report',
          CERTROTOR_REPORT_KEY: 'certrotor-report.html',
          CERTROTOR_REPORT_BUCKET: Match.anyValue(),
          CERTROTOR_TABLE_NAME: Match.anyValue(),
        }),
      },
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 day)',
      State: 'ENABLED',
    });
  });

  it('lets the function read state and put only the report object, never write state', () => {
    const template = synth();

    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('dynamodb:GetItem');
    expect(policies).toContain('dynamodb:Query');
    expect(policies).not.toContain('dynamodb:PutItem');
    expect(policies).not.toContain('dynamodb:DeleteItem');
    expect(policies).toContain('s3:PutObject');
    expect(policies).toContain('/certrotor-report.html');
    expect(policies).not.toContain('s3:DeleteObject');
  });

  it('takes another schedule, time zone and object key', () => {
    const template = synth({
      schedule: 'cron(0 7 * * ? *)',
      timeZone: 'Europe/Paris',
      objectKey: 'fleet/index.html',
    });

    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 7 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CERTROTOR_REPORT_KEY: 'fleet/index.html' }) },
    });
  });
});

describe('the CertRotor construct and the fleet report', () => {
  function rotorTemplate(report?: { schedule?: string }): Template {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new CertRotorStack(app, 'WithReport', {
      configuration: exampleConfiguration(),
      ...(report ? { report } : {}),
    });
    return Template.fromStack(stack);
  }

  it('creates no report bucket unless asked', () => {
    rotorTemplate().resourceCountIs('AWS::S3::Bucket', 0);
  });

  it('writes the report to its own private bucket on the given schedule when the report prop is set', () => {
    const template = rotorTemplate({ schedule: 'rate(12 hours)' });

    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(12 hours)' });
  });
});

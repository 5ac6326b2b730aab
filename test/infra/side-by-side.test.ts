/**
 * No fixed physical names: two CertRotors in one stack, and two stacks in one app, synthesize side by
 * side; opt-in settings (ACM's account-wide expiry setting, reserved concurrency) appear only when asked.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CertRotor } from '../../lib/certrotor';
import { CertRotorStack } from '../../lib/certrotor-stack';
import { exampleConfiguration, resourcesOf } from './support/stack';

function newApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

/** The example configuration with its webhooks in Secrets Manager secrets the stack creates (opt-in). */
function withWebhookSecrets(): unknown {
  const document = exampleConfiguration() as {
    notifications: { channels: { name: string; webhook: Record<string, unknown> }[] };
  };
  for (const channel of document.notifications.channels) {
    delete channel.webhook.parameter;
    channel.webhook.secretId = `certrotor/slack/${channel.name}`;
  }
  return document;
}

describe('two certrotor deployments side by side', () => {
  it('synthesizes two CertRotors in one stack with distinct buses, generated secret names and no names from the configuration', () => {
    const stack = new Stack(newApp(), 'Shared');
    new CertRotor(stack, 'Team1', { configuration: withWebhookSecrets() });
    new CertRotor(stack, 'Team2', { configuration: withWebhookSecrets() });
    const template = Template.fromStack(stack);

    const buses = Object.values(resourcesOf(template, 'AWS::Events::EventBus')).map((b) => b.Properties.Name);
    expect(buses).toHaveLength(2);
    expect(new Set(buses).size).toBe(2);
    expect(buses).not.toContain('certrotor');
    const secrets = Object.values(resourcesOf(template, 'AWS::SecretsManager::Secret'));
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    for (const secret of secrets) expect(secret.Properties.Name).toBeUndefined();
    for (const type of [
      'AWS::Lambda::Function',
      'AWS::DynamoDB::Table',
      'AWS::SQS::Queue',
      'AWS::SNS::Topic',
      'AWS::StepFunctions::StateMachine',
      'AWS::Scheduler::Schedule',
      'AWS::CloudWatch::Dashboard',
    ]) {
      for (const resource of Object.values(resourcesOf(template, type))) {
        const physical = [
          'FunctionName',
          'TableName',
          'QueueName',
          'TopicName',
          'StateMachineName',
          'Name',
          'DashboardName',
        ];
        expect({ type, names: physical.filter((p) => p in resource.Properties) }).toEqual({
          type,
          names: [],
        });
      }
    }
    template.resourceCountIs('AWS::CertificateManager::Account', 0);
  });

  it('synthesizes two certrotor stacks in one app', () => {
    const app = newApp();
    const first = new CertRotorStack(app, 'First', { configuration: exampleConfiguration() });
    const second = new CertRotorStack(app, 'Second', { configuration: exampleConfiguration() });
    const names = [first, second].map(
      (s) => Object.values(resourcesOf(Template.fromStack(s), 'AWS::Events::EventBus'))[0]!.Properties.Name,
    );
    expect(new Set(names).size).toBe(2);
  });

  it("manages ACM's account-wide expiry setting, reserves Slack posters' concurrency and creates the dashboard and per-function errors alarms only when asked", () => {
    const stack = new CertRotorStack(newApp(), 'OptIn', {
      configuration: exampleConfiguration(),
      manageAcmAccountSettings: true,
      slackConcurrency: 1,
      dashboard: true,
      functionErrorAlarms: true,
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const errorAlarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).filter(
      (a) => a.Properties.MetricName === 'Errors',
    );
    expect(errorAlarms).toHaveLength(8);

    template.hasResourceProperties('AWS::CertificateManager::Account', {
      ExpiryEventsConfiguration: { DaysBeforeExpiry: 45 },
    });
    const reserved = Object.values(resourcesOf(template, 'AWS::Lambda::Function'))
      .filter((f) => f.Properties.ReservedConcurrentExecutions === 1)
      .map(
        (f) =>
          (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables.CERTROTOR_HANDLER,
      );
    expect(reserved.sort()).toEqual(['digest', 'notifier']);
  });

  it('uses a fixed bus name only when one is given', () => {
    const stack = new CertRotorStack(newApp(), 'Named', {
      configuration: exampleConfiguration(),
      eventBusName: 'certrotor-payments',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Events::EventBus', { Name: 'certrotor-payments' });
  });

  it('tells the Slack posters which generated secret holds each configured webhook', () => {
    const stack = new CertRotorStack(newApp(), 'Webhooks', { configuration: withWebhookSecrets() });
    const template = Template.fromStack(stack);
    const posters = Object.values(resourcesOf(template, 'AWS::Lambda::Function')).filter((f) =>
      ['notifier', 'digest'].includes(
        (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables
          .CERTROTOR_HANDLER as string,
      ),
    );
    expect(posters).toHaveLength(2);
    for (const poster of posters) {
      const mapping = JSON.stringify(
        (poster.Properties.Environment as { Variables: Record<string, unknown> }).Variables
          .CERTROTOR_WEBHOOK_SECRETS,
      );
      expect(mapping).toContain('certrotor/slack/');
      expect(mapping).toMatch(/Webhook0/);
    }
  });

  it('grants the Slack posters the webhook parameters of the configuration and creates no secret for them', () => {
    const stack = new CertRotorStack(newApp(), 'Parameters', { configuration: exampleConfiguration() });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const posters = Object.values(resourcesOf(template, 'AWS::Lambda::Function')).filter((f) =>
      ['notifier', 'digest'].includes(
        (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables
          .CERTROTOR_HANDLER as string,
      ),
    );
    expect(posters).toHaveLength(2);
    for (const poster of posters) {
      expect(
        (poster.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
      ).not.toHaveProperty('CERTROTOR_WEBHOOK_SECRETS');
    }
    const reads = Object.values(resourcesOf(template, 'AWS::IAM::Policy')).flatMap((p) =>
      (
        p.Properties.PolicyDocument as { Statement: { Sid?: string; Action: unknown; Resource: unknown }[] }
      ).Statement.filter((s) => s.Sid === 'WebhookParameters').map((s) =>
        JSON.stringify({ action: s.Action, resource: s.Resource }),
      ),
    );
    expect(reads).toHaveLength(2);
    for (const read of reads) {
      expect(read).toContain('"action":"ssm:GetParameter"');
      expect(read).toContain(':parameter/certrotor/slack/platform');
      expect(read).toContain(':parameter/certrotor/slack/payments');
    }
  });

  it('lets the Slack posters read a webhook secret the configuration gives by ARN, and creates none for it', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:team/slack-AbCdEf';
    const document = exampleConfiguration() as {
      notifications: { channels: { webhook: Record<string, unknown> }[] };
    };
    document.notifications.channels[0]!.webhook = { secretId: arn };
    const template = Template.fromStack(new CertRotorStack(newApp(), 'ByArn', { configuration: document }));
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const reads = Object.values(resourcesOf(template, 'AWS::IAM::Policy')).flatMap((p) =>
      (
        p.Properties.PolicyDocument as { Statement: { Sid?: string; Action: unknown; Resource: unknown }[] }
      ).Statement.filter((s) => s.Sid === 'WebhookSecretsByArn').map((s) => ({
        action: s.Action,
        resource: s.Resource,
      })),
    );
    expect(reads).toEqual([
      { action: 'secretsmanager:GetSecretValue', resource: arn },
      { action: 'secretsmanager:GetSecretValue', resource: arn },
    ]);
  });
});

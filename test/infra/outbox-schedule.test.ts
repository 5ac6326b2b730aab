/**
 * The notification outbox is swept in the deployed service: a schedule invokes the notifier every 5
 * minutes with `{ "job": "outbox" }`, so a message still pending after Lambda's retries (Slack down
 * for a while) or a "resolved" message a scan job recorded goes out without waiting for the next
 * event. Its failures land in the notifier's own dead-letter queue (and its alarm).
 */
import { resourcesOf, synthesizeExample } from './support/stack';

const { template } = synthesizeExample();
const resources = template.toJSON().Resources as Record<string, { Type: string }>;

const idStartingWith = (prefix: string, type: string) =>
  Object.entries(resources).find(([id, r]) => id.startsWith(prefix) && r.Type === type)?.[0];

describe('the outbox sweep schedule', () => {
  const sweeps = Object.entries(resourcesOf(template, 'AWS::Scheduler::Schedule')).filter(([id]) =>
    id.startsWith('CertRotorNotifierOutboxSchedule'),
  );
  const notifier = idStartingWith('CertRotorNotifier', 'AWS::Lambda::Function');
  const deadLetters = idStartingWith('CertRotorNotifierDeadLetters', 'AWS::SQS::Queue');

  it('invokes the notifier every 5 minutes with { job: "outbox" }', () => {
    expect(sweeps).toHaveLength(1);
    const properties = sweeps[0]![1].Properties as {
      ScheduleExpression: string;
      State: string;
      Target: { Arn: unknown; Input: string };
    };
    expect(properties.ScheduleExpression).toBe('rate(5 minutes)');
    expect(properties.State).toBe('ENABLED');
    expect(properties.Target.Arn).toEqual({ 'Fn::GetAtt': [notifier, 'Arn'] });
    expect(JSON.parse(properties.Target.Input)).toEqual({
      job: 'outbox',
      scheduledAt: '<aws.scheduler.scheduled-time>',
    });
  });

  it("sends what the scheduler could not invoke, and what still fails after Lambda's retries, to the notifier's dead-letter queue, which has an alarm", () => {
    const target = sweeps[0]![1].Properties.Target as { DeadLetterConfig: { Arn: unknown } };
    expect(target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [deadLetters, 'Arn'] });
    const onFailure = Object.values(resourcesOf(template, 'AWS::Lambda::EventInvokeConfig')).find(
      (c) => (c.Properties.FunctionName as { Ref?: string }).Ref === notifier,
    );
    expect(onFailure?.Properties.DestinationConfig).toEqual({
      OnFailure: { Destination: { 'Fn::GetAtt': [deadLetters, 'Arn'] } },
    });
    const alarmed = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).some((a) =>
      ((a.Properties.Dimensions as { Value: { 'Fn::GetAtt'?: string[] } }[] | undefined) ?? []).some(
        (d) => d.Value['Fn::GetAtt']?.[0] === deadLetters,
      ),
    );
    expect(alarmed).toBe(true);
  });
});

/**
 * Nothing an AWS service hands to a function asynchronously is dropped: every function that a rule or
 * a schedule invokes (asynchronously) has an on-failure destination for what still fails after
 * Lambda's retries, and every such destination queue has an alarm.
 */
import { resourcesOf, synthesizeExample } from './support/stack';

const { template } = synthesizeExample();
const ref = (value: unknown): string | undefined => {
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] } | undefined;
  return v?.Ref ?? v?.['Fn::GetAtt']?.[0];
};

describe('asynchronous invocations in the certrotor stack', () => {
  const rules = Object.values(resourcesOf(template, 'AWS::Events::Rule'));
  const schedules = Object.values(resourcesOf(template, 'AWS::Scheduler::Schedule'));
  const invokeConfigs = Object.values(resourcesOf(template, 'AWS::Lambda::EventInvokeConfig'));
  const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm'));

  const asyncTargets = new Set<string>(
    [
      ...rules.flatMap((r) =>
        ((r.Properties.Targets as { Arn: unknown }[] | undefined) ?? []).map((t) => ref(t.Arn)),
      ),
      ...schedules.map((s) => ref((s.Properties.Target as { Arn: unknown }).Arn)),
    ].filter(
      (id): id is string =>
        id !== undefined &&
        id in template.toJSON().Resources &&
        (template.toJSON().Resources as Record<string, { Type: string }>)[id]!.Type ===
          'AWS::Lambda::Function',
    ),
  );

  it('finds the functions that rules and schedules invoke', () => {
    expect(asyncTargets.size).toBeGreaterThanOrEqual(6);
  });

  it('gives every asynchronously invoked function an on-failure destination', () => {
    const withDestination = new Set(
      invokeConfigs
        .filter((c) => (c.Properties.DestinationConfig as { OnFailure?: unknown } | undefined)?.OnFailure)
        .map((c) => ref(c.Properties.FunctionName)),
    );
    expect([...asyncTargets].filter((id) => !withDestination.has(id))).toEqual([]);
  });

  it('alarms on every queue those failures land in', () => {
    const queues = new Set(
      invokeConfigs.map((c) =>
        ref(
          (c.Properties.DestinationConfig as { OnFailure: { Destination: unknown } }).OnFailure.Destination,
        ),
      ),
    );
    const alarmed = new Set(
      alarms.flatMap((a) =>
        ((a.Properties.Dimensions as { Value: unknown }[] | undefined) ?? []).map((d) => ref(d.Value)),
      ),
    );
    expect([...queues].filter((q) => q !== undefined && !alarmed.has(q))).toEqual([]);
  });
});

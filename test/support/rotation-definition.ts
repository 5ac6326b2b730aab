/**
 * The rotation state machine exactly as `cdk synth` writes it into the template, with its intrinsic
 * functions resolved to placeholder values, for executing it locally (aws-local-stepfunctions).
 */
import { resourcesOf, synthesizeExample } from '../infra/support/stack';

export const PLACEHOLDER_REGION = 'us-east-1';
export const PLACEHOLDER_ACCOUNT = '123456789012';

export function rotationDefinitionFromTemplate(
  stepArn: string,
  region = PLACEHOLDER_REGION,
  account = PLACEHOLDER_ACCOUNT,
): Record<string, unknown> {
  const { template } = synthesizeExample();
  const machine = Object.values(resourcesOf(template, 'AWS::StepFunctions::StateMachine'))[0]!;
  const [, parts] = (machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = (part as { Ref?: string }).Ref;
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::Region') return region;
      if (ref === 'AWS::AccountId') return account;
      if ((part as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt']) return stepArn;
      throw new Error(`unresolved intrinsic in the definition: ${JSON.stringify(part)}`);
    })
    .join('');
  return JSON.parse(text) as Record<string, unknown>;
}

/** Names of every Task state, Map item processors included. */
export function taskStatesOf(
  states: Record<string, { Type: string; ItemProcessor?: { States: never } }>,
): string[] {
  return Object.entries(states).flatMap(([name, s]) => [
    ...(s.Type === 'Task' ? [name] : []),
    ...(s.ItemProcessor ? taskStatesOf(s.ItemProcessor.States) : []),
  ]);
}

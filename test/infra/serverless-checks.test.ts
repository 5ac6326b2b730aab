/**
 * cdk-nag's ServerlessChecks pack on the synthesized stack: clean, or each exception acknowledged in
 * the construct with its reason.
 */
import { ServerlessChecks } from 'cdk-nag';
import { synthesizeExample } from './support/stack';

describe('the certrotor stack under ServerlessChecks', () => {
  it('has no unacknowledged ServerlessChecks findings', () => {
    const { stack } = synthesizeExample();
    const report = new ServerlessChecks(stack).validateScope(stack);
    const unacknowledged = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName}: ${r.resourceLogicalId ?? r.constructPath ?? ''}`),
    );
    expect(unacknowledged).toEqual([]);
  });
});

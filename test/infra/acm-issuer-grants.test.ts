/**
 * The deployed service with an `acm` issuer (ACM exportable public certificates): the rotation may
 * request certificates only with the issuer's tag, describe and export only certificates carrying
 * it, write ACM's validation CNAMEs (UPSERT only) in the configured zone and wait for INSYNC; the
 * planner may describe those certificates (the renewal reconciliation) and receives ACM's Certificate
 * Available events, with a dead-letter queue for undeliverable events and an on-failure destination
 * for failed invocations. Without an `acm` issuer, none of this exists.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CertRotorStack } from '../../lib/certrotor-stack';
import type { RawConfig } from '../builders/config';
import { exampleConfiguration, resourcesOf, synthesizeExample } from './support/stack';

interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

function synthesizeWithAcm(): { stack: CertRotorStack; template: Template } {
  const configuration = exampleConfiguration() as RawConfig;
  configuration.issuers.push({
    name: 'public',
    kind: 'acm',
    validation: { route53: { hostedZoneId: '/hostedzone/Z0123456789ABC' } },
  });
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CertRotorStack(app, 'CertRotor', { configuration, configurationName: 'acm.yaml' });
  return { stack, template: Template.fromStack(stack) };
}

function roleId(template: Template, prefix: string): string {
  const json = template.toJSON() as { Resources: Record<string, { Type: string }> };
  return Object.keys(json.Resources).find(
    (id) => id.startsWith(prefix) && json.Resources[id]!.Type === 'AWS::IAM::Role',
  )!;
}

function statementsOf(template: Template, rolePrefix: string): Statement[] {
  const id = roleId(template, rolePrefix);
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(id))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const bySid = (statements: Statement[], sid: string) => statements.find((s) => s.Sid === sid);

describe('the deployed service with an acm issuer', () => {
  const { stack, template } = synthesizeWithAcm();
  const rotation = statementsOf(template, 'CertRotorRotationStepServiceRole');
  const planner = statementsOf(template, 'CertRotorPlannerServiceRole');

  it("lets the rotation request certificates only with the issuer's tag, and describe and export only those", () => {
    const request = bySid(rotation, 'AcmExportableRequest');
    expect(request?.Action).toEqual(['acm:RequestCertificate', 'acm:AddTagsToCertificate']);
    expect(request?.Condition).toEqual({ StringEquals: { 'aws:RequestTag/certrotor:issuer': ['public'] } });
    const certificates = bySid(rotation, 'AcmExportableCertificates');
    expect(certificates?.Action).toEqual(['acm:DescribeCertificate', 'acm:ExportCertificate']);
    expect(JSON.stringify(certificates?.Resource)).toMatch(/:acm:.*:certificate\/\*/);
    expect(certificates?.Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/certrotor:issuer': ['public'] },
    });
  });

  it('lets the rotation UPSERT only CNAMEs named _* in the configured zone, and read change statuses', () => {
    const records = bySid(rotation, 'AcmValidationRecords');
    expect(records?.Action).toBe('route53:ChangeResourceRecordSets');
    expect(JSON.stringify(records?.Resource)).toMatch(/:route53:::hostedzone\/Z0123456789ABC/);
    expect(records?.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
        'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
      },
      'ForAllValues:StringLike': { 'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_*'] },
    });
    expect(bySid(rotation, 'AcmValidationChanges')?.Action).toBe('route53:GetChange');
  });

  it('lets the planner describe those certificates and nothing more in ACM', () => {
    const checks = bySid(planner, 'AcmRenewalChecks');
    expect(checks?.Action).toBe('acm:DescribeCertificate');
    expect(checks?.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/certrotor:issuer': ['public'] } });
    expect(planner.filter((s) => JSON.stringify(s.Action).includes('acm:'))).toHaveLength(1);
  });

  it("routes ACM's Certificate Available events to the planner, with a dead-letter queue and an on-failure destination", () => {
    const plannerFunction = Object.entries(resourcesOf(template, 'AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('CertRotorPlanner'),
    )![0];
    const rules = Object.values(resourcesOf(template, 'AWS::Events::Rule')).filter(
      (r) =>
        JSON.stringify(r.Properties.EventPattern) ===
        JSON.stringify({ source: ['aws.acm'], 'detail-type': ['ACM Certificate Available'] }),
    );
    expect(rules).toHaveLength(1);
    const targets = rules[0]!.Properties.Targets as { Arn: unknown; DeadLetterConfig?: unknown }[];
    expect(targets).toHaveLength(1);
    expect(JSON.stringify(targets[0]!.Arn)).toContain(plannerFunction);
    expect(targets[0]!.DeadLetterConfig).toBeDefined();
    const invokeConfigs = Object.values(resourcesOf(template, 'AWS::Lambda::EventInvokeConfig')).filter((c) =>
      JSON.stringify(c.Properties.FunctionName).includes(plannerFunction),
    );
    expect(invokeConfigs).toHaveLength(1);
    expect(
      (invokeConfigs[0]!.Properties.DestinationConfig as { OnFailure?: unknown } | undefined)?.OnFailure,
    ).toBeDefined();
  });

  it('has no unacknowledged cdk-nag AwsSolutions findings', () => {
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    expect(
      report.violations.map(
        (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`,
      ),
    ).toEqual([]);
  });

  it('has no ACM issuing grant and no Certificate Available rule without an acm issuer', () => {
    const { template: plain } = synthesizeExample();
    const sids = [
      ...statementsOf(plain, 'CertRotorRotationStepServiceRole'),
      ...statementsOf(plain, 'CertRotorPlannerServiceRole'),
    ].map((s) => s.Sid ?? '');
    expect(sids.filter((s) => /^Acm(Exportable|Validation|RenewalChecks)/.test(s))).toEqual([]);
    expect(JSON.stringify(resourcesOf(plain, 'AWS::Events::Rule'))).not.toContain(
      'ACM Certificate Available',
    );
  });
});

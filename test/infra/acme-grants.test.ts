/**
 * The deployed rotation with an ACME issuer (DNS-01 through Route 53): its role may write TXT records
 * named `_acme-challenge.*` in the configured hosted zones only, read change statuses, and read the
 * External Account Binding MAC key's secret; the account key and the order journal use the grants the
 * rotation already has (secrets under the prefix, the table, bundle data keys). Without an ACME
 * issuer, none of these grants exist.
 */
import { App, Stack, aws_ec2 as ec2 } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { validateConfig } from '../../lambda/config/validate';
import { CertRotorStack } from '../../lib/certrotor-stack';
import { unreachableEndpoints } from '../../lib/constructs/network-placement';
import type { RawConfig } from '../builders/config';
import { exampleConfiguration, resourcesOf, synthesizeExample } from './support/stack';

interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

function withAcme(): RawConfig {
  const configuration = exampleConfiguration() as RawConfig;
  configuration.issuers.push(
    {
      name: 'public',
      kind: 'acme',
      directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory',
      challenge: { type: 'dns-01', route53: { hostedZoneId: 'Z0123456789ABC' } },
    },
    {
      name: 'managed',
      kind: 'acme',
      directoryUrl: 'https://acme.example.com/directory',
      eab: { keyId: 'kid-1', hmacKeySecretId: 'acme/eab-mac' },
      challenge: { type: 'dns-01', route53: { hostedZoneId: '/hostedzone/Z9876543210XYZ' } },
    },
  );
  return configuration;
}

function synthesizeWithAcme(configuration = withAcme()): { stack: CertRotorStack; template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CertRotorStack(app, 'CertRotor', {
    configuration,
    configurationName: 'acme.yaml',
  });
  return { stack, template: Template.fromStack(stack) };
}

function rotationStatements(template: Template, role = 'CertRotorRotationStepServiceRole'): Statement[] {
  const json = template.toJSON() as { Resources: Record<string, { Type: string }> };
  const roleId = Object.keys(json.Resources).find(
    (id) => id.startsWith(role) && json.Resources[id]!.Type === 'AWS::IAM::Role',
  )!;
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const bySid = (statements: Statement[], sid: string) => statements.find((s) => s.Sid === sid);

describe('the deployed rotation with ACME issuers', () => {
  const { stack, template } = synthesizeWithAcme();
  const statements = rotationStatements(template);

  it('may change only _acme-challenge TXT records, by UPSERT and DELETE, in the configured hosted zones', () => {
    const records = bySid(statements, 'AcmeDns01Records');

    expect(records?.Action).toBe('route53:ChangeResourceRecordSets');
    expect(JSON.stringify(records?.Resource)).toMatch(/:route53:::hostedzone\/Z0123456789ABC/);
    expect(JSON.stringify(records?.Resource)).toMatch(/:route53:::hostedzone\/Z9876543210XYZ/);
    expect(records?.Resource).toHaveLength(2);
    expect(records?.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
        'route53:ChangeResourceRecordSetsActions': ['UPSERT', 'DELETE'],
      },
      'ForAllValues:StringLike': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.*'],
      },
    });
  });

  it('may read change statuses (waiting for INSYNC) and nothing else in Route 53', () => {
    const route53 = statements.filter((s) => JSON.stringify(s.Action).includes('route53:'));

    expect(route53.map((s) => s.Sid).sort()).toEqual(['AcmeDns01Changes', 'AcmeDns01Records']);
    const changes = bySid(statements, 'AcmeDns01Changes');
    expect(changes?.Action).toBe('route53:GetChange');
    expect(JSON.stringify(changes?.Resource)).toMatch(/:route53:::change\/\*/);
  });

  it('may read the External Account Binding MAC key secret, and no other secret outside the prefix', () => {
    const eab = bySid(statements, 'AcmeEabKeys');

    expect(eab?.Action).toBe('secretsmanager:GetSecretValue');
    expect(JSON.stringify(eab?.Resource)).toMatch(/:secret:acme\/eab-mac-\?\?\?\?\?\?/);
  });

  it('gives the upstream watcher (which never issues) none of these grants', () => {
    const json = template.toJSON() as { Resources: Record<string, { Type: string }> };
    const roleId = Object.keys(json.Resources).find(
      (id) =>
        id.startsWith('CertRotorUpstreamWatchServiceRole') && json.Resources[id]!.Type === 'AWS::IAM::Role',
    )!;
    const watch = Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId))
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    expect(watch.filter((s) => s.Sid?.startsWith('Acme'))).toEqual([]);
  });

  it('has no unacknowledged cdk-nag AwsSolutions findings', () => {
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    expect(
      report.violations.map(
        (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`,
      ),
    ).toEqual([]);
  });

  it('has no Route 53 or EAB grant without an ACME issuer', () => {
    const plain = rotationStatements(synthesizeExample().template);
    expect(plain.filter((s) => s.Sid?.startsWith('Acme'))).toEqual([]);
  });
});

describe('the planner with ACME issuers (ARI)', () => {
  const configuration = withAcme();
  const issued = configuration.certificates[0]!;
  issued.issuer = 'public';
  const { stack, template } = synthesizeWithAcme(configuration);
  const planner = rotationStatements(template, 'CertRotorPlannerServiceRole');

  it("may read the secret bundle of each acme-issued certificate (its current version, for the CA's renewal window) and no other secret", () => {
    const reads = bySid(planner, 'RenewalInfoCertificates');

    expect(reads?.Action).toBe('secretsmanager:GetSecretValue');
    // One certificate: one resource (a single resource is not a list in the template).
    expect(JSON.stringify(reads?.Resource)).toContain(`:secret:certrotor/${issued.name}-??????`);
    expect(JSON.stringify(planner)).not.toMatch(/secret:(certrotor\/)?\*/);
  });

  it('has no unacknowledged cdk-nag AwsSolutions findings', () => {
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('gives the planner no secret read without an acme-issued certificate', () => {
    const plain = rotationStatements(synthesizeWithAcme().template, 'CertRotorPlannerServiceRole');
    expect(bySid(plain, 'RenewalInfoCertificates')).toBeUndefined();
  });
});

describe("the rotation's way out to the ACME directory", () => {
  const vpc = new ec2.Vpc(new Stack(new App(), 'Net'), 'Vpc', { maxAzs: 1 });
  const environments = ['prod-eu'];

  it('warns when the rotation runs in isolated subnets, which cannot reach the directory', () => {
    const config = validateConfig(withAcme(), 'acme.yaml');
    const isolated = {
      name: 'Isolated',
      environments,
      vpc,
      subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    };
    const lines = unreachableEndpoints({ config, placements: [isolated], rotation: isolated });
    expect(lines.filter((l) => l.startsWith('issuer '))).toEqual([
      "issuer public: the rotation's placement Isolated uses isolated subnets, which cannot reach the ACME directory acme-v02.api.letsencrypt.org: use subnets with egress (a NAT gateway)",
      "issuer managed: the rotation's placement Isolated uses isolated subnets, which cannot reach the ACME directory acme.example.com: use subnets with egress (a NAT gateway)",
    ]);
  });

  it('says nothing for public directories from outside a VPC or from subnets with egress', () => {
    const config = validateConfig(withAcme(), 'acme.yaml');
    const egress = { name: 'Egress', environments, vpc };
    expect(unreachableEndpoints({ config, placements: [] }).filter((l) => l.startsWith('issuer '))).toEqual(
      [],
    );
    expect(
      unreachableEndpoints({ config, placements: [egress], rotation: egress }).filter((l) =>
        l.startsWith('issuer '),
      ),
    ).toEqual([]);
  });

  it('warns about a private directory when the rotation runs outside any VPC', () => {
    const raw = withAcme();
    (raw.issuers.at(-1) as { directoryUrl: string }).directoryUrl = 'https://acme.corp.internal/directory';
    const config = validateConfig(raw, 'acme.yaml');
    expect(unreachableEndpoints({ config, placements: [] }).filter((l) => l.startsWith('issuer '))).toEqual([
      'issuer managed: the ACME directory acme.corp.internal is private and the rotation runs outside any VPC: name a placement that reaches it (rotationPlacement)',
    ]);
  });
});

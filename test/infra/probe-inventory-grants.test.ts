/**
 * The probes' sibling sweep reads the inventory sources again: the default probe (outside any VPC)
 * and the probes of network placements that declare `readsInventory` get the inventory's read-only
 * grants and are told to read (CERTROTOR_PROBE_READS_INVENTORY); other placements' probes get
 * neither. cdk-nag's AwsSolutions and ServerlessChecks packs stay clean.
 */
import { App, Stack, aws_ec2 as ec2 } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { CertRotor } from '../../lib/certrotor';
import type { RawConfig } from '../builders/config';
import { exampleConfiguration, resourcesOf } from './support/stack';

const INVENTORY_SIDS = ['ListCertificates', 'ReadAcmCertificates', 'ReadTaggedCertificateSecrets'];

function synthesize() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'InventoryProbes');
  const configuration = exampleConfiguration() as RawConfig;
  const eu = new ec2.Vpc(stack, 'EuVpc', { maxAzs: 2, natGateways: 1 });
  const us = new ec2.Vpc(stack, 'UsVpc', { maxAzs: 2, natGateways: 1 });
  new CertRotor(stack, 'CertRotor', {
    configuration,
    networkPlacements: [
      { name: 'Eu', environments: ['prod-eu'], vpc: eu, readsInventory: true },
      { name: 'Us', environments: ['prod-us'], vpc: us },
    ],
    rotationPlacement: 'Eu',
  });
  return { stack, template: Template.fromStack(stack) };
}

type Resource = { Properties: Record<string, unknown> };
const variables = (f: Resource) =>
  (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

/** Each probe function (logical id without its hash): its variable and the Sids of its role's policies. */
function probes(template: Template) {
  const policies = Object.values(resourcesOf(template, 'AWS::IAM::Policy'));
  return Object.fromEntries(
    Object.entries(resourcesOf(template, 'AWS::Lambda::Function'))
      .filter(([, f]) => variables(f).CERTROTOR_HANDLER === 'probe')
      .map(([id, f]) => {
        const role = (f.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
        const sids = policies
          .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
          .flatMap((p) => (p.Properties.PolicyDocument as { Statement: { Sid?: string }[] }).Statement)
          .flatMap((s) => (s.Sid ? [s.Sid] : []));
        return [
          id.replace(/[0-9A-F]{8}$/, ''),
          {
            readsInventory: variables(f).CERTROTOR_PROBE_READS_INVENTORY,
            inventoryGrants: INVENTORY_SIDS.filter((sid) => sids.includes(sid)),
          },
        ];
      }),
  );
}

describe("the probes' inventory reads", () => {
  const { stack, template } = synthesize();

  it('grants the inventory reads to the default probe and to placements that declare they reach those APIs, and tells the others not to read', () => {
    expect(probes(template)).toEqual({
      CertRotorProbe: { readsInventory: undefined, inventoryGrants: INVENTORY_SIDS },
      CertRotorProbeEu: { readsInventory: 'true', inventoryGrants: INVENTORY_SIDS },
      CertRotorProbeUs: { readsInventory: 'false', inventoryGrants: [] },
    });
  });

  it('grants them read-only: no action that changes a certificate or a secret', () => {
    const statements = Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
      .flatMap(
        (p) => (p.Properties.PolicyDocument as { Statement: { Sid?: string; Action: unknown }[] }).Statement,
      )
      .filter((s) => s.Sid !== undefined && INVENTORY_SIDS.includes(s.Sid));
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])) as string[];
    expect(actions.length).toBeGreaterThan(0);
    for (const action of actions) expect(action).toMatch(/:(List|Describe|Get)/);
  });

  it("has no unacknowledged cdk-nag AwsSolutions or ServerlessChecks findings on the construct's resources", () => {
    // The test's own VPCs (no flow logs) are not the construct's to fix.
    const ours = [new AwsSolutionsChecks(stack), new ServerlessChecks(stack)].flatMap((pack) =>
      pack
        .validateScope(stack)
        .violations.flatMap((v) =>
          v.violatingResources
            .map((r) => `${v.ruleName}: ${r.resourceLogicalId || r.constructPath || ''}`)
            .filter((where) => where.includes('CertRotor')),
        ),
    );
    expect(ours).toEqual([]);
  });
});

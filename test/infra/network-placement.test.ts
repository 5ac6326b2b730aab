/**
 * Network placements: functions that open connections run in the VPC that reaches their endpoints,
 * one probe function per placement, endpoints routed by environment; synth warns about private
 * endpoints no placement reaches.
 */
import { App, Stack, aws_ec2 as ec2 } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CertRotor, type CertRotorProps } from '../../lib/certrotor';
import { isPrivateEndpoint } from '../../lib/constructs/network-placement';
import type { RawConfig } from '../builders/config';
import { exampleConfiguration, resourcesOf } from './support/stack';

function configurationWithPrivateEndpoints(): RawConfig {
  const configuration = exampleConfiguration() as RawConfig;
  (configuration.endpoints as unknown[]).push(
    {
      name: 'ingress-eu',
      environment: 'prod-eu',
      host: '10.0.1.11',
      port: 443,
      servername: 'api.example.com',
    },
    { name: 'grpc-us', environment: 'prod-us', host: 'grpc.internal', port: 443 },
  );
  return configuration;
}

function synthesize(props: (stack: Stack) => Omit<CertRotorProps, 'configuration'>) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Placed');
  const rotor = new CertRotor(stack, 'CertRotor', {
    configuration: configurationWithPrivateEndpoints(),
    ...props(stack),
  });
  return { stack, rotor, template: Template.fromStack(stack) };
}

function twoVpcs(stack: Stack) {
  const eu = new ec2.Vpc(stack, 'EuVpc', { maxAzs: 2, natGateways: 1 });
  const us = new ec2.Vpc(stack, 'UsVpc', { maxAzs: 2, natGateways: 1 });
  return { eu, us };
}

type Fn = { Properties: Record<string, unknown> };
const variables = (f: Fn) => (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
const byHandler = (template: Template, handler: string) =>
  Object.entries(resourcesOf(template, 'AWS::Lambda::Function')).filter(
    ([, f]) => variables(f).CERTROTOR_HANDLER === handler,
  );

describe('certrotor functions in network placements', () => {
  const { stack, template } = synthesize((s) => {
    const { eu, us } = twoVpcs(s);
    return {
      networkPlacements: [
        { name: 'Eu', environments: ['prod-eu'], vpc: eu },
        { name: 'Us', environments: ['prod-us'], vpc: us },
      ],
      rotationPlacement: 'Eu',
    };
  });

  it('creates one probe per placement in its VPC, each probing its environments, and a default probe for the rest outside any VPC', () => {
    const probes = byHandler(template, 'probe');
    expect(probes).toHaveLength(3);
    const served = Object.fromEntries(
      probes.map(([id, f]) => [
        id.replace(/[0-9A-F]{8}$/, ''),
        {
          environments: variables(f).CERTROTOR_PROBE_ENVIRONMENTS,
          inVpc: f.Properties.VpcConfig !== undefined,
        },
      ]),
    );
    expect(served).toEqual({
      CertRotorProbe: { environments: JSON.stringify(['staging']), inVpc: false },
      CertRotorProbeEu: { environments: JSON.stringify(['prod-eu']), inVpc: true },
      CertRotorProbeUs: { environments: JSON.stringify(['prod-us']), inVpc: true },
    });
    const euProbe = probes.find(([id]) => id.startsWith('CertRotorProbeEu'))![1];
    expect(JSON.stringify((euProbe.Properties.VpcConfig as { SubnetIds: unknown }).SubnetIds)).toContain(
      'EuVpcPrivateSubnet',
    );
  });

  it('runs the rotation steps and the upstream watch in the rotation placement, and the other jobs outside any VPC', () => {
    for (const handler of ['rotation-step', 'upstream-watch']) {
      const [, f] = byHandler(template, handler)[0]!;
      expect(JSON.stringify(f.Properties.VpcConfig)).toContain('EuVpcPrivateSubnet');
    }
    for (const handler of ['inventory', 'planner', 'notifier', 'acm-expiry-event', 'digest']) {
      const [, f] = byHandler(template, handler)[0]!;
      expect({ handler, vpc: f.Properties.VpcConfig }).toEqual({ handler, vpc: undefined });
    }
  });

  it('schedules every probe on the probe schedule and lets each write the state table', () => {
    const probeSchedules = Object.values(resourcesOf(template, 'AWS::Scheduler::Schedule')).filter(
      (s) => s.Properties.Description === 'certrotor probe',
    );
    expect(probeSchedules).toHaveLength(3);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['dynamodb:PutItem']) })]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^CertRotorProbeEuServiceRole') }],
    });
  });

  it("tells every scheduled job's function the placement probes, so each one's stop is a Scan Missed naming it", () => {
    const watched = JSON.stringify([
      { name: 'Eu', environments: ['prod-eu'] },
      { name: 'Us', environments: ['prod-us'] },
    ]);
    for (const handler of ['inventory', 'probe', 'upstream-watch'])
      for (const [id, f] of byHandler(template, handler))
        expect({ id, watched: variables(f).CERTROTOR_PROBE_PLACEMENTS }).toEqual({ id, watched });
  });

  it('warns about no endpoint when placements reach them all, and has no unacknowledged cdk-nag findings on its resources', () => {
    expect(
      Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('certrotor: endpoint')),
    ).toEqual([]);
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    // The test's own VPCs (no flow logs) are not the construct's to fix.
    const ours = report.violations.flatMap((v) =>
      v.violatingResources
        .map((r) => `${v.ruleName}: ${r.resourceLogicalId ?? r.constructPath ?? ''}`)
        .filter((where) => where.includes('CertRotor')),
    );
    expect(ours).toEqual([]);
  });
});

describe('certrotor without network placements', () => {
  it('warns at synth about each private endpoint the probe and the rotation cannot reach', () => {
    const { stack } = synthesize(() => ({}));
    const warnings = Annotations.fromStack(stack)
      .findWarning('*', Match.stringLikeRegexp('certrotor: endpoint'))
      .map((w) => String(w.entry.data));
    expect(warnings).toEqual([
      expect.stringMatching(
        /^certrotor: endpoint ingress-eu \(10\.0\.1\.11\) in environment prod-eu is private and no network placement reaches it/,
      ),
      expect.stringMatching(
        /^certrotor: endpoint grpc-us \(grpc\.internal\) in environment prod-us is private and no network placement reaches it/,
      ),
    ]);
  });

  it('keeps every function outside any VPC, with no placement probes to watch', () => {
    const { template } = synthesize(() => ({}));
    for (const f of Object.values(resourcesOf(template, 'AWS::Lambda::Function'))) {
      expect(f.Properties.VpcConfig).toBeUndefined();
      expect(variables(f).CERTROTOR_PROBE_PLACEMENTS).toBeUndefined();
    }
  });
});

describe('certrotor network placement props', () => {
  it('names each problem: an unknown environment, an environment placed twice, an unknown rotation placement', () => {
    expect(() =>
      synthesize((s) => {
        const { eu, us } = twoVpcs(s);
        return {
          networkPlacements: [
            { name: 'Eu', environments: ['prod-eu', 'moon'], vpc: eu },
            { name: 'Us', environments: ['prod-eu'], vpc: us },
          ],
          rotationPlacement: 'Mars',
        };
      }),
    ).toThrow(
      [
        'CertRotor props: 3 configuration problems:',
        '  networkPlacements[0].environments: moon is not an environment of the configuration',
        '  networkPlacements[1].environments: prod-eu is already reached from placement Eu',
        '  rotationPlacement: no network placement named Mars',
      ].join('\n'),
    );
  });

  it('treats RFC 1918 addresses and .internal/.local names as private, and public names and loopback as not', () => {
    expect(
      ['10.0.1.11', '172.16.0.1', '172.31.255.255', '192.168.1.1', 'db.internal', 'printer.local'].map(
        isPrivateEndpoint,
      ),
    ).toEqual([true, true, true, true, true, true]);
    expect(
      ['172.32.0.1', '8.8.8.8', 'api.example.com', '127.0.0.1', 'internal.example.com'].map(
        isPrivateEndpoint,
      ),
    ).toEqual([false, false, false, false, false]);
  });
});

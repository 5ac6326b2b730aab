/**
 * The typed configuration of the construct library (lib/configuration-type.ts) is generated from the
 * configuration schema (scripts/config-type.ts); it cannot drift, it is assignable to the schema's own
 * input type (checked by the compiler: `npx tsc --noEmit -p .`), and a typed `config` prop synthesizes.
 */
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CertrotorConfigInput } from '../../lambda/config/configuration';
import { CertRotor, CertRotorStack, type CertRotorConfiguration } from '../../lib';
import {
  CONFIG_TYPE_FILE,
  REGENERATE_CONFIG_TYPE_HINT,
  currentConfigurationTypeFile,
  expectedConfigurationTypeFile,
  writeConfigurationTypeFile,
} from '../../scripts/config-type';
import { EXAMPLE_CONFIG } from './support/stack';

const root = join(__dirname, '..', '..');

// Compile-time: every value of the generated type is an input the zod schema's type accepts.
const typedIsSchemaInput = (typed: CertRotorConfiguration): CertrotorConfigInput => typed;

const typed: CertRotorConfiguration = {
  version: 1,
  environments: [{ name: 'prod' }],
  endpoints: [{ name: 'api', host: 'api.example.com', port: 443, environment: 'prod' }],
  notifications: {
    channels: [{ name: 'alerts', kind: 'slack', webhook: { parameter: '/certrotor/slack/alerts' } }],
  },
};

function newApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

describe('the typed configuration of the construct', () => {
  if (process.env.UPDATE_DOCS === '1') {
    it(`rewrites ${CONFIG_TYPE_FILE} when UPDATE_DOCS=1`, () => {
      writeConfigurationTypeFile(root);
    });
  }

  it(`${CONFIG_TYPE_FILE} matches the configuration schema`, () => {
    if (currentConfigurationTypeFile(root) !== expectedConfigurationTypeFile(root))
      throw new Error(
        `${CONFIG_TYPE_FILE} is out of date with the configuration schema; regenerate with: ${REGENERATE_CONFIG_TYPE_HINT}`,
      );
  });

  it('synthesizes a CertRotor from a typed config prop, with the same bundled configuration as the document', () => {
    expect(typedIsSchemaInput(typed)).toBe(typed);
    const stack = new CertRotorStack(newApp(), 'Typed', { config: typed });
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    expect(Object.keys(functions).length).toBeGreaterThan(0);
    expect(stack.certrotor.functions.probe).toBeDefined();
  });

  it('refuses both a config and a configuration, or neither, in one line naming the props', () => {
    const app = newApp();
    expect(() => new CertRotorStack(app, 'Both', { config: typed, configuration: typed })).toThrow(
      /^CertRotor props: 1 configuration problem:\n {2}give config \(typed\) or configuration \(a parsed document\), not both$/,
    );
    expect(() => new CertRotorStack(app, 'Neither', {})).toThrow(
      /^CertRotor props: 1 configuration problem:\n {2}give config \(typed\) or configuration \(a parsed document\)$/,
    );
  });

  it('reads a configuration file with CertRotor.fromFile', () => {
    const stack = new CertRotorStack(newApp(), 'FromFile', { config: typed });
    const rotor = CertRotor.fromFile(stack, 'Second', EXAMPLE_CONFIG);
    expect(rotor.node.id).toBe('Second');
    expect(() => CertRotor.fromFile(stack, 'Missing', join(root, 'no-such-certrotor.yaml'))).toThrow(
      /no-such-certrotor\.yaml/,
    );
  });
});

/**
 * The CertRotor construct validates its configuration for the aws backend: a configuration naming a
 * kind only the CLI's local backend runs does not synthesize, and the error names every such entry
 * by its path.
 */
import { App } from 'aws-cdk-lib';
import { CertRotorStack } from '../../lib/certrotor-stack';
import { ConfigurationError } from '../../lambda/domain/errors';
import type { RawConfig } from '../builders/config';
import { exampleConfiguration } from './support/stack';

function synthesize(configuration: unknown): () => void {
  return () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new CertRotorStack(app, 'CertRotor', { configuration, configurationName: 'certrotor.yaml' });
  };
}

describe('the CertRotor construct and the kinds the deployed service runs', () => {
  it('refuses a local CA issuer and a files destination with their paths, all at once', () => {
    // Prepare
    const configuration = exampleConfiguration() as RawConfig;
    configuration.issuers.push({ name: 'laptop-ca', kind: 'local-ca' });
    configuration.destinations.push({ name: 'laptop-files', kind: 'files', directory: '/tmp/tls' });
    const lastIssuer = configuration.issuers.length - 1;
    const lastDestination = configuration.destinations.length - 1;

    // Act
    const synth = synthesize(configuration);

    // Assess
    expect(synth).toThrow(ConfigurationError);
    expect(synth).toThrow(
      `issuers[${lastIssuer}].kind: "local-ca" cannot run in the deployed service (aws backend); use acm-pca`,
    );
    expect(synth).toThrow(
      `destinations[${lastDestination}].kind: "files" cannot run in the deployed service (aws backend); use agent (hosts pull their certificates) or ssm`,
    );
  });

  it('synthesizes the deployed example, whose every kind the deployed service runs', () => {
    // Act
    const synth = synthesize(exampleConfiguration());

    // Assess
    expect(synth).not.toThrow();
  });
});

/**
 * The CertRotor construct validates its configuration for the aws backend: a configuration naming a
 * kind only the CLI's local backend runs does not synthesize, and the error names every such entry
 * by its path.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { stringify } from 'yaml';
import { CertRotorStack } from '../../lib/certrotor-stack';
import { ConfigurationError } from '../../lambda/domain/errors';
import type { RawConfig } from '../builders/config';
import { useTempDirs } from '../support/temp-dir';
import { exampleConfiguration } from './support/stack';

const ROOT = join(__dirname, '..', '..');
const temp = useTempDirs();

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

describe('npx cdk synth with a configuration for the local backend', () => {
  beforeAll(() => {
    const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs'), '--quiet'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (build.status !== 0) throw new Error(`building the CDK app failed: ${build.stderr}`);
  }, 180_000);

  it('prints every kind the deployed service cannot run, one line each with its path, and exits 1', async () => {
    // Prepare
    const dir = await temp.make('cdk-app-kinds');
    const file = join(dir, 'certrotor.yaml');
    const configuration = exampleConfiguration() as RawConfig;
    configuration.issuers.push({ name: 'laptop-ca', kind: 'local-ca' });
    configuration.sources.push({ name: 'pems', kind: 'files', environment: 'staging', paths: ['/a.pem'] });
    writeFileSync(file, stringify(configuration));

    // Act
    const run = spawnSync(process.execPath, [join(ROOT, 'dist', 'app.js')], {
      encoding: 'utf8',
      env: {
        ...process.env,
        CERTROTOR_CONFIG: file,
        CDK_OUTDIR: join(dir, 'cdk.out'),
        CDK_CONTEXT_JSON: '{}',
      },
      timeout: 60_000,
    });

    // Assess
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      `certrotor: ${file}: 2 configuration problems:`,
      `  sources[${configuration.sources.length - 1}].kind: "files" cannot run in the deployed service (aws backend); use an endpoint to probe, or a secrets-manager source`,
      `  issuers[${configuration.issuers.length - 1}].kind: "local-ca" cannot run in the deployed service (aws backend); use acm-pca`,
    ]);
  });
});

/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`. Reads the configuration file named by the context
 * key `certrotor:configFile` (cdk.json) or CERTROTOR_CONFIG, validates it like the CLI does, and
 * creates the stack with cdk-nag's AwsSolutions checks applied. No account lookups: synth needs no credentials.
 */
import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfigText } from '../lambda/adapters/local/config-file';
import { CertRotorStack } from '../lib/certrotor-stack';

const app = new App();
const configFile =
  process.env.CERTROTOR_CONFIG ?? (app.node.tryGetContext('certrotor:configFile') as string | undefined);
if (configFile === undefined) throw new Error('set CERTROTOR_CONFIG or the context key certrotor:configFile');
const configuration = parseConfigText(readFileSync(configFile, 'utf8'), configFile);

new CertRotorStack(
  app,
  (app.node.tryGetContext('certrotor:stackName') as string | undefined) ?? 'CertRotor',
  {
    configuration,
    configurationName: configFile,
  },
);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

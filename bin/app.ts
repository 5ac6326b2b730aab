/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`. Reads the configuration file named by the context
 * key `certrotor:configFile` (cdk.json) or CERTROTOR_CONFIG, validates it like the CLI does, and
 * creates the stack with cdk-nag's AwsSolutions checks applied. No account lookups: synth needs no credentials.
 */
import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfigText } from '../lambda/adapters/local/config-file';
import { CertrotorError, InvalidInputError } from '../lambda/domain/errors';
import { CertRotorStack } from '../lib/certrotor-stack';

const app = new App();
try {
  const configFile =
    process.env.CERTROTOR_CONFIG ?? (app.node.tryGetContext('certrotor:configFile') as string | undefined);
  if (configFile === undefined)
    throw new InvalidInputError('set CERTROTOR_CONFIG or the context key certrotor:configFile');
  let text: string;
  try {
    text = readFileSync(configFile, 'utf8');
  } catch (error) {
    throw new InvalidInputError(
      `${configFile}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const configuration = parseConfigText(text, configFile);
  new CertRotorStack(
    app,
    (app.node.tryGetContext('certrotor:stackName') as string | undefined) ?? 'CertRotor',
    { configuration, configurationName: configFile },
  );
} catch (error) {
  // Bad configuration is the user's input: every problem with its path, no stack trace.
  if (!(error instanceof CertrotorError)) throw error;
  process.stderr.write(`certrotor: ${error.message}\n`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`. Reads the configuration file named by
 * `-c certrotor:configFile=…` or CERTROTOR_CONFIG (both given and different: refused), else the
 * example named by `certrotor:defaultConfigFile` in cdk.json; validates it like the CLI does, and
 * creates the stack with cdk-nag's AwsSolutions checks applied. No account lookups: synth needs no credentials.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfigText } from '../lambda/adapters/local/config-file';
import { CertrotorError, InvalidInputError } from '../lambda/domain/errors';
import { CertRotorStack } from '../lib/certrotor-stack';

const app = new App();
try {
  const configFile = chooseConfigFile(
    app.node.tryGetContext('certrotor:configFile') as string | undefined,
    process.env.CERTROTOR_CONFIG,
    app.node.tryGetContext('certrotor:defaultConfigFile') as string | undefined,
  );
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

/** The explicit context wins over nothing; the environment never silently overrides it. */
function chooseConfigFile(
  context: string | undefined,
  environment: string | undefined,
  fallback: string | undefined,
): string {
  const env = environment === '' ? undefined : environment;
  if (context !== undefined && env !== undefined && resolve(context) !== resolve(env))
    throw new InvalidInputError(
      `two configuration files given: -c certrotor:configFile=${context} and CERTROTOR_CONFIG=${env}; keep one`,
    );
  const chosen = context ?? env ?? fallback;
  if (chosen === undefined)
    throw new InvalidInputError('set CERTROTOR_CONFIG or the context key certrotor:configFile');
  return chosen;
}

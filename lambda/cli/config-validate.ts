/**
 * `certrotor config validate [--config FILE] [--json]`: checks a configuration file and prints `ok`
 * with a short census, or every problem with its path (exit 1).
 */
import type { Command } from 'commander';
import { checkConfigFile, formatLocatedProblem } from '../adapters/local/config-file';
import type { CertrotorConfig } from '../config/configuration';
import { ConfigurationError } from '../domain/errors';
import { configFileFor, withConfigOption } from './config-option';
import type { CliContext } from './context';

interface ValidateOptions {
  readonly config?: string;
  readonly json?: boolean;
}

export function registerConfigCommand(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('Work with the configuration file.');
  withConfigOption(
    config
      .command('validate')
      .description('Check the configuration file: every problem is reported at once, with its path.')
      .option('--json', 'print {"ok", "file", "problems"} as JSON'),
  ).action(async (options: ValidateOptions) => {
    await validateCommand(ctx, options);
  });
}

async function validateCommand(ctx: CliContext, options: ValidateOptions): Promise<void> {
  const file = configFileFor(ctx, options.config);
  const check = await checkConfigFile(file);
  if (options.json) {
    const problems = check.problems.map((p) => p.problem);
    const located = check.ok ? {} : { locations: check.problems };
    ctx.out(JSON.stringify({ ok: check.ok, file, problems, ...located }, null, 2));
    if (!check.ok) ctx.exitCode = 1;
    return;
  }
  if (!check.ok)
    throw new ConfigurationError(
      file,
      check.problems.map((p) => formatLocatedProblem(file, p)),
    );
  ctx.out(`ok: ${file} (${census(check.config)})`);
}

function census(config: CertrotorConfig): string {
  const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  return [
    count(config.environments.length, 'environment'),
    count(config.certificates.length, 'managed certificate'),
    count(config.endpoints.length, 'endpoint'),
    count(config.hosts.length, 'host'),
    count(config.upstreams.length, 'upstream'),
    count(config.notifications.channels.length, 'channel'),
  ].join(', ');
}

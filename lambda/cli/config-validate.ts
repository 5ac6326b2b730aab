/**
 * `certrotor config validate [--config FILE] [--backend local|aws] [--json]`: checks a configuration
 * file for the backend that will run it and prints `ok` with a short census, or every problem with
 * its path (exit 1): structure, references, and every issuer, destination or source kind that backend
 * cannot run (lambda/config/backends.ts).
 */
import type { Command } from 'commander';
import { checkConfigSource, formatLocatedProblem, readConfigSource } from '../adapters/local/config-file';
import { BACKENDS, type Backend, type CertrotorConfig } from '../config/configuration';
import { ConfigurationError, InvalidInputError } from '../domain/errors';
import { configFileFor, withConfigOption } from './config-option';
import type { CliContext } from './context';
import { printJson } from './json-output';

interface ValidateOptions {
  readonly config?: string;
  readonly json?: boolean;
  readonly backend?: string;
}

export function registerConfigCommand(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('Work with the configuration file.');
  withConfigOption(
    config
      .command('validate')
      .description('Check the configuration file: every problem is reported at once, with its path.')
      .option(
        '--backend <local|aws>',
        "the backend that will run it: local (the CLI) or aws (the deployed service); default: the file's `backend`, then local",
      )
      .option('--json', 'print {"schema", "ok", "file", "backend", "problems"} as JSON'),
  ).action(async (options: ValidateOptions) => {
    await validateCommand(ctx, options);
  });
}

async function validateCommand(ctx: CliContext, options: ValidateOptions): Promise<void> {
  const file = configFileFor(ctx, options.config);
  const source = await readConfigSource(file);
  const backend = backendOption(options.backend ?? declaredBackend(source.raw));
  const check = checkConfigSource(source, { backend });
  if (options.json) {
    const problems = check.problems.map((p) => p.problem);
    const located = check.ok ? {} : { locations: check.problems };
    printJson(ctx, 'config-validate', { ok: check.ok, file, backend, problems, ...located });
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

/** The file's own `backend` setting when it is a valid one (its schema default is local). */
function declaredBackend(raw: unknown): string | undefined {
  const value = typeof raw === 'object' && raw !== null ? (raw as { backend?: unknown }).backend : undefined;
  return typeof value === 'string' && (BACKENDS as readonly string[]).includes(value) ? value : undefined;
}

function backendOption(value: string | undefined): Backend {
  const backend = value ?? 'local';
  if (!(BACKENDS as readonly string[]).includes(backend))
    throw new InvalidInputError(`--backend ${backend}: must be ${BACKENDS.join(' or ')}`);
  return backend as Backend;
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

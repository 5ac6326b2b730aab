/**
 * Where the CLI finds its configuration: `--config FILE`, else `$CERTROTOR_CONFIG`, else
 * `./certrotor.yaml`. Every command that reads configuration uses these, so they all agree.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfigFile } from '../adapters/local/config-file';
import type { CertrotorConfig } from '../config/configuration';
import { InvalidInputError } from '../domain/errors';
import type { CliContext } from './context';

export const DEFAULT_CONFIG_FILE = 'certrotor.yaml';
export const CONFIG_ENV = 'CERTROTOR_CONFIG';

/** Adds the shared `--config <file>` option to `command`. */
export function withConfigOption(command: Command): Command {
  return command.option(
    '--config <file>',
    `configuration file (YAML or JSON; default: $${CONFIG_ENV}, then ./${DEFAULT_CONFIG_FILE})`,
  );
}

/**
 * The configuration file to use, absolute.
 * @throws InvalidInputError when none was given and ./certrotor.yaml does not exist
 */
export function configFileFor(ctx: CliContext, flag?: string): string {
  const chosen = flag ?? ctx.env[CONFIG_ENV];
  if (chosen !== undefined && chosen !== '') return resolve(ctx.cwd, chosen);
  const fallback = resolve(ctx.cwd, DEFAULT_CONFIG_FILE);
  if (!existsSync(fallback)) {
    throw new InvalidInputError(
      `no configuration file: pass --config FILE, set ${CONFIG_ENV}, or create ./${DEFAULT_CONFIG_FILE} (examples: config/certrotor.local.example.yaml for the CLI on its own, config/certrotor.example.yaml for a deployment)`,
    );
  }
  return fallback;
}

/** Loads and validates the configuration the CLI should use; errors name the file. */
export async function loadCliConfig(
  ctx: CliContext,
  flag?: string,
): Promise<{ readonly config: CertrotorConfig; readonly file: string }> {
  const file = configFileFor(ctx, flag);
  return { config: await loadConfigFile(file), file };
}

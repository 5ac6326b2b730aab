/**
 * Rehearsal time: `--at <time>` (or CERTROTOR_AT) runs `scan`, `plan`, `run`, `status` and
 * `upstream watch/status` as of another time, so a team can rehearse the next 60 days or a vendor
 * cutover. Never the default, and never against the real state: a rehearsal keeps its own state in
 * `<stateDirectory>/rehearsal` (a copy of the real state made on first use, kept across rehearsals so
 * a sequence of times behaves like the days passing; delete it to start over). Destinations are
 * written as in a real run unless the command is given --dry-run. The clock starts at the given time
 * and moves on with real time (timeouts and waits stay real).
 */
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CertrotorConfig } from '../config/configuration';
import { parseDuration } from '../domain/duration';
import { InvalidInputError } from '../domain/errors';
import type { CliContext } from './context';

export const REHEARSAL_ENV = 'CERTROTOR_AT';
export const REHEARSAL_DIRECTORY = 'rehearsal';

export interface RehearsalOptions {
  readonly at?: string;
}

const rehearsals = new WeakMap<CliContext, Date>();

/** Adds `--at <time>` to a command. */
export function withRehearsalOption<T extends Command>(command: T): T {
  command.option(
    '--at <time>',
    `rehearsal: run as of this time (ISO 8601, or a duration from now such as 30d or -2d) against a separate rehearsal state (<stateDirectory>/${REHEARSAL_DIRECTORY}); also ${REHEARSAL_ENV}`,
  );
  return command;
}

/**
 * Parses `--at` (or CERTROTOR_AT) and, when given, moves the command's clock there and marks the
 * command a rehearsal (see `rehearsalConfig`). Says so on stderr: a rehearsal is never silent.
 * @throws InvalidInputError naming the flag when the time does not parse
 */
export function applyRehearsal(ctx: CliContext, options: RehearsalOptions): Date | undefined {
  const flag = options.at !== undefined ? '--at' : REHEARSAL_ENV;
  const value = options.at ?? ctx.env[REHEARSAL_ENV];
  if (value === undefined || value === '') return undefined;
  const realNow = ctx.clock();
  const at = parseRehearsalTime(value, realNow, flag);
  const started = Date.now();
  // The context may expose the clock as a getter (see output.ts): redefine it, do not assign.
  Object.defineProperty(ctx, 'clock', {
    value: () => new Date(at.getTime() + (Date.now() - started)),
    enumerable: true,
    configurable: true,
    writable: true,
  });
  rehearsals.set(ctx, at);
  ctx.err(
    `certrotor: rehearsal as of ${at.toISOString()} (${flag}); state in <stateDirectory>/${REHEARSAL_DIRECTORY}`,
  );
  return at;
}

/** The time a rehearsal runs at, when this command is one. */
export function rehearsalTime(ctx: CliContext): Date | undefined {
  return rehearsals.get(ctx);
}

/** `2027-01-20T12:00:00Z`, `2027-01-20`, or a signed duration from now (`30d`, `+12h`, `-2d`). */
export function parseRehearsalTime(value: string, now: Date, flag = '--at'): Date {
  const text = value.trim();
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const parsed = Date.parse(text);
    if (Number.isNaN(parsed))
      throw new InvalidInputError(`${flag} ${value}: not a time (write e.g. 2027-01-20T12:00:00Z or 30d)`);
    return new Date(parsed);
  }
  const sign = text.startsWith('-') ? -1 : 1;
  const ms = parseDuration(text.replace(/^[+-]/, ''), flag);
  return new Date(now.getTime() + sign * ms);
}

/**
 * The configuration a rehearsal runs with: the state directory is `<stateDirectory>/rehearsal`,
 * seeded once with a copy of the real state. Anything else is unchanged; outside a rehearsal the
 * configuration is returned as is.
 */
export function rehearsalConfig(ctx: CliContext, config: CertrotorConfig): CertrotorConfig {
  if (!rehearsals.has(ctx)) return config;
  const real = config.local.stateDirectory;
  const rehearsal = join(real, REHEARSAL_DIRECTORY);
  if (!existsSync(rehearsal)) {
    mkdirSync(rehearsal, { recursive: true });
    for (const entry of existsSync(real) ? readdirSync(real) : []) {
      if (entry === REHEARSAL_DIRECTORY) continue;
      cpSync(join(real, entry), join(rehearsal, entry), {
        recursive: true,
        filter: (source) => !source.endsWith('.lock'),
      });
    }
  }
  return { ...config, local: { ...config.local, stateDirectory: rehearsal } };
}

/**
 * `--fail-on warning|critical`: exit codes a cron job or CI step can gate on, Nagios-style. With
 * `--fail-on warning`, a warning exits 1 and a critical finding 2; with `--fail-on critical`, only a
 * critical finding does (2). A command that could not check something exits 1 as always; the larger
 * code wins.
 */
import type { Command } from 'commander';
import { InvalidInputError } from '../domain/errors';
import { type Severity, severityRank } from '../domain/findings';
import type { CliContext } from './context';

export type FailOn = 'warning' | 'critical';

export interface GateOptions {
  readonly failOn?: string;
}

export function withFailOnOption<T extends Command>(command: T): T {
  command.option(
    '--fail-on <severity>',
    'exit 1 on a warning, 2 on a critical finding (warning), or 2 on a critical one only (critical)',
  );
  return command;
}

/** @throws InvalidInputError when the value is neither `warning` nor `critical` */
export function parseFailOn(value: string | undefined): FailOn | undefined {
  if (value === undefined) return undefined;
  if (value === 'warning' || value === 'critical') return value;
  throw new InvalidInputError(`--fail-on ${value}: must be warning or critical`);
}

/** The exit code `failOn` asks for, given the severities found. */
export function gateExitCode(failOn: FailOn | undefined, severities: readonly string[]): number {
  if (!failOn) return 0;
  const ranks = severities.filter(isSeverity).map(severityRank);
  const worst = ranks.length > 0 ? Math.max(...ranks) : -1;
  if (worst >= severityRank('critical')) return 2;
  if (failOn === 'warning' && worst >= severityRank('warning')) return 1;
  return 0;
}

/** Raises the command's exit code to what `--fail-on` asks for (never lowers it). */
export function gate(ctx: CliContext, options: GateOptions, severities: readonly string[]): void {
  const code = gateExitCode(parseFailOn(options.failOn), severities);
  if (code > ctx.exitCode) ctx.exitCode = code;
}

function isSeverity(value: string): value is Severity {
  return value === 'info' || value === 'warning' || value === 'critical';
}

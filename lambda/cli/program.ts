import { Command, CommanderError } from 'commander';
import { describeError } from '../domain/errors';
import { scrubPrivateKeys } from '../domain/secret';
import type { CliContext } from './context';
import { registerCommands } from './commands';

/**
 * Runs the certrotor CLI over `argv` (without the node and script entries) and returns the exit code.
 * Every failure becomes one line on stderr naming the input and what is wrong; never a stack trace.
 */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const program = new Command('certrotor')
    .description('Certificate inventory, upstream rotation tracking and make-before-break rotation.')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.out(s.replace(/\n$/, '')),
      writeErr: (s) => ctx.err(s.replace(/\n$/, '')),
    })
    .showSuggestionAfterError(true);
  registerCommands(program, ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" in commander's exit override; they already printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    ctx.err(`certrotor: ${scrubPrivateKeys(describeErrorBlock(error))}`);
    return ctx.exitCode > 0 ? ctx.exitCode : 1;
  }
}

/** Configuration errors carry several lines by design (every problem at once); others are one line. */
function describeErrorBlock(error: unknown): string {
  if (error instanceof Error && error.name === 'ConfigurationError') return error.message;
  return describeError(error);
}

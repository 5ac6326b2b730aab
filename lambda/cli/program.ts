import { Command, CommanderError } from 'commander';
import { describeError } from '../domain/errors';
import { scrubPrivateKeys } from '../domain/secret';
import type { CliContext } from './context';
import { registerCommands } from './commands';
import { registerCompletionCommand } from './completion';
import { configFileFor } from './config-option';
import { applyHelpStyle, commandPath } from './help';
import { type OutputSettings, styledContext, wantsColor } from './output';
import { versionText } from './version';

/**
 * Runs the certrotor CLI over `argv` (without the node and script entries) and returns the exit code.
 * Every failure becomes one line on stderr naming the input and what is wrong; never a stack trace.
 */
export async function runCli(argv: readonly string[], base: CliContext): Promise<number> {
  // Until the global flags are parsed: colour as the terminal and NO_COLOR say, normal verbosity.
  const settings: OutputSettings = {
    color: wantsColor(base.env, base.stdoutIsTTY, argv.includes('--no-color')),
    errColor: wantsColor(base.env, base.stderrIsTTY, argv.includes('--no-color')),
    verbosity: 'normal',
    json: false,
  };
  const ctx = styledContext(base, settings);
  const program = new Command('certrotor')
    .description('Certificate inventory, upstream rotation tracking and make-before-break rotation.')
    .version(versionText(), '-V, --version', 'print the version (and the commit it was built from)')
    .option('-q, --quiet', 'print only problems (stderr) and --json output')
    .option('--verbose', 'also say what certrotor is doing (which configuration), on stderr')
    .option('--no-color', 'no colour or symbols, even on a terminal (also: NO_COLOR=1)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => base.out(s.replace(/\n$/, '')),
      writeErr: (s) => base.err(s.replace(/\n$/, '')),
      outputError: (s, write) => write(settings.errColor ? `\u001b[31m${s}\u001b[0m` : s),
    })
    .showSuggestionAfterError(true)
    // Every command's help lists --quiet, --verbose and --no-color too (inherited by subcommands).
    .configureHelp({ showGlobalOptions: true })
    .helpCommand('help [command]', 'Show the help of a command.')
    .hook('preAction', (_program, action) => {
      const global = program.opts<{ quiet?: boolean; verbose?: boolean; color?: boolean }>();
      const local = action.opts<{ json?: boolean }>();
      if (global.quiet && global.verbose) {
        base.err('certrotor: --quiet and --verbose: choose one');
        throw new CommanderError(2, 'certrotor.conflictingOptions', '--quiet and --verbose');
      }
      settings.verbosity = global.quiet ? 'quiet' : global.verbose ? 'verbose' : 'normal';
      settings.json = local.json === true;
      if (global.color === false) settings.color = settings.errColor = false;
      ctx.verbose?.(`certrotor ${versionText()}: ${commandPath(action)} (cwd ${base.cwd})`);
      if (action.options.some((o) => o.long === '--config')) {
        const flags = action.opts<{ config?: string; backend?: string }>();
        try {
          ctx.verbose?.(`configuration: ${configFileFor(base, flags.config)}`);
        } catch {
          // No configuration file: the command itself says so.
        }
        if (flags.backend) ctx.verbose?.(`backend: ${flags.backend} (--backend)`);
      }
    });
  registerCommands(program, ctx);
  registerCompletionCommand(program, ctx);
  applyHelpStyle(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" in commander's exit override; they already printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    ctx.err(`certrotor: ${scrubPrivateKeys(describeErrorBlock(error))}`);
    if (settings.verbosity === 'verbose') {
      for (let cause = causeOf(error); cause !== undefined; cause = causeOf(cause))
        ctx.verbose?.(`caused by: ${scrubPrivateKeys(describeError(cause))}`);
    }
    return ctx.exitCode > 0 ? ctx.exitCode : 1;
  }
}

function causeOf(error: unknown): unknown {
  return error instanceof Error ? error.cause : undefined;
}

/** Configuration errors carry several lines by design (every problem at once); others are one line. */
function describeErrorBlock(error: unknown): string {
  if (error instanceof Error && error.name === 'ConfigurationError') return error.message;
  return describeError(error);
}

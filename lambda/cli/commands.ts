import type { Command } from 'commander';
import type { CliContext } from './context';

/** Each command lives in its own module and registers itself here. */
export function registerCommands(_program: Command, _ctx: CliContext): void {
  // Commands are added by their modules as they land.
}

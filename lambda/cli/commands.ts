import type { Command } from 'commander';
import type { CliContext } from './context';
import { registerInspectCommand } from './inspect';
import { registerConfigCommand } from './config-validate';
import { registerCycleCommands } from './cycle-commands';
import { registerDemoCommand } from './demo/demo';
import { registerUpstreamCommand } from './upstream';
import { registerAgentCommand } from './agent';
import { registerHostsCommand } from './hosts';
import { registerInitCommand } from './init';
import { registerReportCommand } from './report';

/** Each command lives in its own module and registers itself here. */
export function registerCommands(_program: Command, _ctx: CliContext): void {
  // Commands are added by their modules as they land.
  registerInitCommand(_program, _ctx);
  registerInspectCommand(_program, _ctx);
  registerConfigCommand(_program, _ctx);
  registerCycleCommands(_program, _ctx);
  registerDemoCommand(_program, _ctx);
  registerUpstreamCommand(_program, _ctx);
  registerAgentCommand(_program, _ctx);
  registerHostsCommand(_program, _ctx);
  registerReportCommand(_program, _ctx);
}

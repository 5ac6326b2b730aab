import type { Clock } from '../domain/ports';
import type { OutputSettings } from './output';

/**
 * What every CLI command gets from the composition root: output streams and the clock. Commands
 * never write to `process.stdout` or read `Date.now()` directly, so tests can drive them in-process.
 */
export interface CliContext {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly clock: Clock;
  /** Commands set this to a non-zero value when anything failed; the CLI exits with it. */
  exitCode: number;
  /** Whether stdout / stderr are terminals (colour, interactive prompts); absent means no. */
  readonly stdoutIsTTY?: boolean;
  readonly stderrIsTTY?: boolean;
  /** Terminal width, when stdout is a terminal. */
  readonly columns?: number;
  /** Standard input, for interactive commands (`init` on a terminal). */
  readonly input?: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  /** Output for a program (a script, JSON): written as is, never painted nor silenced by --quiet. */
  readonly data?: (text: string) => void;
  /** Writes a question for the user without a newline (interactive prompts; stderr). */
  readonly prompt?: (text: string) => void;
  /** A line shown only with --verbose (stderr); set by the CLI's output module. */
  readonly verbose?: (text: string) => void;
  /**
   * Calls `handler` on the first SIGINT/SIGTERM (a second one exits at once, with 130); returns a
   * function that stops listening. Absent in tests that drive commands in-process.
   */
  readonly onInterrupt?: (handler: (signal: string) => void) => () => void;
  /** The output settings in force (colour, verbosity), once the global flags are parsed. */
  readonly output?: Readonly<OutputSettings>;
}

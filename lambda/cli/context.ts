import type { Clock } from '../domain/ports';

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
}

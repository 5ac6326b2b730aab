/**
 * Errors are values with a cause; their constructors never log. Every message names the input it is
 * about, so the CLI can print `message` alone on one line.
 */
export class CertrotorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The user gave us something we cannot use: a file, a flag, a configuration value. */
export class InvalidInputError extends CertrotorError {}

/** Configuration failed validation; `problems` lists every one, each prefixed by its path. */
export class ConfigurationError extends CertrotorError {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${source}: ${problems.length} configuration problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`,
    );
  }
}

/** A remote operation failed; names the resource and the operation. */
export class OperationError extends CertrotorError {
  constructor(
    readonly operation: string,
    readonly resource: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} ${resource}: ${detail}`, options);
  }
}

/** A rotation refused to start or continue for a stated reason (lock held, stale pending version, …). */
export class RotationRefusedError extends CertrotorError {}

/** Human readable one-line rendering of any thrown value, never with a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}

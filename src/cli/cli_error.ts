/** An error the CLI reports as one line (the stack only under --verbose), exit code 1. */
export class CliError extends Error {
  /** The process exit code: 1 (a failure), 2 for a UsageError. */
  readonly exitCode: number = 1;
  constructor(message: string, readonly cause?: unknown, readonly hint?: string) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * A command line that cannot work (a bad flag value, a bad combination of flags, a name the
 * model does not have): reported as commander reports its own usage errors, exit code 2.
 */
export class UsageError extends CliError {
  override readonly exitCode: number = 2;
  constructor(message: string, hint?: string) {
    super(message, undefined, hint);
    this.name = 'UsageError';
  }
}

/** An error the CLI reports as one line (the stack only under --verbose), exit code 1. */
export class CliError extends Error {
  constructor(message: string, readonly cause?: unknown, readonly hint?: string) {
    super(message);
    this.name = 'CliError';
  }
}

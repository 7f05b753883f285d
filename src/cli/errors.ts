// How a command fails: the text Docker prints on stderr and the exit code it returns.

/**
 * An error with its own exit code (docker/cli's StatusError): flag errors exit 125, everything else
 * 1 unless a command says otherwise.
 */
export class StatusError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

/** The exit code Docker's main() derives from an error. */
export function exitCodeOf(err: unknown): number {
  return err instanceof StatusError ? err.exitCode : 1;
}

/** The text Docker's main() prints for an error (nothing for an empty message). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

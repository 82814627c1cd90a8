/**
 * How a command ends early: an error that carries the process exit code and the message
 * to print. Thrown by CLI commands, the CLI-only tools and the serving runtime alike;
 * only `src/main.ts` turns it into output and an exit code.
 * @module
 */

/** Exit code for usage and configuration errors. */
export const EXIT_USAGE = 2;

/** Thrown by CLI helpers to end the process with a code after printing a message. */
export class ExitError extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
    this.name = "ExitError";
  }
}

/**
 * Usage errors that name what was wrong: every command reports an unknown option, a
 * stray argument or an unknown subcommand the same way, followed by its usage (exit 2).
 */
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";

/** `unknown option "--x"` for a dash argument, else `unexpected argument "x"`. */
export function describeArgument(arg: string): string {
  return arg.startsWith("-") ? `unknown option "${arg}"` : `unexpected argument "${arg}"`;
}

/** An ExitError(2): `citadel <command>: <problem>`, a blank line, then the usage. */
export function usageError(command: string, problem: string, usage: string): ExitError {
  return new ExitError(EXIT_USAGE, `citadel ${command}: ${problem}\n\n${usage}`);
}

/** A usage error naming one wrong argument. */
export function badArgument(command: string, arg: string, usage: string): ExitError {
  return usageError(command, describeArgument(arg), usage);
}

/**
 * The problem a `node:util` parseArgs error describes, rephrased to name the argument;
 * undefined for any other error.
 */
export function parseArgsProblem(error: unknown): string | undefined {
  if (!(error instanceof TypeError) || !("code" in error)) return undefined;
  const code = String(error.code);
  if (!code.startsWith("ERR_PARSE_ARGS")) return undefined;
  const named = /'([^']+)'/.exec(error.message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && named) return `unknown option "${named}"`;
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" && named) {
    return `unexpected argument "${named}"`;
  }
  // Option values ("Option '--out <value>' argument missing") already name the option.
  return error.message.charAt(0).toLowerCase() + error.message.slice(1);
}

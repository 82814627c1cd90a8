/**
 * The CLI's confirmation before a change: `--yes`, a y/N question on a terminal, or a refusal
 * elsewhere.
 */
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";

/** Options of {@linkcode confirm}. */
export interface ConfirmOptions {
  /** `--yes` was given. */
  yes: boolean;
  /** What to suggest besides --yes when refusing, e.g. "--dry-run shows the plan". */
  hint?: string;
  interactive?: boolean;
  ask?: (question: string) => string | null;
}

/**
 * Asks before a change: true with --yes, a y/N question on a terminal, and on anything else
 * (scripts, CI) refuses with exit code 2 so nothing changes without an explicit --yes.
 */
export function confirm(question: string, options: ConfirmOptions): boolean {
  if (options.yes) return true;
  const interactive = options.interactive ?? (Deno.stdin.isTerminal() && Deno.stdout.isTerminal());
  if (!interactive) {
    const hint = options.hint ? `; ${options.hint}` : "";
    throw new ExitError(
      EXIT_USAGE,
      `Refusing to continue without confirmation: pass --yes to run non-interactively${hint}`,
    );
  }
  const answer = (options.ask ?? prompt)(`${question} [y/N]`);
  return /^y(es)?$/i.test(answer?.trim() ?? "");
}

/**
 * The `citadel check` command: runs the deployment audit, prints its report and chooses the
 * exit code from the fail level.
 */
import { parseArgs } from "node:util";
import { buildReport, formatReport } from "../tools/check/report.ts";
import type { CheckReport } from "../lib/check_report_schema.ts";
import { runChecks } from "../tools/check/registry.ts";
import type { Severity } from "../tools/check/types.ts";
import { VERSION } from "../version.ts";
import { CheckCannotRun, gatherContext, type GatherOptions } from "../tools/check/context.ts";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";
import { badArgument, usageError } from "./usage_error.ts";

/** Usage of `citadel check`, printed by `--help` and after a usage error. */
export const USAGE =
  `usage: citadel check [--json] [--fail-level critical|high|medium|low] [--url URL]

Audits the configuration (environment and ./.env), file permissions, the database and,
with --url, a running deployment. Exit 0 when no finding is at or above the fail level
(default high), 1 otherwise, 2 when the check cannot run.`;

const FAIL_LEVELS: readonly Severity[] = ["critical", "high", "medium", "low"];

/** Options of {@linkcode runCheck}: what to check, and the level that fails it. */
export interface RunCheckOptions extends GatherOptions {
  failLevel?: Severity;
}

/** A finished audit and the exit code it means. */
export interface CheckOutcome {
  report: CheckReport;
  exitCode: 0 | 1;
}

/**
 * Runs the whole audit in this process: gathers the context, runs every check and
 * builds the report. Throws CheckCannotRun when the audit cannot run (exit code 2).
 */
export async function runCheck(options: RunCheckOptions): Promise<CheckOutcome> {
  const now = options.now ?? Date.now();
  const { context, close } = await gatherContext({ ...options, now });
  try {
    const findings = await runChecks(context);
    const report = buildReport(context, findings, {
      failLevel: options.failLevel ?? "high",
      version: VERSION,
      now,
    });
    return { report, exitCode: report.passed ? 0 : 1 };
  } finally {
    await close();
  }
}

function useColour(): boolean {
  return Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
}

/** `citadel check`: the deployment security audit. */
export async function check(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      "fail-level": { type: "string", default: "high" },
      url: { type: "string" },
    },
  });
  if (positionals.length > 0) throw badArgument("check", positionals[0], USAGE);
  const failLevel = values["fail-level"] as Severity;
  if (!FAIL_LEVELS.includes(failLevel)) {
    throw usageError("check", "--fail-level must be critical, high, medium or low", USAGE);
  }
  let outcome: CheckOutcome;
  try {
    outcome = await runCheck({
      env: Deno.env.toObject(),
      cwd: Deno.cwd(),
      url: values.url,
      failLevel,
    });
  } catch (error) {
    if (error instanceof CheckCannotRun) {
      throw new ExitError(EXIT_USAGE, `citadel check: cannot run: ${error.message}`);
    }
    throw error;
  }
  console.log(
    values.json
      ? JSON.stringify(outcome.report, null, 2)
      : formatReport(outcome.report, { colour: useColour() }),
  );
  return outcome.exitCode;
}

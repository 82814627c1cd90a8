/**
 * The `citadel check` report: the `--json` document and the text for people.
 */
import type { CheckReport } from "../../lib/check_report_schema.ts";
import { atOrAbove, type CheckContext, type Finding, SEVERITIES, type Severity } from "./types.ts";

/** Options of {@linkcode buildReport}. */
export interface ReportOptions {
  failLevel: Severity;
  version: string;
  now: number;
}

function bySeverity(a: Finding, b: Finding): number {
  return SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
    a.id.localeCompare(b.id);
}

/** The `--json` document: findings worst first, counts, and whether the fail level passed. */
export function buildReport(
  context: CheckContext,
  findings: readonly Finding[],
  options: ReportOptions,
): CheckReport {
  const counts = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  const live = context.live;
  return {
    schema: "citadel-check/1",
    citadel_version: options.version,
    checked_at: new Date(options.now).toISOString(),
    app_env: context.config.appEnv,
    fail_level: options.failLevel,
    passed: !findings.some((f) => atOrAbove(f.severity, options.failLevel)),
    counts,
    findings: [...findings].sort(bySeverity),
    observatory: live
      ? {
        url: live.response.url,
        score: live.observatory.score,
        grade: live.observatory.grade,
        tests: live.observatory.tests.map(({ name, result, modifier, pass }) => ({
          name,
          result,
          modifier,
          pass,
        })),
      }
      : null,
  };
}

const COLOURS: Record<Severity, string> = {
  critical: "\x1b[1;31m",
  high: "\x1b[31m",
  medium: "\x1b[33m",
  low: "\x1b[36m",
  info: "\x1b[2m",
};
const RESET = "\x1b[0m";

/** The report for people: grouped by severity, worst first, ending with the counts. */
export function formatReport(report: CheckReport, options: { colour: boolean }): string {
  const paint = (severity: Severity, text: string) =>
    options.colour ? `${COLOURS[severity]}${text}${RESET}` : text;
  const lines: string[] = [`citadel check (APP_ENV=${report.app_env})`];
  if (report.observatory) {
    lines.push(
      `live: ${report.observatory.url} scores ${report.observatory.score} (${report.observatory.grade})`,
    );
  }
  for (const severity of SEVERITIES) {
    const group = report.findings.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    lines.push("", paint(severity, severity.toUpperCase()));
    for (const f of group) {
      lines.push(`  ${paint(severity, f.id)}  ${f.title}`);
      lines.push(`           found: ${f.found}`);
      lines.push(`           fix:   ${f.fix}`);
    }
  }
  if (report.findings.length === 0) lines.push("", "No findings.");
  const counts = SEVERITIES.map((s) => `${report.counts[s]} ${s}`).join(", ");
  const verdict = report.passed ? "passed" : "FAILED";
  lines.push("", `${counts}: ${verdict} (fail level ${report.fail_level})`);
  return lines.join("\n");
}

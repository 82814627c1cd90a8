/**
 * The registry of `citadel check`: every check in report order, the two checks of its own
 * (CIT-090, CIT-099), and running them on a context.
 */
import { DATABASE_CHECKS } from "./checks_database.ts";
import { DATABASE_STATE_CHECKS } from "./checks_database_state.ts";
import { EMAIL_CONFIG_CHECKS, EMAIL_OUTBOX_CHECKS } from "./checks_email.ts";
import { FILE_CHECKS } from "./checks_files.ts";
import { HTTP_CHECKS } from "./checks_http.ts";
import { JWT_CHECKS } from "./checks_jwt.ts";
import { KEY_CHECKS } from "./checks_keys.ts";
import { LIVE_CHECKS } from "./checks_live.ts";
import { PASSKEY_CONFIG_CHECKS, PASSKEY_DATABASE_CHECKS } from "./checks_passkeys.ts";
import { PRODUCTION_CHECKS } from "./checks_production.ts";
import { SECRET_CHECKS } from "./checks_secrets.ts";
import { SIGNING_KEY_CHECKS } from "./checks_signing_keys.ts";
import { SUPER_ADMIN_CHECKS } from "./checks_super_admin.ts";
import {
  type CheckContext,
  type CheckDefinition,
  defineCheck,
  type Detail,
  type Finding,
} from "./types.ts";

/** Reasons the server refuses the configuration that no other check explains. */
export const CONFIG_CHECK = defineCheck({
  id: "CIT-090",
  severity: "high",
  group: "config",
  title: "The server refuses this configuration",
  fix: "Correct the variable named in the finding",
  run: (context): Detail[] =>
    context.configProblems.map((p) => ({
      found: `${p.variable}: ${p.problem}`,
      fix: p.fix,
      setting: p.variable,
    })),
});

/** A check that threw: the deployment is not fully audited. */
export const CHECK_FAILED = defineCheck({
  id: "CIT-099",
  severity: "high",
  group: "config",
  title: "A check could not run",
  fix: "Fix the cause named in the finding (often a database from an older or foreign schema)",
  run: () => [],
});

/**
 * Every check, in report order. Ids are stable: never renumber or reuse one. Retired:
 * CIT-001 and CIT-042, copies of production rules that CIT-091 now reports from the rules.
 */
export const CHECKS: readonly CheckDefinition[] = [
  ...JWT_CHECKS,
  ...SUPER_ADMIN_CHECKS,
  ...DATABASE_CHECKS,
  ...DATABASE_STATE_CHECKS,
  ...EMAIL_OUTBOX_CHECKS,
  ...PASSKEY_DATABASE_CHECKS,
  ...HTTP_CHECKS,
  ...SECRET_CHECKS,
  ...SIGNING_KEY_CHECKS,
  ...FILE_CHECKS,
  ...KEY_CHECKS,
  ...LIVE_CHECKS,
  CONFIG_CHECK,
  ...PRODUCTION_CHECKS,
  ...EMAIL_CONFIG_CHECKS,
  ...PASSKEY_CONFIG_CHECKS,
  CHECK_FAILED,
];

function toFinding(check: CheckDefinition, detail: Detail): Finding {
  const finding: Finding = {
    id: check.id,
    severity: detail.severity ?? check.severity,
    title: check.title,
    found: detail.found,
    fix: detail.fix ?? check.fix,
  };
  if (detail.setting) finding.setting = detail.setting;
  return finding;
}

/**
 * Runs every check on one context. A check that throws becomes a CIT-099 finding
 * rather than ending the audit; configuration refusals (CIT-090) are reported only
 * for variables no other finding already covers.
 */
export async function runChecks(
  context: CheckContext,
  checks: readonly CheckDefinition[] = CHECKS,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const covered = new Set<string>();
  for (const check of checks) {
    if (check === CONFIG_CHECK) continue;
    let details: Detail[];
    try {
      details = await check.run(context);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      findings.push(
        toFinding(CHECK_FAILED, { found: `${check.id} (${check.title}) failed: ${reason}` }),
      );
      continue;
    }
    for (const detail of details) {
      findings.push(toFinding(check, detail));
      if (detail.setting) covered.add(detail.setting);
      for (const variable of check.covers ?? []) covered.add(variable);
    }
  }
  if (checks.includes(CONFIG_CHECK)) {
    for (const detail of await CONFIG_CHECK.run(context)) {
      if (!covered.has(detail.setting!)) findings.push(toFinding(CONFIG_CHECK, detail));
    }
  }
  return findings;
}

/**
 * CIT-015 of `citadel check` (src/tools/check/checks_super_admin.ts): administrators may sign
 * in without a second factor when REQUIRE_MFA_FOR_ADMINS is false in production. The
 * hardened deployment sets it true; each case changes only that.
 */
import assert from "node:assert/strict";
import { hardenedDeployment } from "../../support/check_deployment.ts";
import { type Case, tableTest } from "../../support/check_table.ts";

const CASES: Case[] = [
  {
    defect: "REQUIRE_MFA_FOR_ADMINS=false in production",
    expected: ["CIT-015 high"],
    exitCode: 1,
    apply(d) {
      d.env.REQUIRE_MFA_FOR_ADMINS = "false";
    },
  },
  {
    defect: "REQUIRE_MFA_FOR_ADMINS unset in production (default false)",
    expected: ["CIT-015 high"],
    exitCode: 1,
    apply(d) {
      delete d.env.REQUIRE_MFA_FOR_ADMINS;
    },
  },
  {
    defect: "REQUIRE_MFA_FOR_ADMINS=true set in the .env file instead of the environment",
    expected: [],
    exitCode: 0,
    async apply(d) {
      delete d.env.REQUIRE_MFA_FOR_ADMINS;
      await Deno.writeTextFile(`${d.dir}/.env`, "REQUIRE_MFA_FOR_ADMINS=true\n", { append: true });
    },
  },
];

tableTest(CASES);

Deno.test("CIT-015 says what it found and how to fix it, and is silent with REQUIRE_MFA_FOR_ADMINS=true", async () => {
  await using d = await hardenedDeployment();
  const hardened = await d.check();
  assert.equal(hardened.report.findings.filter((f) => f.id === "CIT-015").length, 0);

  d.env.REQUIRE_MFA_FOR_ADMINS = "false";
  const { report } = await d.check();
  const findings = report.findings.filter((f) => f.id === "CIT-015");
  assert.equal(findings.length, 1);
  const [finding] = findings;
  assert.equal(finding.severity, "high");
  assert.equal(finding.title, "Administrators may sign in without a second factor");
  assert.equal(finding.found, "REQUIRE_MFA_FOR_ADMINS is false in production");
  assert.match(finding.fix, /REQUIRE_MFA_FOR_ADMINS=true/);
  assert.match(finding.fix, /\/api\/v1\/me\/mfa\/totp/);
});

Deno.test("CIT-015 is a production rule: with APP_ENV development or test it does not fire", async () => {
  for (const appEnv of ["development", "test"]) {
    await using d = await hardenedDeployment();
    Object.assign(d.env, { APP_ENV: appEnv, REQUIRE_MFA_FOR_ADMINS: "false" });
    const { report } = await d.check();
    assert.deepEqual(
      report.findings.filter((f) => f.id === "CIT-015"),
      [],
      `APP_ENV=${appEnv}`,
    );
  }
});

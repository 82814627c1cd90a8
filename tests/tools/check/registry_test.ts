import assert from "node:assert/strict";
import { gatherContext } from "../../../src/tools/check/context.ts";
import { parseConfigLeniently } from "../../../src/tools/check/lenient_config.ts";
import { CHECKS, runChecks } from "../../../src/tools/check/registry.ts";
import { defineCheck, SEVERITIES } from "../../../src/tools/check/types.ts";
import { hardenedDeployment } from "../../support/check_deployment.ts";

Deno.test("every check has its own CIT-NNN id, a severity, a title and a fix", () => {
  const ids = CHECKS.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length, "ids are unique");
  for (const check of CHECKS) {
    assert.match(check.id, /^CIT-\d{3}$/);
    assert.ok(SEVERITIES.includes(check.severity), check.id);
    assert.ok(check.title.length > 0 && !check.title.endsWith("."), check.id);
    assert.ok(check.fix.length > 0, check.id);
  }
  assert.deepEqual([...ids].sort(), ids, "the registry lists checks in id order");
});

Deno.test("runChecks() turns a check that throws into CIT-099 and runs the rest", async () => {
  await using d = await hardenedDeployment();
  d.env.DEBUG = "true";
  const { context, close } = await gatherContext({ env: d.env, cwd: d.dir, uid: 1000 });
  try {
    const broken = defineCheck({
      id: "CIT-998",
      severity: "low",
      group: "config",
      title: "Broken on purpose",
      fix: "None",
      run: () => {
        throw new Error("no such column: role");
      },
    });
    const findings = await runChecks(context, [broken, ...CHECKS]);
    const failed = findings.find((f) => f.id === "CIT-099");
    assert.equal(failed?.severity, "high");
    assert.equal(failed?.found, "CIT-998 (Broken on purpose) failed: no such column: role");
    assert.ok(findings.some((f) => f.id === "CIT-047"), "later checks still ran");
  } finally {
    await close();
  }
});

Deno.test("parseConfigLeniently() yields a Config for a refused production setup and lists every refusal", () => {
  const { config, problems, production } = parseConfigLeniently({
    APP_ENV: "production",
    CORS_ORIGINS: "*",
    DEBUG: "true",
    PORT: "eighty",
    TLS_CERT_FILE: "/etc/citadel/cert.pem",
  });
  assert.equal(production, true);
  assert.equal(config.appEnv, "production");
  assert.deepEqual(config.corsOrigins, ["*"]);
  assert.equal(config.port, 8000);
  assert.equal(config.tls.certFile, undefined, "the half TLS pair is dropped");
  const variables = new Set(problems.map((p) => p.variable));
  for (
    const v of ["PORT", "TLS_KEY_FILE", "JWT_SECRET_KEY", "DEBUG", "CORS_ORIGINS", "ALLOWED_HOSTS"]
  ) {
    assert.ok(variables.has(v), `${v} refusal listed: ${[...variables].join(", ")}`);
  }
});

Deno.test("check reports the refusals that moved from the middleware into config", async () => {
  await using d = await hardenedDeployment();
  Object.assign(d.env, {
    APP_ENV: "test",
    ALLOWED_HOSTS: "https://api.example.com",
    CORS_ORIGINS: "*",
    ALERT_WEBHOOK_URL: "ftp://hooks.example",
    ALERT_WEBHOOK_SECRET: "whsec-0a1b2c3d4e5f6a7b8c9d0e1f",
  });
  const { context, close } = await gatherContext({ env: d.env, cwd: d.dir, uid: 1000 });
  try {
    assert.ok(
      context.configProblems.some((p) =>
        p.variable === "CORS_ORIGINS" && /only allowed when APP_ENV=development/.test(p.problem)
      ),
    );
    const findings = await runChecks(context);
    const refused = findings.filter((f) => f.id === "CIT-090");
    assert.deepEqual(refused.map((f) => [f.setting, f.severity]).sort(), [
      ["ALERT_WEBHOOK_URL", "high"],
      ["ALLOWED_HOSTS", "high"],
    ]);
    assert.match(
      refused.map((f) => f.found).join("\n"),
      /ALLOWED_HOSTS: "https:\/\/api\.example\.com" is not a host name/,
    );
    // The wildcard is already a finding of its own, so CIT-090 does not repeat it.
    assert.ok(findings.some((f) => f.id === "CIT-040" && f.setting === "CORS_ORIGINS"));
  } finally {
    await close();
  }
});

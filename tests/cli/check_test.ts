import assert from "node:assert/strict";
import { CheckReportSchema } from "../../src/lib/check_report_schema.ts";
import { DENO, RUN_PERMISSIONS, runCli } from "../support/helpers.ts";
import { hardenedDeployment } from "../support/check_deployment.ts";

const ROOT = Deno.uid() === 0;
const SCRIPT = new URL("../../scripts/security_check.ts", import.meta.url).pathname;

Deno.test("check --json of a hardened deployment prints one schema-valid document; only root fails it", async () => {
  await using d = await hardenedDeployment();
  const result = await runCli(["check", "--json"], { env: d.env, cwd: d.dir });
  const report = CheckReportSchema.parse(JSON.parse(result.stdout));
  const significant = report.findings.filter((f) => f.severity !== "info").map((f) => f.id);
  // The subprocess runs as whoever runs the tests: as root, CIT-063 is the one true finding.
  assert.deepEqual(significant, ROOT ? ["CIT-063"] : []);
  assert.equal(result.code, ROOT ? 1 : 0, result.stderr);
  assert.equal(report.passed, !ROOT);
  assert.equal(report.app_env, "production");
});

Deno.test("check exits 1 on a critical finding and 0 when --fail-level is above a medium one", async () => {
  await using d = await hardenedDeployment();
  const critical = await runCli(["check", "--json", "--fail-level", "critical"], {
    env: { ...d.env, JWT_SECRET_KEY: "CHANGE-ME" },
    cwd: d.dir,
  });
  assert.equal(critical.code, 1);
  const ids = CheckReportSchema.parse(JSON.parse(critical.stdout)).findings.map((f) => f.id);
  assert.ok(ids.includes("CIT-004"));

  const medium = { env: { ...d.env, SUPER_ADMIN_USERNAME: "admin" }, cwd: d.dir };
  const atCritical = await runCli(["check", "--fail-level", "critical"], medium);
  assert.equal(atCritical.code, 0, atCritical.stdout);
  const atMedium = await runCli(["check", "--fail-level", "medium"], medium);
  assert.equal(atMedium.code, 1);
  assert.match(atMedium.stdout, /\nMEDIUM\n {2}CIT-010 {2}Super admin uses a guessable username\n/);
  assert.match(atMedium.stdout, /fix: {3}Set SUPER_ADMIN_USERNAME to a personal email address/);
  assert.match(
    atMedium.stdout,
    /\d+ critical, \d+ high, 1 medium, 0 low, \d+ info: FAILED \(fail level medium\)\n$/,
  );
  assert.ok(!atMedium.stdout.includes("\x1b["), "no colour when stdout is not a terminal");
});

Deno.test("check refuses unknown options and fail levels with exit 2", async () => {
  for (
    const args of [["--fail-level", "info"], ["--fail-level", "severe"], ["--verbose"], ["extra"]]
  ) {
    const result = await runCli(["check", ...args]);
    assert.equal(result.code, 2, `check ${args.join(" ")}`);
    assert.equal(result.stdout, "");
  }
});

Deno.test("check exits 2 with the reason when the --url does not answer", async () => {
  await using d = await hardenedDeployment();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await runCli(["check", "--url", `http://127.0.0.1:${port}/`], {
    env: d.env,
    cwd: d.dir,
  });
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /citadel check: cannot run: http:\/\/127\.0\.0\.1:\d+\/ did not answer/,
  );
  assert.equal(result.stdout, "");
});

Deno.test("scripts/security_check.ts runs the same check with the same exit code", async () => {
  await using d = await hardenedDeployment();
  const out = await new Deno.Command(DENO, {
    args: ["run", ...RUN_PERMISSIONS, SCRIPT, "--json", "--fail-level", "critical"],
    env: { ...d.env, JWT_SECRET_KEY_PREVIOUS: "secret", NO_COLOR: "1" },
    clearEnv: true,
    cwd: d.dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1, new TextDecoder().decode(out.stderr));
  const report = CheckReportSchema.parse(JSON.parse(new TextDecoder().decode(out.stdout)));
  assert.deepEqual(
    report.findings.filter((f) => f.severity === "critical").map((f) => f.id),
    ["CIT-006", "CIT-008"],
  );
});

Deno.test("secret output is accepted by check as JWT_SECRET_KEY", async () => {
  await using d = await hardenedDeployment();
  const secret = await runCli(["secret"]);
  assert.equal(secret.code, 0);
  d.env.JWT_SECRET_KEY = secret.stdout.trim();
  const { report } = await d.check();
  assert.deepEqual(report.findings.filter((f) => f.id.startsWith("CIT-00")), []);
});

/**
 * `GET /api/v1/admin/check`: the audit of the running deployment for administrators, from
 * `citadel serve` in one process and through the supervisor with workers; 503 where the app
 * cannot run it, 403 for users and API keys without admin:read, 401 without a credential.
 */
import assert from "node:assert/strict";
import { runCheck } from "../../src/cli/check.ts";
import { adminSession, authed, login, registerUser } from "../support/auth_support.ts";
import {
  buildTestApp,
  request,
  startServer,
  tempDir,
  TEST_ENV,
  TEST_SECRET,
} from "../support/helpers.ts";

Deno.test("the admin check route answers the app's audit to admins, 403 to users, 401 without a credential, 503 when the app has none", async () => {
  await using dir = await tempDir();
  const t = await buildTestApp();
  try {
    const admin = await adminSession(t, "admin");
    const user = await registerUser(t);
    const userTokens = await login(t, user.email);
    const unavailable = await authed(t, "GET", "/api/v1/admin/check", admin.tokens.access_token);
    assert.equal(unavailable.status, 503);
    assert.equal((await unavailable.json()).code, "check_unavailable");

    t.deps.checkReport = async () =>
      (await runCheck({
        env: { ...TEST_ENV, DATABASE_URL: `file:${dir.path}/c.db` },
        cwd: dir.path,
      }))
        .report as Record<string, unknown>;
    const res = await authed(t, "GET", "/api/v1/admin/check", admin.tokens.access_token);
    assert.equal(res.status, 200);
    const report = await res.json();
    assert.equal(report.schema, "citadel-check/1");
    assert.ok(Array.isArray(report.findings));
    assert.equal(
      (await authed(t, "GET", "/api/v1/admin/check", userTokens.access_token)).status,
      403,
    );
    assert.equal((await request(t.app, "GET", "/api/v1/admin/check")).status, 401);
  } finally {
    await t.close();
  }
});

Deno.test("citadel serve answers the check route itself, and with two workers through the supervisor", async () => {
  await using dir = await tempDir();
  const env = {
    DATABASE_URL: `file:${dir.path}/citadel.db`,
    JWT_SECRET_KEY: TEST_SECRET,
    ARGON2_MEMORY_KIB: "1024",
    ARGON2_TIME_COST: "1",
    SUPER_ADMIN_USERNAME: "root",
    SUPER_ADMIN_PASSWORD: "Bootstrap-Harbor-Pass-91!",
    RATE_LIMIT_ENABLED: "false",
    LOG_LEVEL: "info",
  };
  for (const workers of ["1", "2"]) {
    const server = await startServer({ ...env, WORKERS: workers }, { cwd: dir.path });
    try {
      const login = await fetch(`${server.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "root", password: env.SUPER_ADMIN_PASSWORD }),
      });
      assert.equal(login.status, 200, await login.clone().text());
      const { access_token } = await login.json();
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${server.url}/api/v1/admin/check`, {
          headers: { authorization: `Bearer ${access_token}` },
        });
        assert.equal(res.status, 200, `workers=${workers}: ${await res.clone().text()}`);
        const report = await res.json();
        assert.equal(report.schema, "citadel-check/1");
        assert.ok(report.findings.some((f: { id: string }) => /^CIT-\d{3}$/.test(f.id)));
      }
    } finally {
      await server.stop();
    }
  }
});

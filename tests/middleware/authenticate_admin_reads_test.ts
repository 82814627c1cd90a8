/**
 * Every credential on every admin read route the app serves (enumerated from the app, so a new
 * route is covered the day it lands): none is 401, a console cookie alone is 401 (it is not an
 * API credential), a user's session and a user's key are 403, an admin's key without
 * `admin:read` is 403 `insufficient_scope`, an admin's session and an admin's key with
 * `admin:read` pass. Also `POST /api/v1/me/email`, the other new authenticated route.
 */
import assert from "node:assert/strict";
import { runCheck } from "../../src/cli/check.ts";
import {
  adminSession,
  authed,
  login,
  registerUser,
  STRONG_PASSWORD,
} from "../support/auth_support.ts";
import { signIn } from "../support/console_support.ts";
import { buildTestApp, request, tempDir, TEST_ENV } from "../support/helpers.ts";
import { adminRoutes } from "../support/step_up_support.ts";

Deno.test("every admin read route: each credential reaches it or is refused as its grant says", async () => {
  await using dir = await tempDir();
  const t = await buildTestApp();
  // What `citadel serve` gives the check route: the real audit, of a scratch setup.
  t.deps.checkReport = async () =>
    (await runCheck({ env: { ...TEST_ENV, DATABASE_URL: `file:${dir.path}/c.db` }, cwd: dir.path }))
      .report as Record<string, unknown>;
  try {
    const admin = await adminSession(t, "admin");
    const user = await registerUser(t);
    const userSession = await login(t, user.email);
    const key = async (bearer: string, scopes: string[]) => {
      const res = await authed(t, "POST", "/api/v1/api-keys", bearer, { name: "k", scopes });
      assert.equal(res.status, 201, await res.clone().text());
      return (await res.json()).key as string;
    };
    const adminReader = await key(admin.tokens.access_token, ["admin:read"]);
    const adminWithoutScope = await key(admin.tokens.access_token, ["me:read"]);
    const userKey = await key(userSession.access_token, ["me:read"]);
    const consoleCookie = await signIn(t, admin.user.email);

    const reads = adminRoutes(t).reads;
    for (const route of ["GET /api/v1/admin/check", "GET /api/v1/admin/audit/verify"]) {
      assert.ok(reads.includes(route), `${route} is enumerated`);
    }
    assert.ok(reads.includes("GET /api/v1/admin/users/:id/sessions"));
    for (const route of reads) {
      const path = route.slice("GET ".length).replace(":id", user.id).replace(":kid", "x");
      const as = (headers: Record<string, string>) => request(t.app, "GET", path, { headers });
      const expect = async (res: Response, status: number, who: string, code?: string) => {
        const body = await res.text();
        assert.equal(res.status, status, `${route} as ${who}: ${body}`);
        if (code) assert.equal(JSON.parse(body).code, code, `${route} as ${who}`);
      };
      await expect(await as({}), 401, "nobody");
      await expect(await as({ cookie: consoleCookie }), 401, "a console cookie alone");
      await expect(
        await as({ authorization: `Bearer ${userSession.access_token}` }),
        403,
        "a user",
      );
      await expect(await as({ "x-api-key": userKey }), 403, "a user's key");
      // Signing keys are super_admin's; every other read is an admin's.
      const superAdminOnly = route.startsWith("GET /api/v1/admin/keys");
      const granted = superAdminOnly ? 403 : 200;
      // Without admin:read the key is refused; on a super_admin route its owner's role first.
      await expect(
        await as({ "x-api-key": adminWithoutScope }),
        403,
        "an admin's key without admin:read",
        superAdminOnly ? "forbidden" : "insufficient_scope",
      );
      await expect(
        await as({ authorization: `Bearer ${admin.tokens.access_token}` }),
        granted,
        "an admin",
      );
      await expect(await as({ "x-api-key": adminReader }), granted, "an admin's admin:read key");
    }
  } finally {
    await t.close();
  }
});

Deno.test("POST /api/v1/me/email: a session passes; nobody, a console cookie alone and an API key are refused", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const session = await login(t, user.email);
    const created = await authed(t, "POST", "/api/v1/api-keys", session.access_token, {
      name: "k",
      scopes: ["me:read", "me:write"],
    });
    const apiKey = (await created.json()).key as string;
    const cookie = await signIn(t, user.email);
    const body = { new_email: "moved@example.com", password: STRONG_PASSWORD };
    const as = (headers: Record<string, string>) =>
      request(t.app, "POST", "/api/v1/me/email", { body, headers });
    assert.equal((await as({})).status, 401);
    assert.equal((await as({ cookie, origin: "http://localhost" })).status, 401);
    const keyed = await as({ "x-api-key": apiKey });
    assert.equal(keyed.status, 403);
    assert.equal((await keyed.json()).code, "session_required");
    assert.equal((await as({ authorization: `Bearer ${session.access_token}` })).status, 202);
  } finally {
    await t.close();
  }
});

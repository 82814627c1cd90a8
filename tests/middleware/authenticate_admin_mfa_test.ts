/**
 * REQUIRE_MFA_FOR_ADMINS in `authenticate` and `authorize`: an admin or super admin whose
 * credential does not carry a second factor (a session signed in with the password only, or
 * an API key whose owner has no MFA) gets 403 `mfa_enrollment_required` on every route the
 * app serves under /api/v1/admin (enumerated from the app), while /api/v1/me and
 * /api/v1/me/mfa keep working so they can enrol. With the setting off nothing changes.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { adminSession, authed, login, registerUser } from "../support/auth_support.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import {
  assertProblem,
  jwtClaims,
  mfaStep,
  midStepMs,
  passwordStep,
  STEP_MS,
  totp,
} from "../support/mfa_support.ts";
import { adminRoutes, enrolTotp, loginWithTotp } from "../support/step_up_support.ts";

const REQUIRED = { REQUIRE_MFA_FOR_ADMINS: "true" };

/** Every admin route, with its parameters filled in; bodies are whatever the route takes. */
function everyAdminRoute(t: TestApp, userId: string): [string, string, unknown][] {
  const { reads, writes } = adminRoutes(t);
  assert.ok(reads.length >= 5 && writes.length >= 8, "the app's admin routes were found");
  return [...reads, ...writes].map((route) => {
    const [method, pattern] = route.split(" ");
    const path = pattern.replace(":id", userId).replace(":kid", "no-such-kid");
    return [method, path, method === "GET" ? undefined : { status: "disabled" }];
  });
}

async function assertEnrollmentRequiredEverywhere(t: TestApp, bearer: string, userId: string) {
  for (const [method, path, body] of everyAdminRoute(t, userId)) {
    const res = await authed(t, method, path, bearer, body);
    const problem = await assertProblem(res, 403, "mfa_enrollment_required");
    assert.match(problem.detail, /\/api\/v1\/me\/mfa/, `${method} ${path}`);
  }
}

async function assertStatus(res: Response, status: number) {
  assert.equal(res.status, status, await res.clone().text());
  await res.body?.cancel();
}

for (const [role, who] of [["admin", "an admin"], ["super_admin", "a super admin"]] as const) {
  Deno.test(`REQUIRE_MFA_FOR_ADMINS: ${who} without MFA gets 403 mfa_enrollment_required on every /api/v1/admin route and can still enrol; signed in with a code, the admin API answers`, async () => {
    const clock = new ManualClock(midStepMs());
    const t = await buildTestApp(REQUIRED, { clock });
    try {
      const target = await registerUser(t);
      const { user, tokens } = await adminSession(t, role);
      const before = await t.deps.db.selectFrom("users").select(["id", "status"])
        .orderBy("id").execute();
      await assertEnrollmentRequiredEverywhere(t, tokens.access_token, target.id);
      assert.deepEqual(
        await t.deps.db.selectFrom("users").select(["id", "status"]).orderBy("id").execute(),
        before,
        "nothing was changed",
      );

      // The rest of the API, and enrolment, still work.
      const me = await authed(t, "GET", "/api/v1/me", tokens.access_token);
      assert.equal(me.status, 200);
      assert.equal((await me.json()).mfa_enabled, false);
      const { secret, recoveryCodes } = await enrolTotp(t, clock, tokens.access_token);

      // The token signed in with the password only still does not carry the factor.
      const stillPassword = await authed(t, "GET", "/api/v1/admin/users", tokens.access_token);
      await assertProblem(stillPassword, 403, "mfa_enrollment_required");

      // A login with the code does, and so does a recovery code.
      const withCode = await loginWithTotp(t, clock, user.email, secret);
      await assertStatus(await authed(t, "GET", "/api/v1/admin/users", withCode.access_token), 200);
      await assertStatus(await authed(t, "GET", "/api/v1/admin/audit", withCode.access_token), 200);
      await assertStatus(
        await authed(t, "PATCH", `/api/v1/admin/users/${target.id}`, withCode.access_token, {
          status: "disabled",
        }),
        200,
      );
      if (role === "super_admin") {
        await assertStatus(
          await authed(t, "GET", "/api/v1/admin/keys", withCode.access_token),
          200,
        );
      }
      const challenge = await passwordStep(t, user.email);
      const rc = await mfaStep(t, challenge.mfa_token, { recovery_code: recoveryCodes[0] });
      assert.equal(rc.status, 200);
      const rcToken = (await rc.json()).access_token;
      assert.deepEqual(jwtClaims(rcToken).amr, ["pwd", "rc"]);
      await assertStatus(await authed(t, "GET", "/api/v1/admin/users", rcToken), 200);

      // Confirming the enrolment proved the factor in the enrolling session: its next
      // refresh carries it.
      const refreshed = await request(t.app, "POST", "/api/v1/auth/refresh", {
        body: { refresh_token: tokens.refresh_token },
      });
      assert.equal(refreshed.status, 200);
      const refreshedToken = (await refreshed.json()).access_token;
      assert.deepEqual(jwtClaims(refreshedToken).amr, ["pwd", "otp"]);
      await assertStatus(await authed(t, "GET", "/api/v1/admin/users", refreshedToken), 200);
    } finally {
      await t.close();
    }
  });
}

Deno.test("REQUIRE_MFA_FOR_ADMINS: a plain user still gets 403 forbidden on admin routes, not an invitation to enrol", async () => {
  const t = await buildTestApp(REQUIRED);
  try {
    const user = await registerUser(t);
    const { access_token } = await login(t, user.email);
    for (const [method, path, body] of everyAdminRoute(t, user.id)) {
      await assertProblem(await authed(t, method, path, access_token, body), 403, "forbidden");
    }
  } finally {
    await t.close();
  }
});

Deno.test("REQUIRE_MFA_FOR_ADMINS: an admin's API key gets 403 mfa_enrollment_required while its owner has no MFA, works once the owner enrols, and is refused again when MFA is turned off", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp(REQUIRED, { clock });
  try {
    const target = await registerUser(t);
    const { tokens } = await adminSession(t, "admin");
    const created = await authed(t, "POST", "/api/v1/api-keys", tokens.access_token, {
      name: "ops",
      scopes: ["admin:read", "admin:write"],
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { key } = await created.json();
    await assertEnrollmentRequiredEverywhere(t, key, target.id);

    const { secret } = await enrolTotp(t, clock, tokens.access_token);
    clock.advance(1_000); // past the API-key cache (500 ms), as another process would be
    await assertStatus(await authed(t, "GET", "/api/v1/admin/users", key), 200);
    await assertStatus(
      await authed(t, "PATCH", `/api/v1/admin/users/${target.id}`, key, { status: "disabled" }),
      200,
    );

    const off = await authed(t, "DELETE", "/api/v1/me/mfa", tokens.access_token, {
      code: totp(secret, clock.now()),
    });
    assert.equal(off.status, 204, await off.clone().text());
    clock.advance(STEP_MS);
    await assertProblem(
      await authed(t, "GET", "/api/v1/admin/users", key),
      403,
      "mfa_enrollment_required",
    );
  } finally {
    await t.close();
  }
});

Deno.test("with REQUIRE_MFA_FOR_ADMINS false (the default), admins without MFA and their keys use the admin API as before", async () => {
  const t = await buildTestApp();
  try {
    assert.equal(t.deps.config.mfa.requireForAdmins, false);
    const target = await registerUser(t);
    const admin = await adminSession(t, "admin");
    const boss = await adminSession(t, "super_admin");
    const bearer = admin.tokens.access_token;
    await assertStatus(await authed(t, "GET", "/api/v1/admin/users", bearer), 200);
    await assertStatus(
      await authed(t, "PATCH", `/api/v1/admin/users/${target.id}`, bearer, { status: "disabled" }),
      200,
    );
    await assertStatus(await authed(t, "GET", "/api/v1/admin/keys", boss.tokens.access_token), 200);
    const created = await authed(t, "POST", "/api/v1/api-keys", bearer, {
      name: "ops",
      scopes: ["admin:read"],
    });
    assert.equal(created.status, 201);
    const { key } = await created.json();
    await assertStatus(await authed(t, "GET", "/api/v1/admin/api-keys", key), 200);
  } finally {
    await t.close();
  }
});

Deno.test("REQUIRE_MFA_FOR_ADMINS: an admin who turns MFA off keeps no admin access through the kept session: its next tokens say amr [pwd]", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp(REQUIRED, { clock });
  try {
    const { user, tokens } = await adminSession(t, "admin");
    const { secret } = await enrolTotp(t, clock, tokens.access_token);
    const signedIn = await loginWithTotp(t, clock, user.email, secret);
    clock.advance(30_000);
    assert.equal(
      (await authed(t, "GET", "/api/v1/admin/users", signedIn.access_token)).status,
      200,
    );
    const off = await authed(t, "DELETE", "/api/v1/me/mfa", signedIn.access_token, {
      code: totp(secret, clock.now()),
    });
    assert.equal(off.status, 204, await off.clone().text());
    const refreshed = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: signedIn.refresh_token },
    });
    assert.equal(refreshed.status, 200);
    const { access_token } = await refreshed.json();
    assert.deepEqual(jwtClaims(access_token).amr, ["pwd"]);
    await assertProblem(
      await authed(t, "GET", "/api/v1/admin/users", access_token),
      403,
      "mfa_enrollment_required",
    );
  } finally {
    await t.close();
  }
});

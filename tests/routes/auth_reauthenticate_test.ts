/**
 * POST /api/v1/auth/reauthenticate (step-up): the session's user proves who they are again
 * and gets a new access token for the same session with a fresh `auth_time`. The password
 * is checked under the login guard (failures count, a blocked pair is 429 for login too),
 * the second factor under the MFA rules (required when on, used codes refused), and only a
 * session may ask.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { adminSession, authed, login, STRONG_PASSWORD } from "../support/auth_support.ts";
import { buildTestApp, request } from "../support/helpers.ts";
import {
  assertProblem,
  auditRows,
  jwtClaims,
  mfaStep,
  mfaUser,
  midStepMs,
  passwordStep,
  STEP_MS,
  totp,
} from "../support/mfa_support.ts";
import { reauthenticate, staleSession } from "../support/step_up_support.ts";

const WRONG_PASSWORD = "Wrong-Password-123!";

Deno.test("reauthenticate with the password answers a new access token for the same session, signed in now", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const admin = await adminSession(t, "admin");
    const stale = await staleSession(t, clock, admin.tokens);
    const res = await reauthenticate(t, stale.access_token, { password: STRONG_PASSWORD });
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.deepEqual(Object.keys(body).sort(), ["access_token", "expires_in", "token_type"]);
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, 900);

    const before = jwtClaims(stale.access_token);
    const after = jwtClaims(body.access_token);
    assert.equal(after.sid, before.sid);
    assert.equal(after.sub, admin.user.id);
    assert.equal(after.role, "admin");
    assert.equal(after.auth_time, Math.floor(clock.now() / 1000));
    assert.deepEqual(after.amr, ["pwd"]);
    const me = await authed(t, "GET", "/api/v1/me", body.access_token);
    assert.equal(me.status, 200);
    await me.body?.cancel();

    const [event] = await auditRows(t, "auth.reauthenticated");
    assert.equal(event.actor_id, admin.user.id);
    assert.equal(event.outcome, "success");
    assert.deepEqual(event.details, { session_id: before.sid, amr: ["pwd"] });
    assert.ok(!JSON.stringify(event).includes(STRONG_PASSWORD));
  } finally {
    await t.close();
  }
});

Deno.test("with MFA on, reauthenticate needs a current code or an unused recovery code besides the password", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const user = await mfaUser(t, clock);
    const challenge = await passwordStep(t, user.email);
    const loginCode = totp(user.secret, clock.now());
    const loggedIn = await mfaStep(t, challenge.mfa_token, { code: loginCode });
    assert.equal(loggedIn.status, 200);
    const tokens = await loggedIn.json();
    const stale = await staleSession(t, clock, tokens);
    const bearer = stale.access_token;

    // The password alone is not enough, nor a wrong code.
    await assertProblem(
      await reauthenticate(t, bearer, { password: STRONG_PASSWORD }),
      401,
      "invalid_mfa_code",
    );
    await assertProblem(
      await reauthenticate(t, bearer, { password: STRONG_PASSWORD, code: "000000" }),
      401,
      "invalid_mfa_code",
    );
    // A code already used (at login) is refused, even within its step's skew.
    await assertProblem(
      await reauthenticate(t, bearer, { password: STRONG_PASSWORD, code: loginCode }),
      401,
      "invalid_mfa_code",
    );
    // A right code with a wrong password is a wrong password.
    await assertProblem(
      await reauthenticate(t, bearer, {
        password: WRONG_PASSWORD,
        code: totp(user.secret, clock.now()),
      }),
      401,
      "invalid_credentials",
    );
    const failed = await auditRows(t, "mfa.challenge_failed");
    assert.equal(failed.length, 2, "the wrong and the replayed code; a missing one is not tried");
    for (const e of failed) assert.ok(!JSON.stringify(e.details).includes(loginCode));

    const withCode = await reauthenticate(t, bearer, {
      password: STRONG_PASSWORD,
      code: totp(user.secret, clock.now()),
    });
    assert.equal(withCode.status, 200, await withCode.clone().text());
    assert.deepEqual(jwtClaims((await withCode.json()).access_token).amr, ["pwd", "otp"]);

    clock.advance(STEP_MS);
    const recoveryCode = user.recoveryCodes[0];
    const withRecovery = await reauthenticate(t, bearer, {
      password: STRONG_PASSWORD,
      recovery_code: recoveryCode,
    });
    assert.equal(withRecovery.status, 200, await withRecovery.clone().text());
    const fresh = (await withRecovery.json()).access_token;
    assert.deepEqual(jwtClaims(fresh).amr, ["pwd", "rc"]);
    const me = await (await authed(t, "GET", "/api/v1/me", fresh)).json();
    assert.equal(me.recovery_codes_left, 9);
    await assertProblem(
      await reauthenticate(t, bearer, { password: STRONG_PASSWORD, recovery_code: recoveryCode }),
      401,
      "invalid_mfa_code",
    );
  } finally {
    await t.close();
  }
});

Deno.test("wrong passwords on reauthenticate count against the login guard: 401 invalid_credentials, then 429 for reauthenticate and login alike", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const admin = await adminSession(t, "admin");
    const stale = await staleSession(t, clock, admin.tokens);
    const ip = "203.0.113.9";
    for (let i = 0; i < 5; i++) {
      await assertProblem(
        await reauthenticate(t, stale.access_token, { password: WRONG_PASSWORD }, ip),
        401,
        "invalid_credentials",
      );
    }
    const blocked = await reauthenticate(t, stale.access_token, { password: STRONG_PASSWORD }, ip);
    assert.equal(blocked.headers.get("retry-after"), "900");
    await assertProblem(blocked, 429, "too_many_attempts");
    // The same (address, account) budget as login: the right password is refused there too.
    const loginBlocked = await request(t.app, "POST", "/api/v1/auth/login", {
      body: { email: admin.user.email, password: STRONG_PASSWORD },
      ip,
    });
    await assertProblem(loginBlocked, 429, "too_many_attempts");

    // Each blocked attempt is audited and alerted, the reauthentication as much as the login.
    const blocks = await auditRows(t, "auth.login.blocked");
    assert.equal(blocks.length, 2);
    assert.equal(blocks[0].actor_id, admin.user.id, "the session's user asked");
    for (const e of blocks) {
      assert.deepEqual(e.details, { reason: "pair", scope: "account", retry_after_seconds: 900 });
    }
    await t.deps.logger.flush();
    const alerts = t.logs.map((line) => JSON.parse(line))
      .filter((e) => e.msg === "security alert" && e.alert === "account_blocked");
    assert.equal(alerts.length, 2);

    const failures = await auditRows(t, "auth.login.failed");
    assert.equal(failures.length, 5);
    for (const e of failures) {
      assert.deepEqual(e.details, { reason: "wrong_password", method: "reauthenticate" });
      assert.equal(e.target_id, admin.user.id);
    }
    // Another address is not blocked, and the block ends with the window.
    const elsewhere = await reauthenticate(
      t,
      stale.access_token,
      { password: STRONG_PASSWORD },
      "198.51.100.4",
    );
    assert.equal(elsewhere.status, 200, await elsewhere.clone().text());
    await elsewhere.body?.cancel();
    clock.advance(900_000);
    const refreshed = await request(t.app, "POST", "/api/v1/auth/refresh", {
      body: { refresh_token: stale.refresh_token },
    });
    assert.equal(refreshed.status, 200);
    const { access_token } = await refreshed.json();
    const later = await reauthenticate(t, access_token, { password: STRONG_PASSWORD }, ip);
    assert.equal(later.status, 200, await later.clone().text());
    await later.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("only a live session may reauthenticate: API keys get 403 session_required, no credential 401, a logged-out session 401", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const admin = await adminSession(t, "admin");
    const created = await authed(t, "POST", "/api/v1/api-keys", admin.tokens.access_token, {
      name: "everything",
      scopes: ["me:read", "me:write", "api_keys:read", "api_keys:write", "admin:read"],
    });
    assert.equal(created.status, 201);
    const { key } = await created.json();
    await assertProblem(
      await reauthenticate(t, key, { password: STRONG_PASSWORD }),
      403,
      "session_required",
    );
    const viaHeader = await request(t.app, "POST", "/api/v1/auth/reauthenticate", {
      body: { password: STRONG_PASSWORD },
      headers: { "x-api-key": key },
    });
    await assertProblem(viaHeader, 403, "session_required");
    const anonymous = await request(t.app, "POST", "/api/v1/auth/reauthenticate", {
      body: { password: STRONG_PASSWORD },
    });
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();

    const other = await login(t, admin.user.email);
    const out = await authed(t, "POST", "/api/v1/auth/logout", other.access_token);
    assert.equal(out.status, 204);
    await assertProblem(
      await reauthenticate(t, other.access_token, { password: STRONG_PASSWORD }),
      401,
      "invalid_token",
    );
    assert.deepEqual(await auditRows(t, "auth.reauthenticated"), []);
  } finally {
    await t.close();
  }
});

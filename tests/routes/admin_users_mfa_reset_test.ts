/**
 * POST /api/v1/admin/users/:id/mfa/reset, the lost-device recovery: a super admin (with a
 * fresh sign-in, as every admin write) turns a user's MFA off and ends every session of
 * theirs; it is audited and alerted. Admins and users are refused; unknown ids are 404.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import {
  adminSession,
  authed,
  login,
  registerUser,
  STRONG_PASSWORD,
} from "../support/auth_support.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import { assertProblem, auditRows, mfaUser, midStepMs } from "../support/mfa_support.ts";
import { enrolTotp, loginWithTotp } from "../support/step_up_support.ts";

const resetPath = (id: string) => `/api/v1/admin/users/${id}/mfa/reset`;

async function mfaState(t: TestApp, userId: string) {
  const db = t.deps.db;
  const user = await db.selectFrom("users").select(["mfa_enabled_at", "recovery_codes_left"])
    .where("id", "=", userId).executeTakeFirstOrThrow();
  const seeds = await db.selectFrom("mfa_totp").select("user_id").where("user_id", "=", userId)
    .execute();
  const codes = await db.selectFrom("mfa_recovery_codes").select("user_id")
    .where("user_id", "=", userId).execute();
  return { on: user.mfa_enabled_at !== null, left: user.recovery_codes_left, seeds, codes };
}

async function activeSessions(t: TestApp, userId: string): Promise<number> {
  const rows = await t.deps.db.selectFrom("sessions").select("id").where("user_id", "=", userId)
    .where("revoked_at", "is", null).execute();
  return rows.length;
}

Deno.test("a super admin resets a user's MFA: 204, MFA off, every session of the user revoked, audited and alerted; the user signs in with the password and may enrol again", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const boss = await adminSession(t, "super_admin");
    const victim = await mfaUser(t, clock);
    const second = await loginWithTotp(t, clock, victim.email, victim.secret);
    assert.equal(await activeSessions(t, victim.id), 2);

    const res = await authed(t, "POST", resetPath(victim.id), boss.tokens.access_token);
    assert.equal(res.status, 204, await res.clone().text());
    assert.equal(await res.text(), "");

    assert.deepEqual(await mfaState(t, victim.id), { on: false, left: 0, seeds: [], codes: [] });
    assert.equal(await activeSessions(t, victim.id), 0);
    for (const token of [victim.accessToken, second.access_token]) {
      await assertProblem(await authed(t, "GET", "/api/v1/me", token), 401, "invalid_token");
    }
    for (const refresh_token of [victim.refreshToken, second.refresh_token]) {
      const refreshed = await request(t.app, "POST", "/api/v1/auth/refresh", {
        body: { refresh_token },
      });
      assert.equal(refreshed.status, 401, await refreshed.clone().text());
      await refreshed.body?.cancel();
    }

    // The password alone signs in now: no challenge, tokens at once.
    const tokens = await login(t, victim.email);
    assert.equal(typeof tokens.access_token, "string");
    const me = await (await authed(t, "GET", "/api/v1/me", tokens.access_token)).json();
    assert.equal(me.mfa_enabled, false);
    assert.equal(me.recovery_codes_left, 0);
    assert.equal(me.user.mfa_enabled, false);

    const [event, ...more] = await auditRows(t, "mfa.reset");
    assert.equal(more.length, 0);
    assert.equal(event.actor_id, boss.user.id);
    assert.equal(event.target_type, "user");
    assert.equal(event.target_id, victim.id);
    assert.equal(event.outcome, "success");
    assert.deepEqual(event.details, { sessions_revoked: 2 });

    await t.deps.logger.flush();
    const alerts = t.logs.map((line) => JSON.parse(line))
      .filter((e) => e.msg === "security alert" && e.alert === "mfa_reset");
    assert.equal(alerts.length, 1);
    assert.deepEqual(alerts[0].details, { user_id: victim.id, by: boss.user.id });
    const everything = t.logs.join("\n") + JSON.stringify(await auditRows(t, "mfa.reset"));
    assert.ok(!everything.includes(victim.secret), "the seed is in no log or audit event");
    for (const code of victim.recoveryCodes) assert.ok(!everything.includes(code));

    // The recovery procedure ends with a new enrolment.
    await enrolTotp(t, clock, tokens.access_token);
    assert.equal((await mfaState(t, victim.id)).on, true);
  } finally {
    await t.close();
  }
});

Deno.test("only super admins reset MFA: admins (session or key) and users get 403 forbidden, for a user's or a super admin's MFA, and nothing changes", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const boss = await adminSession(t, "super_admin");
    const otherBoss = await adminSession(t, "super_admin");
    await enrolTotp(t, clock, otherBoss.tokens.access_token);
    const victim = await mfaUser(t, clock);
    const admin = await adminSession(t, "admin");
    const keyRes = await authed(t, "POST", "/api/v1/api-keys", admin.tokens.access_token, {
      name: "ops",
      scopes: ["admin:read", "admin:write"],
    });
    assert.equal(keyRes.status, 201);
    const adminKey = (await keyRes.json()).key as string;
    const user = await registerUser(t);
    const userToken = (await login(t, user.email)).access_token;

    const callers: [string, string][] = [
      ["admin session", admin.tokens.access_token],
      ["admin's admin:write key", adminKey],
      ["user session", userToken],
    ];
    for (const [who, bearer] of callers) {
      for (const target of [victim.id, otherBoss.user.id, user.id]) {
        const res = await authed(t, "POST", resetPath(target), bearer);
        const text = await res.text();
        assert.equal(res.status, 403, `${who} on ${target}: ${text}`);
        assert.equal(JSON.parse(text).code, "forbidden", `${who} on ${target}`);
      }
    }
    assert.equal((await mfaState(t, victim.id)).on, true);
    assert.equal((await mfaState(t, otherBoss.user.id)).on, true);
    assert.equal(await activeSessions(t, victim.id), 1);
    assert.deepEqual(await auditRows(t, "mfa.reset"), []);

    // A super admin may reset another super admin's (a lost device is a lost device).
    const res = await authed(t, "POST", resetPath(otherBoss.user.id), boss.tokens.access_token);
    assert.equal(res.status, 204, await res.clone().text());
    assert.equal((await mfaState(t, otherBoss.user.id)).on, false);
    assert.equal((await mfaState(t, victim.id)).on, true);
  } finally {
    await t.close();
  }
});

Deno.test("a super admin's admin:write key resets MFA without step-up; an unknown id is 404 not_found, a malformed one 422", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const boss = await adminSession(t, "super_admin");
    const keyRes = await authed(t, "POST", "/api/v1/api-keys", boss.tokens.access_token, {
      name: "ops",
      scopes: ["admin:write"],
    });
    assert.equal(keyRes.status, 201);
    const { key, api_key } = await keyRes.json() as { key: string; api_key: { id: string } };

    await assertProblem(
      await authed(t, "POST", resetPath(crypto.randomUUID()), boss.tokens.access_token),
      404,
      "not_found",
    );
    await assertProblem(
      await authed(t, "POST", resetPath("not-a-user-id"), boss.tokens.access_token),
      422,
      "validation_failed",
    );

    const victim = await mfaUser(t, clock);
    clock.advance(3_600_000); // the owner's sign-in is long stale; the key does not care
    const res = await authed(t, "POST", resetPath(victim.id), key);
    assert.equal(res.status, 204, await res.clone().text());
    assert.equal((await mfaState(t, victim.id)).on, false);
    const [event] = await auditRows(t, "mfa.reset");
    assert.equal(event.actor_type, "api_key");
    assert.equal(event.actor_id, api_key.id);
    const challenge = await request(t.app, "POST", "/api/v1/auth/login", {
      body: { email: victim.email, password: STRONG_PASSWORD },
    });
    assert.equal(challenge.status, 200);
    assert.equal((await challenge.json()).mfa_required, undefined);
  } finally {
    await t.close();
  }
});

/**
 * The domain counters of platform/metrics.ts, recorded where each event is decided and read
 * back from a real `GET /metrics` after driving the real routes: logins by outcome for every
 * sign-in method, the login and path guards' blocks, both rate limiters' 429s and refresh-token
 * reuse. Each test asserts exactly what moved, so it fails when a recording is removed (or
 * recorded twice).
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { login, registerUser, STRONG_PASSWORD } from "../support/auth_support.ts";
import { request } from "../support/helpers.ts";
import { meteredApp, watch } from "../support/metrics_support.ts";
import { mfaStep, mfaUser, midStepMs, passwordStep, totp } from "../support/mfa_support.ts";
import { passkeySignIn, passkeyUser } from "../support/passkey_support.ts";
import { SoftAuthenticator } from "../support/soft_authenticator.ts";

const LOGINS = ["citadel_logins_total", "citadel_guard_blocks_total"];
const login_ = (outcome: string) => `citadel_logins_total{outcome="${outcome}"}`;
const block = (reason: string) => `citadel_guard_blocks_total{reason="${reason}"}`;

function attempt(t: Awaited<ReturnType<typeof meteredApp>>, email: string, password: string) {
  return request(t.app, "POST", "/api/v1/auth/login", { body: { email, password } });
}

Deno.test("password logins count success and invalid_credentials (wrong password, unknown email, disabled account)", async () => {
  const t = await meteredApp();
  try {
    const user = await registerUser(t);
    const logins = await watch(t, LOGINS);
    await login(t, user.email);
    assert.deepEqual(await logins.changes(), { [login_("success")]: 1 });

    assert.equal((await attempt(t, user.email, "Wrong-Password-123!")).status, 401);
    assert.equal((await attempt(t, "nobody@example.com", STRONG_PASSWORD)).status, 401);
    await t.deps.db.updateTable("users").set({ status: "disabled" }).where("id", "=", user.id)
      .execute();
    assert.equal((await attempt(t, user.email, STRONG_PASSWORD)).status, 401);
    assert.deepEqual(await logins.changes(), { [login_("invalid_credentials")]: 3 });
  } finally {
    await t.close();
  }
});

Deno.test("a login with MFA counts mfa_required, a wrong code mfa_failed, the right one success", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await meteredApp({}, { clock });
  try {
    const user = await mfaUser(t, clock);
    const logins = await watch(t, LOGINS);
    const challenge = await passwordStep(t, user.email);
    assert.deepEqual(await logins.changes(), { [login_("mfa_required")]: 1 });

    assert.equal((await mfaStep(t, challenge.mfa_token, { code: "000000" })).status, 401);
    const recovery = await mfaStep(t, challenge.mfa_token, { recovery_code: "AAAA-BBBB-CCCC" });
    assert.equal(recovery.status, 401);
    assert.deepEqual(await logins.changes(), { [login_("mfa_failed")]: 2 });

    const ok = await mfaStep(t, challenge.mfa_token, { code: totp(user.secret, clock.now()) });
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.deepEqual(await logins.changes(), { [login_("success")]: 1 });

    // The same check of a code for a step-up or a setting is not a sign-in.
    const stepUp = await request(t.app, "POST", "/api/v1/auth/reauthenticate", {
      body: { password: STRONG_PASSWORD, code: "000000" },
      headers: { authorization: `Bearer ${(await ok.json()).access_token}` },
    });
    assert.equal(stepUp.status, 401);
    assert.deepEqual(await logins.changes(), {});
  } finally {
    await t.close();
  }
});

Deno.test("passkey sign-ins count success, and an unknown or refused passkey invalid_credentials", async () => {
  const t = await meteredApp();
  try {
    const user = await passkeyUser(t);
    const logins = await watch(t, LOGINS);
    const ok = await passkeySignIn(t, user.authenticator);
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.deepEqual(await logins.changes(), { [login_("success")]: 1 });

    const stranger = await passkeySignIn(t, await SoftAuthenticator.create());
    assert.equal(stranger.status, 401);
    const unverified = await passkeySignIn(t, user.authenticator, { tweaks: { unverified: true } });
    assert.equal(unverified.status, 401);
    assert.deepEqual(await logins.changes(), { [login_("invalid_credentials")]: 2 });
  } finally {
    await t.close();
  }
});

Deno.test("the login guard's block counts a blocked login and a guard block by its reason", async () => {
  const t = await meteredApp({ LOGIN_MAX_ATTEMPTS: "2", LOGIN_IP_MAX_ATTEMPTS: "3" });
  try {
    const user = await registerUser(t);
    const logins = await watch(t, LOGINS);
    for (let i = 0; i < 2; i++) {
      assert.equal((await attempt(t, user.email, "Wrong-Password-123!")).status, 401);
    }
    const blocked = await attempt(t, user.email, STRONG_PASSWORD);
    assert.equal(blocked.status, 429);
    assert.equal((await blocked.json()).code, "too_many_attempts");
    assert.deepEqual(await logins.changes(), {
      [login_("invalid_credentials")]: 2,
      [login_("blocked")]: 1,
      [block("pair")]: 1,
    });

    // Other accounts from the same address: the address's budget (3 failures) runs out.
    assert.equal((await attempt(t, "other@example.com", "Wrong-Password-123!")).status, 401);
    assert.equal((await attempt(t, "third@example.com", "Wrong-Password-123!")).status, 429);
    assert.deepEqual(await logins.changes(), {
      [login_("invalid_credentials")]: 1,
      [login_("blocked")]: 1,
      [block("ip")]: 1,
    });
  } finally {
    await t.close();
  }
});

Deno.test("a password re-entered while blocked is a guard block, not a login", async () => {
  const t = await meteredApp({ LOGIN_MAX_ATTEMPTS: "1" });
  try {
    const user = await registerUser(t);
    const tokens = await login(t, user.email);
    const logins = await watch(t, LOGINS);
    const reauthenticate = (password: string) =>
      request(t.app, "POST", "/api/v1/auth/reauthenticate", {
        body: { password },
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
    assert.equal((await reauthenticate("Wrong-Password-123!")).status, 401);
    assert.equal((await reauthenticate(STRONG_PASSWORD)).status, 429);
    assert.deepEqual(await logins.changes(), { [block("pair")]: 1 });
  } finally {
    await t.close();
  }
});

Deno.test("the path guard's block is a guard block by its reason", async () => {
  const t = await meteredApp({ SENSITIVE_PATH_MAX_HITS: "2" });
  try {
    const guard = await watch(t, ["citadel_guard_blocks_total"]);
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(t.app, "GET", "/.env", { ip: "198.51.100.9" });
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.equal(statuses.at(-1), 403, String(statuses));
    assert.deepEqual(await guard.changes(), { [block("sensitive_path")]: 1 });
  } finally {
    await t.close();
  }
});

Deno.test("429s are counted by limiter: auth on the sign-in routes, api on the protected ones", async () => {
  const t = await meteredApp({
    RATE_LIMIT_AUTH_PER_MINUTE: "3",
    RATE_LIMIT_API_PER_MINUTE: "2",
  });
  try {
    const user = await registerUser(t);
    const tokens = await login(t, user.email);
    const limited = await watch(t, ["citadel_rate_limited_total"]);
    assert.equal((await attempt(t, user.email, "Wrong-Password-123!")).status, 401);
    for (let i = 0; i < 2; i++) {
      assert.equal((await attempt(t, user.email, STRONG_PASSWORD)).status, 429);
    }
    const me = () =>
      request(t.app, "GET", "/api/v1/me", {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
    assert.deepEqual([(await me()).status, (await me()).status, (await me()).status], [
      200,
      200,
      429,
    ]);
    assert.deepEqual(await limited.changes(), {
      'citadel_rate_limited_total{limiter="auth"}': 2,
      'citadel_rate_limited_total{limiter="api"}': 1,
    });
  } finally {
    await t.close();
  }
});

Deno.test("a refresh token presented again after its grace window counts one reuse", async () => {
  const clock = new ManualClock(Date.now());
  const t = await meteredApp({}, { clock });
  try {
    const user = await registerUser(t);
    const tokens = await login(t, user.email);
    const reuse = await watch(t, ["citadel_refresh_reuse_total"]);
    const refresh = () =>
      request(t.app, "POST", "/api/v1/auth/refresh", {
        body: { refresh_token: tokens.refresh_token },
      });
    assert.equal((await refresh()).status, 200);
    clock.advance(5_000);
    assert.equal((await refresh()).status, 200, "a retry within the grace window");
    assert.deepEqual(await reuse.changes(), {});
    clock.advance(60_000);
    const replayed = await refresh();
    assert.equal(replayed.status, 401);
    assert.equal((await replayed.json()).code, "refresh_token_reused");
    assert.deepEqual(await reuse.changes(), { "citadel_refresh_reuse_total": 1 });
  } finally {
    await t.close();
  }
});

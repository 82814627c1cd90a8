/**
 * The password a signed-in user re-enters (`/me/password`, `/me/email`) is checked under the
 * login guard: a stolen access token cannot be used to guess it. Wrong ones count with the
 * account's login failures; past the limit even the right one is 429.
 */
import assert from "node:assert/strict";
import { authed, login, registerUser, STRONG_PASSWORD } from "../support/auth_support.ts";
import { auditRows } from "../support/mfa_support.ts";
import { buildTestApp, request } from "../support/helpers.ts";

Deno.test("wrong current passwords on /me/password and /me/email count as failed logins; past LOGIN_MAX_ATTEMPTS even the right one is 429", async () => {
  const t = await buildTestApp({ LOGIN_MAX_ATTEMPTS: "5" });
  try {
    const user = await registerUser(t);
    const { access_token } = await login(t, user.email);
    const wrong = (i: number) =>
      i % 2 === 0
        ? authed(t, "POST", "/api/v1/me/password", access_token, {
          current_password: `Wrong-Guess-${i}-Password!`,
          new_password: "Granite-Harbor-Violet-93!",
        })
        : authed(t, "POST", "/api/v1/me/email", access_token, {
          new_email: "new@example.com",
          password: `Wrong-Guess-${i}-Password!`,
        });
    for (let i = 0; i < 5; i++) {
      const res = await wrong(i);
      assert.equal(res.status, 422, `guess ${i}`);
      await res.body?.cancel();
    }
    const blocked = await authed(t, "POST", "/api/v1/me/password", access_token, {
      current_password: STRONG_PASSWORD,
      new_password: "Granite-Harbor-Violet-93!",
    });
    assert.equal(blocked.status, 429);
    assert.equal((await blocked.json()).code, "too_many_attempts");
    assert.ok(Number(blocked.headers.get("retry-after")) > 0);
    const failures = await auditRows(t, "auth.login.failed");
    assert.deepEqual(
      failures.map((e) => e.details.method).sort(),
      ["email_change", "email_change", "password_change", "password_change", "password_change"],
    );
    // The password is unchanged: the old one still signs in from another address.
    const res = await request(t.app, "POST", "/api/v1/auth/login", {
      body: { email: user.email, password: STRONG_PASSWORD },
      ip: "198.51.100.20",
    });
    assert.equal(res.status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("a right current password clears the address's failures, as a login does", async () => {
  const t = await buildTestApp({ LOGIN_MAX_ATTEMPTS: "5" });
  try {
    const user = await registerUser(t);
    const { access_token } = await login(t, user.email);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) {
        const res = await authed(t, "POST", "/api/v1/me/email", access_token, {
          new_email: "new@example.com",
          password: "Wrong-Guess-Password!",
        });
        assert.equal(res.status, 422);
        await res.body?.cancel();
      }
      const right = await authed(t, "POST", "/api/v1/me/email", access_token, {
        new_email: `new-${round}@example.com`,
        password: STRONG_PASSWORD,
      });
      assert.equal(right.status, 202, `round ${round}: ${await right.clone().text()}`);
      await right.body?.cancel();
    }
  } finally {
    await t.close();
  }
});

/**
 * Password reset by email (issue 18): the request answers the same 202 whether or not an
 * account uses the address, and queues a link only for an existing one, at most one a minute
 * and five an hour per address; the reset (30 min, single use, only the newest link) sets a
 * password that passes the policy, ends every session, clears the login guard for the
 * account and tells the address.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import {
  authed,
  login,
  registerUser,
  STRONG_PASSWORD,
  uniqueEmail,
} from "../support/auth_support.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import {
  assertAccepted,
  authPost,
  latestToken,
  onlyMessage,
  outbox,
  tokenFrom,
  userRow,
} from "../support/email_support.ts";
import { assertProblem, auditRows } from "../support/mfa_support.ts";

const NEW_PASSWORD = "Velvet-Harbor-Compass-58?";
const WRONG_PASSWORD = "Wrong-Password-123!";

function loginRes(t: TestApp, email: string, password: string, ip?: string) {
  return authPost(t, "login", { email, password }, ip);
}

async function askReset(t: TestApp, email: string, ip?: string): Promise<string> {
  await assertAccepted(await authPost(t, "password-reset/request", { email }, ip));
  return await latestToken(t, email, "password_reset");
}

Deno.test("password-reset/request answers 202 with identical bodies for an existing and an unknown address, and queues a message only for the existing one", async () => {
  const t = await buildTestApp({ EMAIL_LINK_BASE_URL: "https://app.example.com/account" });
  try {
    const { email } = await registerUser(t);
    const unknown = uniqueEmail("nobody");
    const known = await authPost(t, "password-reset/request", { email });
    const none = await authPost(t, "password-reset/request", { email: unknown });
    assert.equal(await assertAccepted(known), await assertAccepted(none));
    assert.equal(known.headers.get("content-type"), none.headers.get("content-type"));

    const message = await onlyMessage(t, email, "password_reset");
    assert.equal(message.subject, "Reset your password");
    const token = tokenFrom(message);
    assert.ok(
      message.text_body.includes(`https://app.example.com/account/reset-password#token=${token}`),
    );
    assert.match(message.text_body, /127\.0\.0\.1/, "says from which address it was asked");
    assert.deepEqual(await outbox(t, { to: unknown }), []);
    assert.deepEqual(await outbox(t, { kind: "password_reset" }), [message]);
  } finally {
    await t.close();
  }
});

Deno.test("a reset answers 204: the old password stops working, the new one works, every session is revoked, user.password_reset is audited and password_changed queued", async () => {
  const t = await buildTestApp();
  try {
    const user = await registerUser(t);
    const { email } = user;
    const first = await login(t, email);
    const second = await login(t, email, STRONG_PASSWORD, "198.51.100.20");
    const token = await askReset(t, email, "192.0.2.44");

    const res = await authPost(t, "password-reset", { token, new_password: NEW_PASSWORD });
    assert.equal(res.status, 204, await res.clone().text());
    assert.equal(await res.text(), "");

    await assertProblem(await loginRes(t, email, STRONG_PASSWORD), 401, "invalid_credentials");
    assert.equal((await login(t, email, NEW_PASSWORD)).user.id, user.id);

    // Access tokens and refresh tokens of both earlier sessions are dead.
    for (const session of [first, second]) {
      const me = await authed(t, "GET", "/api/v1/me", session.access_token);
      assert.equal(me.status, 401);
      await me.body?.cancel();
      const refreshed = await request(t.app, "POST", "/api/v1/auth/refresh", {
        body: { refresh_token: session.refresh_token },
      });
      assert.equal(refreshed.status, 401, await refreshed.clone().text());
      await refreshed.body?.cancel();
    }
    const revoked = await t.deps.db.selectFrom("sessions").select(["id", "revoked_at"])
      .where("user_id", "=", user.id).where("revoked_at", "is not", null).execute();
    assert.equal(revoked.length, 2);

    const [event] = await auditRows(t, "user.password_reset");
    assert.equal(event.target_id, user.id);
    assert.equal(event.outcome, "success");
    assert.equal(event.details.sessions_revoked, 2);
    assert.equal((await auditRows(t, "user.password_reset")).length, 1);

    const notice = await onlyMessage(t, email, "password_changed");
    assert.equal(notice.subject, "Your password was changed");
    assert.doesNotMatch(notice.text_body, /#token=/);
    assert.match(notice.text_body, /If this was not you/);
    // The link reached the address: it counts as verified.
    assert.notEqual((await userRow(t, email)).email_verified_at, null);
  } finally {
    await t.close();
  }
});

Deno.test("a weak new password is 422 with field errors and leaves the link usable", async () => {
  const t = await buildTestApp();
  try {
    const { email, id } = await registerUser(t);
    const token = await askReset(t, email);
    const before = (await userRow(t, email)).password_hash;
    for (const weak of ["password", "short", email]) {
      const res = await authPost(t, "password-reset", { token, new_password: weak });
      const problem = await assertProblem(res, 422, "validation_failed");
      assert.ok(Array.isArray(problem.errors) && problem.errors.length > 0, weak);
      for (const e of problem.errors) assert.equal(e.field, "new_password", JSON.stringify(e));
    }
    assert.equal((await userRow(t, email)).password_hash, before);
    assert.deepEqual(await auditRows(t, "user.password_reset"), []);

    const ok = await authPost(t, "password-reset", { token, new_password: NEW_PASSWORD });
    assert.equal(ok.status, 204, await ok.clone().text());
    assert.equal((await login(t, email, NEW_PASSWORD)).user.id, id);
  } finally {
    await t.close();
  }
});

Deno.test("a reset link works once: the second use is 400 invalid_token and changes nothing", async () => {
  const t = await buildTestApp();
  try {
    const { email, id } = await registerUser(t);
    const token = await askReset(t, email);
    assert.equal(
      (await authPost(t, "password-reset", { token, new_password: NEW_PASSWORD })).status,
      204,
    );
    const again = await authPost(t, "password-reset", {
      token,
      new_password: "Another-Strong-Pass-42!",
    });
    await assertProblem(again, 400, "invalid_token");
    assert.equal((await login(t, email, NEW_PASSWORD)).user.id, id);
    assert.equal((await auditRows(t, "user.password_reset")).length, 1);
    for (const token of ["garbage", "A".repeat(43)]) {
      await assertProblem(
        await authPost(t, "password-reset", { token, new_password: NEW_PASSWORD }),
        400,
        "invalid_token",
      );
    }
  } finally {
    await t.close();
  }
});

Deno.test("only the newest reset link works", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const { email } = await registerUser(t);
    const older = await askReset(t, email);
    clock.advance(61_000);
    const newer = await askReset(t, email);
    assert.notEqual(older, newer);
    await assertProblem(
      await authPost(t, "password-reset", { token: older, new_password: NEW_PASSWORD }),
      400,
      "invalid_token",
    );
    assert.equal(
      (await authPost(t, "password-reset", { token: newer, new_password: NEW_PASSWORD })).status,
      204,
    );
  } finally {
    await t.close();
  }
});

Deno.test("a reset link expires after 30 minutes", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const { email, id } = await registerUser(t);
    const token = await askReset(t, email);
    clock.advance(30 * 60_000 + 1_000);
    await assertProblem(
      await authPost(t, "password-reset", { token, new_password: NEW_PASSWORD }),
      400,
      "invalid_token",
    );
    assert.equal((await login(t, email)).user.id, id, "the old password still works");
  } finally {
    await t.close();
  }
});

Deno.test("after the login guard blocks an address (429 too_many_attempts), a reset from it lets the owner sign in at once with the new password", async () => {
  const t = await buildTestApp();
  try {
    const { email } = await registerUser(t);
    const ip = "203.0.113.66";
    for (let i = 0; i < 5; i++) {
      await assertProblem(await loginRes(t, email, WRONG_PASSWORD, ip), 401, "invalid_credentials");
    }
    const blocked = await loginRes(t, email, STRONG_PASSWORD, ip);
    await assertProblem(blocked, 429, "too_many_attempts");
    assert.ok(Number(blocked.headers.get("retry-after")) > 0);

    const token = await askReset(t, email, ip);
    const reset = await authPost(t, "password-reset", { token, new_password: NEW_PASSWORD }, ip);
    assert.equal(reset.status, 204, await reset.clone().text());

    const res = await loginRes(t, email, NEW_PASSWORD, ip);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).user.email, email);
  } finally {
    await t.close();
  }
});

Deno.test("requests are limited per address: two within 60 s queue one message, seven a minute apart queue five, and every answer is the same 202", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const answers: string[] = [];
    const ask = async (email: string) =>
      answers.push(await assertAccepted(await authPost(t, "password-reset/request", { email })));

    const quick = (await registerUser(t)).email;
    await ask(quick);
    clock.advance(30_000);
    await ask(quick);
    assert.equal((await outbox(t, { to: quick, kind: "password_reset" })).length, 1);

    const steady = (await registerUser(t)).email;
    for (let i = 0; i < 7; i++) {
      await ask(steady);
      clock.advance(61_000);
    }
    const sent = await outbox(t, { to: steady, kind: "password_reset" });
    assert.equal(sent.length, 5, "at most five an hour");
    assert.equal(answers.length, 9);
    assert.equal(new Set(answers).size, 1, "one answer for all");

    // Past the hour the address gets a link again, and the newest link is the one that works.
    clock.advance(3_600_000);
    await ask(steady);
    const later = await outbox(t, { to: steady, kind: "password_reset" });
    assert.equal(later.length, 6);
    const newest = tokenFrom(later[later.length - 1]);
    assert.equal(
      (await authPost(t, "password-reset", { token: newest, new_password: NEW_PASSWORD })).status,
      204,
    );
  } finally {
    await t.close();
  }
});

/**
 * Email verification (issue 18): registration queues a verification message, the link's
 * token verifies the address once within 24 hours, only the newest link works, and
 * EMAIL_VERIFICATION decides what an unverified account may do: `off` sends nothing,
 * `optional` lets it sign in, `required` answers a right password with 403
 * `email_not_verified` and registers without telling which addresses have accounts.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { authed, login, STRONG_PASSWORD, uniqueEmail } from "../support/auth_support.ts";
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

const WRONG_PASSWORD = "Wrong-Password-123!";
/** EMAIL_LINK_BASE_URL, set so the links are known. */
const LINK_BASE = "https://auth.example.com/account";

function register(t: TestApp, email: string, password = STRONG_PASSWORD) {
  return request(t.app, "POST", "/api/v1/auth/register", { body: { email, password } });
}

async function registered(t: TestApp, email = uniqueEmail("verify")) {
  const res = await register(t, email);
  assert.equal(res.status, 201, await res.clone().text());
  const { user } = await res.json();
  return { email, user };
}

Deno.test("registration (optional mode) answers 201 with email_verified false and queues one verification message with a 43-character token in the link fragment", async () => {
  const t = await buildTestApp({ EMAIL_LINK_BASE_URL: LINK_BASE });
  try {
    const email = uniqueEmail("verify");
    const res = await register(t, email);
    assert.equal(res.status, 201);
    const { user } = await res.json();
    assert.equal(user.email, email);
    assert.equal(user.email_verified, false);

    const rows = await outbox(t);
    assert.deepEqual(rows.map((r) => [r.kind, r.recipient]), [["verify_email", email]]);
    const [message] = rows;
    assert.equal(message.subject, "Confirm your email address");
    const token = tokenFrom(message);
    assert.ok(
      message.text_body.includes(`${LINK_BASE}/verify-email#token=${token}`),
      message.text_body,
    );
    assert.equal((await userRow(t, email)).email_verified_at, null);
  } finally {
    await t.close();
  }
});

Deno.test("verify-email with the message's token answers 200 {user} verified, audits user.email_verified, and the same token again is 400 invalid_token", async () => {
  const t = await buildTestApp();
  try {
    const { email, user } = await registered(t);
    const token = await latestToken(t, email, "verify_email");

    const res = await authPost(t, "verify-email", { token });
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.deepEqual(Object.keys(body), ["user"]);
    assert.equal(body.user.id, user.id);
    assert.equal(body.user.email, email);
    assert.equal(body.user.email_verified, true);
    assert.equal(typeof body.user.password_hash, "undefined");
    assert.equal((await userRow(t, email)).email_verified_at, t.clock.now());

    const events = await auditRows(t, "user.email_verified");
    assert.equal(events.length, 1);
    assert.equal(events[0].target_id, user.id);
    assert.equal(events[0].outcome, "success");
    assert.deepEqual(events[0].details, { method: "link" });

    // GET /me agrees.
    const session = await login(t, email);
    const me = await (await authed(t, "GET", "/api/v1/me", session.access_token)).json();
    assert.equal(me.user.email_verified, true);

    await assertProblem(await authPost(t, "verify-email", { token }), 400, "invalid_token");
    assert.equal((await auditRows(t, "user.email_verified")).length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("verify-email refuses unknown, malformed and other-purpose tokens with 400 invalid_token and verifies nothing", async () => {
  const t = await buildTestApp();
  try {
    const { email } = await registered(t);
    const real = await latestToken(t, email, "verify_email");
    const flipped = real.slice(0, -1) + (real.endsWith("A") ? "B" : "A");
    // A password-reset token of the same account is no verification token.
    await assertAccepted(await authPost(t, "password-reset/request", { email }));
    const resetToken = await latestToken(t, email, "password_reset");
    for (const token of [flipped, "A".repeat(43), "garbage", `${real}x`, resetToken]) {
      await assertProblem(await authPost(t, "verify-email", { token }), 400, "invalid_token");
    }
    assert.equal((await userRow(t, email)).email_verified_at, null);
    assert.deepEqual(await auditRows(t, "user.email_verified"), []);
    // The real token still works after all that.
    assert.equal((await authPost(t, "verify-email", { token: real })).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("a verification link expires after 24 hours: 400 invalid_token one second past it", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const { email } = await registered(t);
    const token = await latestToken(t, email, "verify_email");
    clock.advance(24 * 3_600_000 + 1_000);
    await assertProblem(await authPost(t, "verify-email", { token }), 400, "invalid_token");
    assert.equal((await userRow(t, email)).email_verified_at, null);
  } finally {
    await t.close();
  }
});

Deno.test("a verification link for an address the account no longer has is refused", async () => {
  const t = await buildTestApp();
  try {
    const { email, user } = await registered(t);
    const oldToken = await latestToken(t, email, "verify_email");
    // The owner moves the account to another address (which that confirmation verifies).
    const session = await login(t, email);
    const newEmail = uniqueEmail("moved");
    const asked = await authed(t, "POST", "/api/v1/me/email", session.access_token, {
      new_email: newEmail,
      password: STRONG_PASSWORD,
    });
    assert.equal(asked.status, 202, await asked.clone().text());
    const confirm = await latestToken(t, newEmail, "email_change_confirm");
    assert.equal((await authPost(t, "confirm-email-change", { token: confirm })).status, 200);
    // Unverify it to see that the old link cannot verify the new address.
    await t.deps.db.updateTable("users").set({ email_verified_at: null })
      .where("id", "=", user.id).execute();

    await assertProblem(
      await authPost(t, "verify-email", { token: oldToken }),
      400,
      "invalid_token",
    );
    assert.equal((await userRow(t, newEmail)).email_verified_at, null);
    assert.deepEqual(await auditRows(t, "user.email_verified"), []);
  } finally {
    await t.close();
  }
});

Deno.test("verify-email/request for an unverified account queues a new message (202) and only the newest link works", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({}, { clock });
  try {
    const { email } = await registered(t);
    const first = await latestToken(t, email, "verify_email");
    await assertAccepted(await authPost(t, "verify-email/request", { email }));
    const rows = await outbox(t, { to: email, kind: "verify_email" });
    assert.equal(rows.length, 2, "a second verification message");
    const second = tokenFrom(rows[1]);
    assert.notEqual(second, first);

    await assertProblem(await authPost(t, "verify-email", { token: first }), 400, "invalid_token");
    const ok = await authPost(t, "verify-email", { token: second });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).user.email_verified, true);

    // A verified account gets nothing more, with the same answer.
    clock.advance(61_000);
    await assertAccepted(await authPost(t, "verify-email/request", { email }));
    assert.equal((await outbox(t, { to: email, kind: "verify_email" })).length, 2);
  } finally {
    await t.close();
  }
});

Deno.test("verify-email/request answers the same 202 for an unknown address and queues nothing", async () => {
  const t = await buildTestApp();
  try {
    const { email } = await registered(t);
    const known = await authPost(t, "verify-email/request", { email });
    const unknown = await authPost(t, "verify-email/request", { email: uniqueEmail("nobody") });
    assert.equal(await assertAccepted(known), await assertAccepted(unknown));
    const rows = await outbox(t, { kind: "verify_email" });
    assert.deepEqual(rows.map((r) => r.recipient), [email, email]);
  } finally {
    await t.close();
  }
});

Deno.test("EMAIL_VERIFICATION=off queues nothing at registration and sends no link on request", async () => {
  const t = await buildTestApp({ EMAIL_VERIFICATION: "off" });
  try {
    const { email, user } = await registered(t);
    assert.equal(user.email_verified, false);
    assert.deepEqual(await outbox(t), []);
    await assertAccepted(await authPost(t, "verify-email/request", { email }));
    assert.deepEqual(await outbox(t), []);
    const tokens = await t.deps.db.selectFrom("email_tokens").selectAll().execute();
    assert.deepEqual(tokens, []);
    // An unverified account signs in as before.
    assert.equal((await login(t, email)).user.id, user.id);
  } finally {
    await t.close();
  }
});

Deno.test("EMAIL_VERIFICATION=optional: an unverified account signs in", async () => {
  const t = await buildTestApp({ EMAIL_VERIFICATION: "optional" });
  try {
    const { email, user } = await registered(t);
    const session = await login(t, email);
    assert.equal(session.user.id, user.id);
    assert.equal((session.user as { email_verified?: boolean }).email_verified, false);
  } finally {
    await t.close();
  }
});

Deno.test("EMAIL_VERIFICATION=required: a right password of an unverified account is 403 email_not_verified, a wrong one 401 invalid_credentials, and after verifying 200", async () => {
  const t = await buildTestApp({ EMAIL_VERIFICATION: "required" });
  try {
    const email = uniqueEmail("required");
    const accepted = await register(t, email);
    assert.equal(accepted.status, 202);
    await accepted.body?.cancel();
    const user = await userRow(t, email);

    const right = await authPost(t, "login", { email, password: STRONG_PASSWORD });
    const refused = await assertProblem(right, 403, "email_not_verified");
    assert.match(refused.detail, /verify-email\/request/);
    assert.equal(right.headers.get("set-cookie"), null, "no device cookie, no refresh cookie");
    const wrong = await authPost(t, "login", { email, password: WRONG_PASSWORD });
    await assertProblem(wrong, 401, "invalid_credentials");

    const failures = await auditRows(t, "auth.login.failed");
    assert.deepEqual(failures.map((e) => [e.outcome, e.details.reason]), [
      ["denied", "email_not_verified"],
      ["failure", "wrong_password"],
    ]);
    for (const e of failures) assert.equal(e.target_id, user.id);
    const sessions = await t.deps.db.selectFrom("sessions").select("id")
      .where("user_id", "=", user.id).execute();
    assert.deepEqual(sessions, [], "no session for an unverified account");

    const token = await latestToken(t, email, "verify_email");
    assert.equal((await authPost(t, "verify-email", { token })).status, 200);
    const session = await login(t, email);
    assert.equal(session.user.id, user.id);
  } finally {
    await t.close();
  }
});

Deno.test("EMAIL_VERIFICATION=required: register answers 202 with byte-identical bodies for a new and an existing address; the new one gets verify_email, the existing owner registration_attempt", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({ EMAIL_VERIFICATION: "required" }, { clock });
  try {
    const existing = uniqueEmail("owner");
    const first = await register(t, existing);
    assert.equal(first.status, 202);
    await first.body?.cancel();
    const owner = await userRow(t, existing);
    // The first registration counted against the address's limit (one message a minute).
    clock.advance(61_000);

    const fresh = uniqueEmail("fresh");
    const forNew = await register(t, fresh);
    const forExisting = await register(t, existing, "Another-Strong-Pass-42!");
    const newText = await forNew.text();
    const existingText = await forExisting.text();
    assert.equal(forNew.status, 202);
    assert.equal(forExisting.status, 202);
    assert.equal(newText, existingText, "byte-identical bodies");
    assert.deepEqual(Object.keys(JSON.parse(newText)), ["message"]);
    assert.equal(
      forNew.headers.get("content-type"),
      forExisting.headers.get("content-type"),
    );

    await onlyMessage(t, fresh, "verify_email");
    const attempt = await onlyMessage(t, existing, "registration_attempt");
    assert.equal(attempt.subject, "Someone tried to register with your address");
    // The account was never confirmed: the notice offers its owner the password (see below).
    assert.match(attempt.text_body, /\/reset-password#token=[A-Za-z0-9_-]{43}\s/);
    // The existing account is untouched: same id, same password.
    const after = await userRow(t, existing);
    assert.equal(after.id, owner.id);
    assert.equal(after.password_hash, owner.password_hash);
    const registeredEvents = await auditRows(t, "user.registered");
    assert.equal(registeredEvents.length, 2, "the existing address registered nothing");

    // Another try within the minute: the same answer, no second notice (per-address limit).
    const again = await register(t, existing, "Another-Strong-Pass-42!");
    assert.equal(again.status, 202);
    assert.equal(await again.text(), existingText);
    assert.equal((await outbox(t, { to: existing, kind: "registration_attempt" })).length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("EMAIL_VERIFICATION=optional keeps 201 for a new address and 409 email_taken for an existing one", async () => {
  const t = await buildTestApp({ EMAIL_VERIFICATION: "optional" });
  try {
    const { email } = await registered(t);
    const again = await register(t, email, "Another-Strong-Pass-42!");
    await assertProblem(again, 409, "email_taken");
    assert.deepEqual(await outbox(t, { kind: "registration_attempt" }), []);
    assert.equal((await outbox(t, { to: email })).length, 1, "only the first verification");
  } finally {
    await t.close();
  }
});

Deno.test("EMAIL_VERIFICATION=required: a registration on an address whose account was never confirmed mails its owner a link to choose the password, which makes the account theirs", async () => {
  const clock = new ManualClock(Date.now());
  const t = await buildTestApp({ EMAIL_VERIFICATION: "required" }, { clock });
  try {
    const email = uniqueEmail("victim");
    // Someone else registers the address first, with their password.
    const squat = await authPost(t, "register", { email, password: "Squatters-Own-Pass-77!" });
    assert.equal(squat.status, 202);
    clock.advance(61_000);
    // The owner registers; their inbox gets the attempt notice with a link.
    const owner = await authPost(t, "register", { email, password: STRONG_PASSWORD });
    assert.equal(owner.status, 202);
    const token = await latestToken(t, email, "registration_attempt");
    const chosen = await authPost(t, "password-reset", { token, new_password: STRONG_PASSWORD });
    assert.equal(chosen.status, 204, await chosen.clone().text());
    const login = await authPost(t, "login", { email, password: STRONG_PASSWORD });
    assert.equal(login.status, 200, "the owner's password, the address confirmed");
    const squatter = await authPost(t, "login", { email, password: "Squatters-Own-Pass-77!" });
    assert.equal(squatter.status, 401);
    // Now confirmed: a further attempt only tells the owner, with no link.
    clock.advance(61_000);
    assert.equal(
      (await authPost(t, "register", { email, password: "Third-Try-Pass-55!" })).status,
      202,
    );
    const notices = await outbox(t, { to: email, kind: "registration_attempt" });
    assert.equal(notices.length, 2);
    assert.doesNotMatch(notices[1].text_body, /#token=/);
  } finally {
    await t.close();
  }
});

/**
 * Changing the email address (issue 18): POST /api/v1/me/email with the password and a fresh
 * sign-in answers 202 and sends a confirmation to the new address and a notice to the old
 * one; the confirmation link moves the account (verified) and the old address hears of it
 * again. An address in use is 409 `email_taken`, at the request and at the confirmation.
 * The step-up rule is the one of /me/password.
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
import { authPost, latestToken, onlyMessage, outbox, userRow } from "../support/email_support.ts";
import { assertProblem, auditRows, midStepMs } from "../support/mfa_support.ts";
import { freshToken, staleSession } from "../support/step_up_support.ts";

const WRONG_PASSWORD = "Wrong-Password-123!";
const ACCEPTED = { message: "Confirm the change with the link sent to the new address" };

function changeEmail(t: TestApp, bearer: string, body: Record<string, unknown>) {
  return authed(t, "POST", "/api/v1/me/email", bearer, body);
}

/** A registered, signed-in user, with the verification message of registration dropped. */
async function signedIn(t: TestApp) {
  const user = await registerUser(t, uniqueEmail("owner"));
  const tokens = await login(t, user.email);
  await t.deps.db.deleteFrom("email_outbox").execute();
  return { ...user, tokens };
}

Deno.test("POST /me/email with the password and a fresh session answers 202, queues a confirmation to the new address and a notice to the old one, and changes nothing yet", async () => {
  const t = await buildTestApp();
  try {
    const owner = await signedIn(t);
    const newEmail = uniqueEmail("new");
    const res = await changeEmail(t, owner.tokens.access_token, {
      new_email: newEmail,
      password: STRONG_PASSWORD,
    });
    assert.equal(res.status, 202, await res.clone().text());
    assert.deepEqual(await res.json(), ACCEPTED);

    const rows = await outbox(t);
    assert.deepEqual(
      rows.map((r) => [r.kind, r.recipient]).sort(),
      [
        ["email_change_confirm", newEmail],
        ["email_change_notice", owner.email],
      ].sort(),
    );
    const confirm = rows.find((r) => r.kind === "email_change_confirm")!;
    assert.equal(confirm.subject, "Confirm your new email address");
    assert.match(confirm.text_body, /\/confirm-email-change#token=[A-Za-z0-9_-]{43}\s/);
    const notice = rows.find((r) => r.kind === "email_change_notice")!;
    assert.ok(notice.text_body.includes(newEmail), "the notice names the new address");
    assert.doesNotMatch(notice.text_body, /#token=/, "the old address gets no link");

    const [event] = await auditRows(t, "user.email_change_requested");
    assert.equal(event.target_id, owner.id);
    assert.equal((await userRow(t, owner.email)).id, owner.id, "still the old address");
  } finally {
    await t.close();
  }
});

Deno.test("confirm-email-change answers 200 {user} with the new address verified; login works with the new address only, and the old address gets a security notice", async () => {
  const t = await buildTestApp();
  try {
    const owner = await signedIn(t);
    const newEmail = uniqueEmail("new");
    const asked = await changeEmail(t, owner.tokens.access_token, {
      new_email: newEmail.toUpperCase(),
      password: STRONG_PASSWORD,
    });
    assert.equal(asked.status, 202);
    await asked.body?.cancel();
    const token = await latestToken(t, newEmail, "email_change_confirm");

    const res = await authPost(t, "confirm-email-change", { token });
    assert.equal(res.status, 200, await res.clone().text());
    const { user } = await res.json();
    assert.equal(user.id, owner.id);
    assert.equal(user.email, newEmail);
    assert.equal(user.email_verified, true);
    const row = await userRow(t, newEmail);
    assert.equal(row.id, owner.id);
    assert.notEqual(row.email_verified_at, null);

    assert.equal((await login(t, newEmail)).user.id, owner.id);
    await assertProblem(
      await authPost(t, "login", { email: owner.email, password: STRONG_PASSWORD }),
      401,
      "invalid_credentials",
    );
    const me = await (await authed(t, "GET", "/api/v1/me", owner.tokens.access_token)).json();
    assert.equal(me.user.email, newEmail, "GET /me shows the new address");

    const notice = await onlyMessage(t, owner.email, "security_notice");
    assert.ok(notice.subject.startsWith("Security notice: "), notice.subject);
    assert.ok(notice.text_body.includes(newEmail), notice.text_body);
    const [event] = await auditRows(t, "user.email_changed");
    assert.equal(event.target_id, owner.id);

    // The link works once.
    await assertProblem(
      await authPost(t, "confirm-email-change", { token }),
      400,
      "invalid_token",
    );
  } finally {
    await t.close();
  }
});

Deno.test("a wrong password is 422 on the password field and queues nothing", async () => {
  const t = await buildTestApp();
  try {
    const owner = await signedIn(t);
    const res = await changeEmail(t, owner.tokens.access_token, {
      new_email: uniqueEmail("new"),
      password: WRONG_PASSWORD,
    });
    const problem = await assertProblem(res, 422, "validation_failed");
    assert.deepEqual(problem.errors.map((e: { field: string }) => e.field), ["password"]);
    assert.deepEqual(await outbox(t), []);
    assert.deepEqual(await auditRows(t, "user.email_change_requested"), []);
  } finally {
    await t.close();
  }
});

Deno.test("an address already in use is 409 email_taken (optional mode) and queues nothing", async () => {
  const t = await buildTestApp({ EMAIL_VERIFICATION: "optional" });
  try {
    const other = await registerUser(t, uniqueEmail("other"));
    const owner = await signedIn(t);
    const res = await changeEmail(t, owner.tokens.access_token, {
      new_email: other.email,
      password: STRONG_PASSWORD,
    });
    await assertProblem(res, 409, "email_taken");
    assert.deepEqual(await outbox(t), []);
    assert.equal((await userRow(t, owner.email)).id, owner.id);
  } finally {
    await t.close();
  }
});

Deno.test("an address taken between the request and the confirmation is 409 email_taken at the confirmation, and the account keeps its address", async () => {
  const t = await buildTestApp();
  try {
    const owner = await signedIn(t);
    const newEmail = uniqueEmail("contested");
    const asked = await changeEmail(t, owner.tokens.access_token, {
      new_email: newEmail,
      password: STRONG_PASSWORD,
    });
    assert.equal(asked.status, 202);
    await asked.body?.cancel();
    const token = await latestToken(t, newEmail, "email_change_confirm");
    const squatter = await registerUser(t, newEmail);

    await assertProblem(
      await authPost(t, "confirm-email-change", { token }),
      409,
      "email_taken",
    );
    assert.equal((await userRow(t, owner.email)).id, owner.id);
    assert.equal((await userRow(t, newEmail)).id, squatter.id);
    assert.deepEqual(await auditRows(t, "user.email_changed"), []);
    assert.deepEqual(await outbox(t, { to: owner.email, kind: "security_notice" }), []);
  } finally {
    await t.close();
  }
});

Deno.test("a stale session is refused by /me/email exactly as by /me/password (403 reauthentication_required), and passes after reauthenticating", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const owner = await signedIn(t);
    const stale = await staleSession(t, clock, owner.tokens);
    const newEmail = uniqueEmail("new");

    const email = await changeEmail(t, stale.access_token, {
      new_email: newEmail,
      password: STRONG_PASSWORD,
    });
    const password = await authed(t, "POST", "/api/v1/me/password", stale.access_token, {
      current_password: STRONG_PASSWORD,
      new_password: "Another-Strong-Pass-42!",
    });
    const emailProblem = await assertProblem(email, 403, "reauthentication_required");
    const passwordProblem = await assertProblem(password, 403, "reauthentication_required");
    assert.deepEqual(
      { ...emailProblem, request_id: undefined },
      { ...passwordProblem, request_id: undefined },
    );
    assert.deepEqual(await outbox(t), []);

    const fresh = await freshToken(t, stale.access_token);
    const res = await changeEmail(t, fresh, { new_email: newEmail, password: STRONG_PASSWORD });
    assert.equal(res.status, 202, await res.clone().text());
    await res.body?.cancel();
    await onlyMessage(t, newEmail, "email_change_confirm");
  } finally {
    await t.close();
  }
});

Deno.test("an API key cannot change the email (403 session_required even with me:write and the password; account recovery moves with the address), while /me/password keeps its rules", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const owner = await signedIn(t);
    const createKey = async (scopes: string[]) => {
      const res = await authed(t, "POST", "/api/v1/api-keys", owner.tokens.access_token, {
        name: scopes.join(" "),
        scopes,
      });
      assert.equal(res.status, 201, await res.clone().text());
      return (await res.json()).key as string;
    };
    const viaKey = (key: string, path: string, body: unknown) =>
      request(t.app, "POST", path, { body, headers: { "x-api-key": key } });
    const newEmail = uniqueEmail("new");
    const emailBody = { new_email: newEmail, password: STRONG_PASSWORD };
    const passwordBody = {
      current_password: STRONG_PASSWORD,
      new_password: "Another-Strong-Pass-42!",
    };

    const readOnly = await createKey(["me:read"]);
    await assertProblem(
      await viaKey(readOnly, "/api/v1/me/email", emailBody),
      403,
      "session_required",
    );
    await assertProblem(
      await viaKey(readOnly, "/api/v1/me/password", passwordBody),
      403,
      "insufficient_scope",
    );
    assert.deepEqual(await outbox(t, { kind: "email_change_confirm" }), []);

    const writer = await createKey(["me:read", "me:write"]);
    await assertProblem(
      await viaKey(writer, "/api/v1/me/email", emailBody),
      403,
      "session_required",
    );
    assert.deepEqual(await outbox(t, { kind: "email_change_confirm" }), [], "nothing queued");
    // Keys are service credentials: step-up does not apply to them (issue 17).
    const password = await viaKey(writer, "/api/v1/me/password", passwordBody);
    assert.equal(password.status, 204, await password.clone().text());
  } finally {
    await t.close();
  }
});

Deno.test("with EMAIL_VERIFICATION=required an address in use answers the same 202 as a free one, and the caller's own inbox gets the same notice: nothing tells them the address is taken", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({ EMAIL_VERIFICATION: "required" }, { clock });
  try {
    const verifiedUser = async (prefix: string) => {
      const email = uniqueEmail(prefix);
      const res = await request(t.app, "POST", "/api/v1/auth/register", {
        body: { email, password: STRONG_PASSWORD },
      });
      assert.equal(res.status, 202);
      await res.body?.cancel();
      const token = await latestToken(t, email, "verify_email");
      assert.equal((await authPost(t, "verify-email", { token })).status, 200);
      return email;
    };
    const other = await verifiedUser("other");
    const mine = await verifiedUser("mine");
    const session = await login(t, mine);
    await t.deps.db.deleteFrom("email_outbox").execute();

    const taken = await changeEmail(t, session.access_token, {
      new_email: other,
      password: STRONG_PASSWORD,
    });
    assert.equal(taken.status, 202);
    const afterTaken = await outbox(t);
    assert.deepEqual(afterTaken.map((r) => [r.kind, r.recipient]), [["email_change_notice", mine]]);
    await t.deps.db.deleteFrom("email_outbox").execute();

    clock.advance(61_000); // one request a minute per account
    const freeAddress = uniqueEmail("free");
    const free = await changeEmail(t, session.access_token, {
      new_email: freeAddress,
      password: STRONG_PASSWORD,
    });
    assert.equal(free.status, 202);
    assert.equal(await taken.text(), await free.text());
    const afterFree = await outbox(t);
    assert.deepEqual(afterFree.map((r) => [r.kind, r.recipient]).sort(), [
      ["email_change_confirm", freeAddress],
      ["email_change_notice", mine],
    ]);
    // The caller's own notice reads the same either way, but for the time and address it names.
    const notice = (rows: typeof afterFree) =>
      rows.find((r) => r.kind === "email_change_notice")!.text_body.replace(/^At \S+/, "At T");
    assert.equal(
      notice(afterTaken).replace(other, "X"),
      notice(afterFree).replace(freeAddress, "X"),
    );
  } finally {
    await t.close();
  }
});

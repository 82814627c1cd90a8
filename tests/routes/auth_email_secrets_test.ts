/**
 * Email tokens and user text (issue 18): every token of every flow (verification, reset,
 * email change, unlock), used or not, stays out of the audit log, the logs and the
 * `email_tokens` rows, which hold only keyed hashes; a display name with CR/LF never reaches
 * a message's recipient or subject, and is escaped in the HTML part.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { authed, login, STRONG_PASSWORD, uniqueEmail } from "../support/auth_support.ts";
import { buildTestApp, request, type TestApp } from "../support/helpers.ts";
import {
  assertAccepted,
  authPost,
  latestToken,
  outbox,
  type OutboxRow,
} from "../support/email_support.ts";
import { midStepMs } from "../support/mfa_support.ts";

const WRONG_PASSWORD = "Wrong-Password-123!";
const NEW_PASSWORD = "Velvet-Harbor-Compass-58?";

async function register(t: TestApp, email: string, name?: string) {
  const res = await request(t.app, "POST", "/api/v1/auth/register", {
    body: { email, password: STRONG_PASSWORD, ...(name === undefined ? {} : { name }) },
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).user as { id: string; email: string; name: string | null };
}

Deno.test("no token of any flow appears in the audit log, the logs or the email_tokens rows, which hold only keyed hashes", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({ LOGIN_EMAIL_MAX_ATTEMPTS: "2" }, { clock });
  try {
    const tokens: string[] = [];
    const email = uniqueEmail("secrets");
    await register(t, email);

    // Verification: the registration's link, spent.
    const verify = await latestToken(t, email, "verify_email");
    tokens.push(verify);
    assert.equal((await authPost(t, "verify-email", { token: verify })).status, 200);

    // Password reset: one link left unused, a newer one spent.
    await assertAccepted(await authPost(t, "password-reset/request", { email }));
    tokens.push(await latestToken(t, email, "password_reset"));
    clock.advance(61_000);
    await assertAccepted(await authPost(t, "password-reset/request", { email }));
    const reset = await latestToken(t, email, "password_reset");
    tokens.push(reset);
    const resetRes = await authPost(t, "password-reset", {
      token: reset,
      new_password: NEW_PASSWORD,
    });
    assert.equal(resetRes.status, 204);

    // Email change: requested and confirmed.
    const session = await login(t, email, NEW_PASSWORD);
    const newEmail = uniqueEmail("moved");
    const asked = await authed(t, "POST", "/api/v1/me/email", session.access_token, {
      new_email: newEmail,
      password: NEW_PASSWORD,
    });
    assert.equal(asked.status, 202);
    const change = await latestToken(t, newEmail, "email_change_confirm");
    tokens.push(change);
    assert.equal((await authPost(t, "confirm-email-change", { token: change })).status, 200);

    // Unlock: the email budget spent from new networks, the link spent.
    for (let i = 0; i < 3; i++) {
      const res = await authPost(
        t,
        "login",
        { email: newEmail, password: WRONG_PASSWORD },
        `10.9.${i}.1`,
      );
      assert.equal(res.status, i < 2 ? 401 : 429);
    }
    const unlock = await latestToken(t, newEmail, "unlock");
    tokens.push(unlock);
    const unlocked = await authPost(t, "unlock", { token: unlock });
    assert.equal(unlocked.status, 200);
    // A used token presented again is refused, and still not logged.
    assert.equal((await authPost(t, "unlock", { token: unlock })).status, 400);
    assert.equal(new Set(tokens).size, 5);

    const audit = await t.deps.db.selectFrom("audit_events").selectAll().execute();
    assert.ok(audit.length >= 8, `${audit.length} audit events`);
    const auditText = JSON.stringify(audit);
    await t.deps.logger.flush();
    const logText = t.logs.join("\n");
    assert.ok(t.logs.length > 0, "the app logged");
    const rows = await t.deps.db.selectFrom("email_tokens").selectAll().execute();
    assert.equal(rows.length, 5);
    for (const row of rows) {
      assert.match(row.token_hash, /^[0-9a-f]{64}$/, "a keyed hash, in hex");
    }
    const rowsText = JSON.stringify(rows);
    for (const token of tokens) {
      assert.ok(!auditText.includes(token), "token in the audit log");
      assert.ok(!logText.includes(token), "token in the logs");
      assert.ok(!rowsText.includes(token), "token in email_tokens");
      // Nor any large piece of it (e.g. a prefix kept "for debugging").
      for (const piece of [token.slice(0, 16), token.slice(-16)]) {
        assert.ok(
          !auditText.includes(piece) && !logText.includes(piece) && !rowsText.includes(piece),
        );
      }
    }
  } finally {
    await t.close();
  }
});

/** Asserts that `name`, as sent, is nowhere in a header field and escaped in the HTML part. */
function assertNameContained(rows: OutboxRow[], name: string) {
  for (const row of rows) {
    for (const header of [row.recipient, row.subject]) {
      assert.doesNotMatch(header, /[\r\n]/, `${row.kind}: a line break in a header field`);
      assert.ok(!header.includes("Bcc"), `${row.kind}: ${header}`);
      assert.ok(!header.includes("evil@example.com"), `${row.kind}: ${header}`);
    }
    assert.ok(!row.text_body.includes(name), `${row.kind}: the raw name in the text part`);
    assert.ok(!row.html_body.includes(name), `${row.kind}: the raw name in the HTML part`);
    assert.doesNotMatch(row.text_body + row.html_body, /\r/, `${row.kind}: a CR in the body`);
    assert.doesNotMatch(row.html_body, /<script|<b>|onerror="/i, `${row.kind}: unescaped HTML`);
  }
}

Deno.test("a display name with CR/LF reaches no header field of any message and is escaped in the HTML part", async () => {
  const clock = new ManualClock(midStepMs());
  const t = await buildTestApp({}, { clock });
  try {
    const plain = "Eve\r\nBcc: evil@example.com";
    const marked = 'Eve\r\nBcc: evil@example.com <b>"bold"</b> & <script>x</script>';
    for (const name of [plain, marked]) {
      const email = uniqueEmail("eve");
      const user = await register(t, email, name);
      assert.equal(user.name, name, "the name itself is kept as given");
      // Only a verified address is greeted by name (before, the name is anyone's text).
      const verify = await latestToken(t, email, "verify_email");
      assert.equal((await authPost(t, "verify-email", { token: verify })).status, 200);
      // More messages that greet the owner by name: a reset link, then the change notice.
      await assertAccepted(await authPost(t, "password-reset/request", { email }));
      const token = await latestToken(t, email, "password_reset");
      const reset = await authPost(t, "password-reset", { token, new_password: NEW_PASSWORD });
      assert.equal(reset.status, 204, await reset.clone().text());

      const rows = await outbox(t, { to: email });
      assert.deepEqual(rows.map((r) => r.kind), [
        "verify_email",
        "password_reset",
        "password_changed",
      ]);
      for (const row of rows) assert.equal(row.recipient, email);
      assertNameContained(rows, name);
      // The name is there, on one line: greeted in the text part, escaped in the HTML part.
      const flat = name.replace(/\r\n/g, " ");
      const escaped = flat.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
        .replace(/"/g, "&quot;");
      const [verification, ...greeted] = rows;
      assert.doesNotMatch(verification.text_body + verification.html_body, /Hello|Eve/);
      for (const row of greeted) {
        assert.ok(row.text_body.includes(`Hello ${flat},`), `${row.kind}:\n${row.text_body}`);
        assert.ok(row.html_body.includes(`Hello ${escaped},`), `${row.kind}:\n${row.html_body}`);
      }
    }
  } finally {
    await t.close();
  }
});

/**
 * Link tokens as an attacker with a copy of the database file sees them: not in the file or
 * its WAL, neither while their message waits in the outbox (its bodies are sealed) nor after
 * it was sent (its bodies are dropped) nor after the token was spent.
 */
import assert from "node:assert/strict";
import { fileTransport } from "../../src/platform/mail_transport.ts";
import { recordAudit } from "../../src/services/audit.ts";
import { createOutboxSender, outboxCipher } from "../../src/services/email_outbox.ts";
import { createPepper } from "../../src/services/pepper.ts";
import { registerUser, STRONG_PASSWORD } from "../support/auth_support.ts";
import { bytesContain, databaseFiles } from "../support/database_files.ts";
import { authPost, latestToken } from "../support/email_support.ts";
import { buildTestApp, tempDir, type TestApp } from "../support/helpers.ts";

const encoder = new TextEncoder();

async function assertNotInFiles(dir: string, tokens: string[], when: string) {
  const files = await databaseFiles(dir);
  assert.ok(files.size > 0);
  for (const [name, bytes] of files) {
    for (const token of tokens) {
      assert.ok(!bytesContain(bytes, encoder.encode(token)), `${when}: a token is in ${name}`);
    }
  }
}

async function sendAll(t: TestApp, mailDir: string) {
  const { config } = t.deps;
  const transport = fileTransport(mailDir, config.email.from);
  const sender = createOutboxSender({
    db: t.deps.db,
    clock: t.clock,
    transport,
    logger: t.deps.logger,
    audit: (executor, event) => recordAudit(executor, event, { clock: t.clock }),
    messageIdDomain: "citadel.test",
    cipher: await outboxCipher(createPepper({ jwtSecret: config.jwt.secret! })),
  });
  try {
    return await sender.runOnce();
  } finally {
    transport.close();
  }
}

Deno.test("link tokens are in neither the database file nor its WAL: queued, sent or spent", async () => {
  await using dir = await tempDir();
  await using mail = await tempDir();
  const t = await buildTestApp({ DATABASE_URL: `file:${dir.path}/citadel.db` });
  try {
    const user = await registerUser(t);
    assert.equal((await authPost(t, "password-reset/request", { email: user.email })).status, 202);
    const tokens = [
      await latestToken(t, user.email, "verify_email"),
      await latestToken(t, user.email, "password_reset"),
    ];
    await assertNotInFiles(dir.path, tokens, "queued");

    assert.equal(await sendAll(t, mail.path), 2);
    const rows = await t.deps.db.selectFrom("email_outbox").select(["text_body", "html_body"])
      .execute();
    assert.ok(rows.every((r) => r.text_body === "" && r.html_body === ""), "bodies dropped");
    await assertNotInFiles(dir.path, tokens, "sent");
    // The messages themselves did go out with the tokens in them.
    const written = await Promise.all(
      [...Deno.readDirSync(mail.path)].map((f) => Deno.readTextFile(`${mail.path}/${f.name}`)),
    );
    for (const token of tokens) assert.ok(written.some((m) => m.includes(token)));

    assert.equal((await authPost(t, "verify-email", { token: tokens[0] })).status, 200);
    const reset = await authPost(t, "password-reset", {
      token: tokens[1],
      new_password: `${STRONG_PASSWORD}-renewed`,
    });
    assert.equal(reset.status, 204);
    await assertNotInFiles(dir.path, tokens, "spent");
  } finally {
    await t.close();
  }
});

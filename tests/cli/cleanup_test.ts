import assert from "node:assert/strict";
import { connect } from "../../src/db/connect.ts";
import { migrateUp } from "../../src/db/migrator.ts";
import { insertUser } from "../../src/db/users_repo.ts";
import { runCli, tempDir, TEST_SECRET } from "../support/helpers.ts";

const DAY = 86_400_000;

Deno.test("citadel cleanup removes expired sessions, old login records, spent email tokens, old messages and expired passkey challenges, and keeps live ones", async () => {
  await using dir = await tempDir();
  const url = `file:${dir.path}/c.db`;
  const { db } = await connect({ databaseUrl: url });
  await migrateUp(db);
  const now = Date.now();
  const user = await insertUser(db, { email: "c@example.com", passwordHash: "x" }, now);
  const session = (id: string, expiresAt: number, revokedAt: number | null) => ({
    id,
    user_id: user.id,
    created_at: now - 40 * DAY,
    last_used_at: now,
    expires_at: expiresAt,
    revoked_at: revokedAt,
    revoke_reason: revokedAt ? "logout" : null,
    ip: null,
    user_agent: null,
  });
  await db.insertInto("sessions").values([
    session("expired", now - DAY, null),
    session("revoked-long-ago", now + DAY, now - 2 * DAY),
    session("revoked-just-now", now + DAY, now - 1000),
    session("live", now + DAY, null),
  ]).execute();
  await db.insertInto("refresh_tokens").values({
    token_hash: "h-expired",
    session_id: "expired",
    issued_at: now,
    rotated_at: null,
  }).execute();
  await db.insertInto("login_history").values([
    { email: "c@example.com", ip_key: "10.0.0.1", last_success_at: now - 31 * DAY },
    { email: "c@example.com", ip_key: "10.0.0.2", last_success_at: now - DAY },
  ]).execute();
  const token = (hash: string, fields: { expires_at: number; used_at: number | null }) => ({
    token_hash: hash,
    user_id: user.id,
    purpose: "password_reset",
    new_email: null,
    created_at: now - 2 * DAY,
    ...fields,
  });
  await db.insertInto("email_tokens").values([
    token("used-2-days-ago", { expires_at: now + DAY, used_at: now - 2 * DAY }),
    token("expired-2-days-ago", { expires_at: now - 2 * DAY, used_at: null }),
    token("used-just-now", { expires_at: now + DAY, used_at: now - 1000 }),
    token("live", { expires_at: now + DAY, used_at: null }),
  ]).execute();
  const message = (id: string, fields: { sent_at: number | null; failed_at: number | null }) => ({
    id,
    recipient: "c@example.com",
    subject: "s",
    text_body: "",
    html_body: "",
    kind: "password_reset",
    created_at: now - 10 * DAY,
    next_attempt_at: now - 10 * DAY,
    ...fields,
  });
  await db.insertInto("email_outbox").values([
    message("sent-8-days-ago", { sent_at: now - 8 * DAY, failed_at: null }),
    message("given-up-8-days-ago", { sent_at: null, failed_at: now - 8 * DAY }),
    message("sent-yesterday", { sent_at: now - DAY, failed_at: null }),
    message("waiting", { sent_at: null, failed_at: null }),
  ]).execute();
  const challenge = (hash: string, expiresAt: number) => ({
    challenge_hash: hash,
    purpose: "login",
    user_id: null,
    bound_to: null,
    created_at: expiresAt - 300_000,
    expires_at: expiresAt,
  });
  await db.insertInto("passkey_challenges").values([
    challenge("expired", now - 1000),
    challenge("live", now + 60_000),
  ]).execute();
  await db.destroy();

  const result = await runCli(["cleanup"], {
    env: { DATABASE_URL: url, JWT_SECRET_KEY: TEST_SECRET, PATH: Deno.env.get("PATH") ?? "" },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /removed 2 expired or revoked sessions, 1 login records .*, 2 spent email tokens, 2 old email messages, 1 expired passkey challenges/,
  );

  const { db: after } = await connect({ databaseUrl: url });
  const ids = (await after.selectFrom("sessions").select("id").orderBy("id").execute()).map((r) =>
    r.id
  );
  assert.deepEqual(ids, ["live", "revoked-just-now"]);
  const tokens = await after.selectFrom("refresh_tokens").selectAll().execute();
  assert.equal(tokens.length, 0, "refresh tokens went with their session");
  const history = await after.selectFrom("login_history").select("ip_key").execute();
  assert.deepEqual(history.map((h) => h.ip_key), ["10.0.0.2"]);
  const tokensLeft = await after.selectFrom("email_tokens").select("token_hash")
    .orderBy("token_hash").execute();
  assert.deepEqual(tokensLeft.map((t) => t.token_hash), ["live", "used-just-now"]);
  const messagesLeft = await after.selectFrom("email_outbox").select("id").orderBy("id").execute();
  assert.deepEqual(messagesLeft.map((m) => m.id), ["sent-yesterday", "waiting"]);
  const challengesLeft = await after.selectFrom("passkey_challenges").select("challenge_hash")
    .execute();
  assert.deepEqual(challengesLeft.map((c) => c.challenge_hash), ["live"]);
  await after.destroy();
});

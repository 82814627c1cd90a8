import assert from "node:assert/strict";
import { sql } from "kysely";
import { eventHash, GENESIS_HASH, recordAudit } from "../../src/services/audit.ts";
import { verifyAuditChain } from "../../src/services/audit_verify.ts";
import { appendEvents, loginFailed, openAuditTestDb } from "../support/audit_test_db.ts";

Deno.test("recordAudit() links each event to the hash of the one before it", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 3);
  const rows = await t.db.selectFrom("audit_events").selectAll().orderBy("seq").execute();
  assert.deepEqual(rows.map((r) => r.seq), [1, 2, 3]);
  assert.equal(rows[0].prev_hash, GENESIS_HASH);
  assert.equal(rows[1].prev_hash, rows[0].hash);
  assert.equal(rows[2].prev_hash, rows[1].hash);
  for (const row of rows) {
    assert.match(row.hash, /^[0-9a-f]{64}$/);
    assert.equal(await eventHash(row.prev_hash, row), row.hash);
  }
  assert.equal(rows[0].request_id, "req-000001");
  assert.equal(rows[0].occurred_at, Date.UTC(2026, 0, 1));
  assert.deepEqual(await verifyAuditChain(t.db), {
    ok: true,
    checked: 3,
    head: { seq: 3, hash: rows[2].hash },
  });
});

Deno.test("recordAudit() keeps only the action's allow-listed details, redacted", async () => {
  await using t = await openAuditTestDb();
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
  const row = await recordAudit(t.db, {
    ...loginFailed(1),
    userAgent: `curl/8 Bearer ${jwt}`,
    details: {
      reason: `token was ${jwt}`,
      password: "hunter2-correct-horse",
      body: { email: "a@example.com" },
    },
  }, { clock: t.clock });
  assert.deepEqual(JSON.parse(row.details), { reason: "token was [REDACTED]" });
  assert.equal(row.user_agent, "curl/8 Bearer [REDACTED]");
  assert.ok(!JSON.stringify(row).includes("hunter2"));
});

Deno.test("recordAudit() commits and rolls back with the caller's transaction", async () => {
  await using t = await openAuditTestDb();
  await assert.rejects(
    t.db.transaction().execute(async (trx) => {
      await recordAudit(trx, loginFailed(1), { clock: t.clock });
      throw new Error("the recorded change failed");
    }),
    /the recorded change failed/,
  );
  assert.equal((await t.db.selectFrom("audit_events").selectAll().execute()).length, 0);
  await t.db.transaction().execute(async (trx) => {
    await recordAudit(trx, loginFailed(2), { clock: t.clock });
  });
  assert.equal((await t.db.selectFrom("audit_events").selectAll().execute()).length, 1);
});

Deno.test("a failing audit write fails the operation it records (fail closed)", async () => {
  await using t = await openAuditTestDb();
  const now = t.clock.now();
  await assert.rejects(
    t.db.transaction().execute(async (trx) => {
      await trx.insertInto("users").values({
        id: crypto.randomUUID(),
        email: "fail-closed@example.com",
        username: null,
        password_hash: "x",
        name: null,
        role: "user",
        status: "active",
        created_at: now,
        updated_at: now,
        last_login_at: null,
      }).execute();
      // An outcome the CHECK constraint refuses stands in for any audit write failure.
      await recordAudit(trx, { ...loginFailed(1), outcome: "maybe" as "failure" }, {
        clock: t.clock,
      });
    }),
  );
  assert.equal((await t.db.selectFrom("users").selectAll().execute()).length, 0);
});

Deno.test("UPDATE and DELETE of audit rows through SQL are rejected", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 2);
  await assert.rejects(
    sql`UPDATE audit_events SET outcome = 'success' WHERE seq = 1`.execute(t.db),
    /append-only/,
  );
  await assert.rejects(sql`DELETE FROM audit_events WHERE seq = 2`.execute(t.db), /append-only/);
  await assert.rejects(sql`DELETE FROM audit_events`.execute(t.db), /append-only/);
  const rows = await t.db.selectFrom("audit_events").selectAll().execute();
  assert.deepEqual(rows.map((r) => r.outcome), ["failure", "failure"]);
  assert.equal((await verifyAuditChain(t.db)).ok, true);
});

Deno.test("an inserted row that does not extend the chain head is rejected", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 2);
  const first = await t.db.selectFrom("audit_events").selectAll().where("seq", "=", 1)
    .executeTakeFirstOrThrow();
  // A fork: a second successor of row 1.
  await assert.rejects(
    t.db.insertInto("audit_events")
      .values({
        ...first,
        seq: 3,
        id: crypto.randomUUID(),
        prev_hash: first.hash,
        hash: "f".repeat(64),
      })
      .execute(),
    /does not extend the chain head/,
  );
  const head = await t.db.selectFrom("audit_events").selectAll().where("seq", "=", 2)
    .executeTakeFirstOrThrow();
  // The right predecessor but a skipped seq.
  await assert.rejects(
    t.db.insertInto("audit_events")
      .values({
        ...first,
        seq: 9,
        id: crypto.randomUUID(),
        prev_hash: head.hash,
        hash: "e".repeat(64),
      })
      .execute(),
    /does not extend the chain head/,
  );
});

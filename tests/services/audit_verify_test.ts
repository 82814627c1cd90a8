import assert from "node:assert/strict";
import { sql } from "kysely";
import { verifyAuditChain } from "../../src/services/audit_verify.ts";
import { appendEvents, dropAuditTriggers, openAuditTestDb } from "../support/audit_test_db.ts";

async function idOf(t: { db: import("../../src/db/schema.ts").Db }, seq: number) {
  return (await t.db.selectFrom("audit_events").select("id").where("seq", "=", seq)
    .executeTakeFirstOrThrow()).id;
}

Deno.test("verifyAuditChain() reports a modified row as the first broken link", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 10);
  await dropAuditTriggers(t.db);
  await sql`UPDATE audit_events SET outcome = 'success' WHERE seq = 4`.execute(t.db);
  const result = await verifyAuditChain(t.db);
  assert.equal(result.ok, false);
  assert.equal(result.checked, 3);
  assert.deepEqual(result.firstBroken, {
    seq: 4,
    id: await idOf(t, 4),
    reason: "hash does not match the row's content: the row was modified",
  });
});

Deno.test("verifyAuditChain() reports modified details even when the JSON stays valid", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 5);
  await dropAuditTriggers(t.db);
  await sql`UPDATE audit_events SET details = '{"reason":"locked"}' WHERE seq = 5`.execute(t.db);
  const result = await verifyAuditChain(t.db);
  assert.equal(result.ok, false);
  assert.equal(result.firstBroken?.seq, 5);
});

Deno.test("verifyAuditChain() reports a deleted row in the middle of the chain", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 10);
  await dropAuditTriggers(t.db);
  await sql`DELETE FROM audit_events WHERE seq = 6`.execute(t.db);
  const result = await verifyAuditChain(t.db);
  assert.equal(result.ok, false);
  assert.equal(result.checked, 5);
  assert.deepEqual(result.firstBroken, {
    seq: 7,
    id: await idOf(t, 7),
    reason: "seq 6 to 6 missing: rows were deleted",
  });
});

Deno.test("verifyAuditChain() reports a deleted row even when seq is renumbered", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 6);
  await dropAuditTriggers(t.db);
  await sql`DELETE FROM audit_events WHERE seq = 3`.execute(t.db);
  await sql`UPDATE audit_events SET seq = seq - 1 WHERE seq > 3`.execute(t.db);
  const result = await verifyAuditChain(t.db);
  assert.equal(result.ok, false);
  assert.equal(result.firstBroken?.seq, 3);
  assert.match(result.firstBroken!.reason, /prev_hash does not match/);
});

Deno.test("verifyAuditChain() reports the first row deleted without a checkpoint", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 3);
  await dropAuditTriggers(t.db);
  await sql`DELETE FROM audit_events WHERE seq = 1`.execute(t.db);
  const result = await verifyAuditChain(t.db);
  assert.equal(result.ok, false);
  assert.equal(result.firstBroken?.seq, 2);
});

Deno.test("verifyAuditChain() reports two rows swapped in order", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 8);
  await dropAuditTriggers(t.db);
  const moved = await idOf(t, 6);
  await sql`UPDATE audit_events SET seq = -1 WHERE seq = 5`.execute(t.db);
  await sql`UPDATE audit_events SET seq = 5 WHERE seq = 6`.execute(t.db);
  await sql`UPDATE audit_events SET seq = 6 WHERE seq = -1`.execute(t.db);
  const result = await verifyAuditChain(t.db);
  assert.equal(result.ok, false);
  assert.equal(result.checked, 4);
  assert.equal(result.firstBroken?.seq, 5);
  assert.equal(result.firstBroken?.id, moved);
  assert.match(result.firstBroken!.reason, /deleted or reordered/);
});

Deno.test("verifyAuditChain() reads long chains in batches", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 25);
  const result = await verifyAuditChain(t.db, { batchSize: 7 });
  assert.equal(result.ok, true);
  assert.equal(result.checked, 25);
  assert.equal(result.head?.seq, 25);
});

import assert from "node:assert/strict";
import { sql } from "kysely";
import { recordAudit } from "../../src/services/audit.ts";
import { AuditChainBrokenError, pruneAudit } from "../../src/services/audit_prune.ts";
import { verifyAuditChain } from "../../src/services/audit_verify.ts";
import {
  appendEvents,
  dropAuditTriggers,
  loginFailed,
  openAuditTestDb,
} from "../support/audit_test_db.ts";

const KEY = "prune-signing-secret-0123456789abcdef";
const START = Date.UTC(2026, 0, 1);
const minute = (n: number) => START + n * 60_000;

Deno.test("pruneAudit() removes the old prefix and verification still passes", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 10); // occurred at minutes 0..9
  const before = await t.db.selectFrom("audit_events").selectAll().where("seq", "=", 4)
    .executeTakeFirstOrThrow();
  const result = await pruneAudit(t.db, minute(4), { signingKey: KEY, clock: t.clock });
  assert.equal(result.removed, 4);
  assert.equal(result.firstSeq, 1);
  assert.equal(result.lastSeq, 4);
  assert.equal(result.lastHash, before.hash);

  const rows = await t.db.selectFrom("audit_events").selectAll().orderBy("seq").execute();
  assert.deepEqual(rows.map((r) => r.seq), [5, 6, 7, 8, 9, 10, 11]);
  assert.equal(rows[0].prev_hash, before.hash);
  const pruned = rows.at(-1)!;
  assert.equal(pruned.action, "audit.pruned");
  assert.equal(pruned.actor_type, "system");
  assert.deepEqual(JSON.parse(pruned.details), {
    before: new Date(minute(4)).toISOString(),
    checkpoint_id: result.checkpointId,
    first_removed_seq: 1,
    last_removed_seq: 4,
    removed_count: 4,
  });
  const checkpoint = await t.db.selectFrom("audit_checkpoints").selectAll()
    .executeTakeFirstOrThrow();
  assert.equal(checkpoint.last_hash, before.hash);
  assert.match(checkpoint.signature, /^[0-9a-f]{64}$/);
  assert.equal(
    (await t.db.selectFrom("audit_prune_authorizations").selectAll().execute()).length,
    0,
  );

  const verified = await verifyAuditChain(t.db, { signingSecrets: [KEY] });
  assert.equal(verified.ok, true);
  assert.equal(verified.checked, 7);

  // The chain keeps growing from where it was, and a second prune chains its checkpoint.
  await recordAudit(t.db, loginFailed(99), { clock: t.clock });
  const second = await pruneAudit(t.db, minute(7), { signingKey: KEY, clock: t.clock });
  assert.deepEqual([second.firstSeq, second.lastSeq], [5, 7]);
  assert.equal((await verifyAuditChain(t.db, { signingSecrets: [KEY] })).ok, true);
});

Deno.test("pruneAudit() removes only a prefix when clocks of writers disagreed", async () => {
  await using t = await openAuditTestDb();
  for (const at of [1, 2, 9, 3, 4]) {
    t.clock.set(minute(at));
    await recordAudit(t.db, loginFailed(at), { clock: t.clock });
  }
  const result = await pruneAudit(t.db, minute(5), { signingKey: KEY, clock: t.clock });
  // Row 3 (minute 9) is newer than the cut, so rows 4 and 5 behind it stay too.
  assert.equal(result.removed, 2);
  assert.equal((await verifyAuditChain(t.db, { signingSecrets: [KEY] })).ok, true);
});

Deno.test("pruneAudit() with nothing old enough changes nothing", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 3);
  assert.deepEqual(await pruneAudit(t.db, minute(0), { signingKey: KEY, clock: t.clock }), {
    removed: 0,
  });
  assert.equal((await t.db.selectFrom("audit_events").selectAll().execute()).length, 3);
});

Deno.test("pruneAudit() in dry-run mode reports the range and deletes nothing", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 5);
  const result = await pruneAudit(t.db, minute(3), {
    signingKey: KEY,
    clock: t.clock,
    dryRun: true,
  });
  assert.deepEqual([result.removed, result.firstSeq, result.lastSeq], [3, 1, 3]);
  assert.equal((await t.db.selectFrom("audit_events").selectAll().execute()).length, 5);
  assert.equal((await t.db.selectFrom("audit_checkpoints").selectAll().execute()).length, 0);
});

Deno.test("pruneAudit() refuses to prune a chain that is already broken", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 5);
  await dropAuditTriggers(t.db);
  await sql`UPDATE audit_events SET ip = '198.51.100.1' WHERE seq = 2`.execute(t.db);
  await assert.rejects(
    pruneAudit(t.db, minute(3), { signingKey: KEY, clock: t.clock }),
    (error) => error instanceof AuditChainBrokenError && error.seq === 2,
  );
  assert.equal((await t.db.selectFrom("audit_events").selectAll().execute()).length, 5);
});

Deno.test("verifyAuditChain() rejects a checkpoint it cannot authenticate", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 5);
  await pruneAudit(t.db, minute(2), { signingKey: KEY, clock: t.clock });
  const wrongKey = await verifyAuditChain(t.db, {
    signingSecrets: ["another-secret-of-32-bytes-xxxxxxx"],
  });
  assert.equal(wrongKey.ok, false);
  assert.equal(wrongKey.firstBroken?.reason, "checkpoint signature is invalid");
  const noKey = await verifyAuditChain(t.db);
  assert.equal(noKey.ok, false);
  assert.match(noKey.firstBroken!.reason, /without the signing key/);
  // A previous secret still verifies after the signing secret was rotated.
  const rotated = await verifyAuditChain(t.db, { signingSecrets: ["new-secret", KEY] });
  assert.equal(rotated.ok, true);
});

Deno.test("deleting rows by hand with a forged authorisation still fails verification", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 5);
  await sql`INSERT INTO audit_prune_authorizations (up_to_seq) VALUES (2)`.execute(t.db);
  await sql`DELETE FROM audit_events WHERE seq <= 2`.execute(t.db);
  const result = await verifyAuditChain(t.db, { signingSecrets: [KEY] });
  assert.equal(result.ok, false);
  assert.equal(result.firstBroken?.seq, 3);
});

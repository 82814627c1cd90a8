/**
 * connect()'s `onQuery`: every statement's duration (the query histogram's input), a failed one
 * included, through Kysely's `log` option.
 */
import assert from "node:assert/strict";
import { sql } from "kysely";
import { connect } from "../../src/db/connect.ts";

Deno.test("connect({ onQuery }) reports each statement's duration in milliseconds, failed ones too", async () => {
  const durations: number[] = [];
  const { db } = await connect({ databaseUrl: ":memory:", onQuery: (ms) => durations.push(ms) });
  try {
    await sql`SELECT 1`.execute(db);
    await sql`SELECT 2`.execute(db);
    assert.equal(durations.length, 2);
    await assert.rejects(() => sql`SELECT * FROM no_such_table`.execute(db));
    assert.equal(durations.length, 3);
    for (const ms of durations) assert.ok(Number.isFinite(ms) && ms >= 0, String(ms));
  } finally {
    await db.destroy();
  }
});

import assert from "node:assert/strict";
import { connect } from "../../src/db/connect.ts";
import { migrateUp } from "../../src/db/migrator.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { createCounterStore } from "../../src/platform/counter_store_factory.ts";
import { testConfig } from "../support/helpers.ts";

Deno.test("createCounterStore() builds the store RATE_LIMIT_STORE names", async () => {
  const { db } = await connect({ databaseUrl: ":memory:" });
  await migrateUp(db);
  const clock = new ManualClock();
  try {
    const memory = createCounterStore(testConfig(), { db, clock });
    assert.equal(memory.kind, "memory");
    const database = createCounterStore(testConfig({ RATE_LIMIT_STORE: "database" }), {
      db,
      clock,
    });
    assert.equal(database.kind, "database");
    await database.hit("k", 60_000);
    // The database store keeps its counters in the shared table.
    const rows = await db.selectFrom("counters").selectAll().execute();
    assert.deepEqual(rows, [{ key: "k", count: 1, reset_at: clock.now() + 60_000 }]);
    const redis = createCounterStore(
      testConfig({ RATE_LIMIT_STORE: "redis", REDIS_URL: "redis://127.0.0.1:1" }),
      { db, clock },
    );
    assert.equal(redis.kind, "redis");
    await redis.close();
  } finally {
    await db.destroy();
  }
});

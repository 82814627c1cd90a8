import assert from "node:assert/strict";
import { connect } from "../../src/db/connect.ts";
import { migrateUp } from "../../src/db/migrator.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { CounterStoreUnavailable } from "../../src/platform/counter_store.ts";
import { databaseCounterStore } from "../../src/platform/counter_store_database.ts";
import { memoryCounterStore } from "../../src/platform/counter_store_memory.ts";
import { DENO, RUN_PERMISSIONS, tempDir } from "../support/helpers.ts";
import { counterStoreContract } from "../support/counter_store_contract.ts";

counterStoreContract("databaseCounterStore()", async (clock) => {
  const { db } = await connect({ databaseUrl: ":memory:" });
  await migrateUp(db);
  return { store: databaseCounterStore(db, clock), close: () => db.destroy() };
}, { cleansUp: true });

counterStoreContract("memoryCounterStore()", (clock) => {
  const store = memoryCounterStore(clock);
  return Promise.resolve({ store, close: () => store.close() });
}, { cleansUp: true });

const HAMMER = new URL("../support/counter_hammer.ts", import.meta.url).pathname;

async function hammer(url: string, key: string, n: number, startAt: number): Promise<number[]> {
  const output = await new Deno.Command(DENO, {
    args: ["run", ...RUN_PERMISSIONS, HAMMER, url, key, String(n), String(startAt)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

Deno.test("databaseCounterStore() shares one counter between two processes without losing a hit", async () => {
  await using dir = await tempDir();
  const url = `file:${dir.path}/counters.db`;
  const { db } = await connect({ databaseUrl: url });
  await migrateUp(db);
  const startAt = Date.now() + 3000;
  const [first, second] = await Promise.all([
    hammer(url, "shared", 300, startAt),
    hammer(url, "shared", 300, startAt),
  ]);
  // The processes really ran at the same time: neither got one contiguous run of counts.
  for (const counts of [first, second]) {
    assert.ok(Math.max(...counts) - Math.min(...counts) > counts.length - 1, "no interleaving");
  }
  // Every count from 1 to 600 was handed out exactly once across both processes.
  const all = [...first, ...second].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 600 }, (_, i) => i + 1));
  const store = databaseCounterStore(db, new ManualClock(Date.now()));
  assert.equal((await store.peek("shared")).count, 600);
  await db.destroy();
});

Deno.test("databaseCounterStore() reports an unusable database as CounterStoreUnavailable", async () => {
  const { db } = await connect({ databaseUrl: ":memory:" });
  const store = databaseCounterStore(db, new ManualClock());
  // No migrations: the tables are missing, as on a database that cannot be reached or read.
  await assert.rejects(store.hit("k", 1000), CounterStoreUnavailable);
  await assert.rejects(store.blockedUntil("k"), CounterStoreUnavailable);
  await db.destroy();
  await assert.rejects(store.peek("k"), CounterStoreUnavailable);
});

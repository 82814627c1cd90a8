import { connect } from "../../src/db/connect.ts";
import { migrateUp } from "../../src/db/migrator.ts";
import type { Clock } from "../../src/platform/clock.ts";
import type { CounterStore } from "../../src/platform/counter_store.ts";
import { databaseCounterStore } from "../../src/platform/counter_store_database.ts";
import { memoryCounterStore } from "../../src/platform/counter_store_memory.ts";

/** An opened counter store and how to release what it holds. */
export interface OpenedCounterStore {
  counters: CounterStore;
  close(): Promise<void>;
}

/**
 * The counter stores that need no outside server, for running one guard test against
 * each: memory, and database over a real migrated in-memory libSQL database.
 */
export const LOCAL_COUNTER_STORES: ReadonlyArray<
  readonly [kind: string, open: (clock: Clock) => Promise<OpenedCounterStore>]
> = [
  [
    "memory",
    (clock) => Promise.resolve({ counters: memoryCounterStore(clock), close: async () => {} }),
  ],
  ["database", async (clock) => {
    const { db } = await connect({ databaseUrl: ":memory:" });
    await migrateUp(db);
    return { counters: databaseCounterStore(db, clock), close: () => db.destroy() };
  }],
];
